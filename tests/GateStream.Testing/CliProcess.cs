using System.Diagnostics;

namespace GateStream.Testing;

/// <summary>
/// The real <c>gatestream</c> command as a child process (<c>dotnet cli/gatestream.dll ...</c>): the test project
/// copies the CLI's whole build output to <c>cli/</c> beside the tests.
/// </summary>
public static class CliProcess
{
    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "cli", "gatestream.dll");

    /// <summary>Runs the command to its end (at most <paramref name="timeout"/>, one minute by default).</summary>
    public static async Task<CliResult> RunAsync(string[] args, IDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        await using var cli = Start(args, environment);
        var exit = await cli.WaitForExitAsync(timeout ?? TimeSpan.FromSeconds(60));
        return new CliResult(exit, cli.Stdout, cli.Stderr);
    }

    /// <summary>Starts the command; <paramref name="environment"/> adds variables (a null value removes one).</summary>
    public static ChildProcess Start(string[] args, IDictionary<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        Assert.True(File.Exists(CliDll), $"{CliDll} is missing: the CLI's build output must be beside the tests");
        var start = new ProcessStartInfo(ChildProcess.DotnetHost);
        start.ArgumentList.Add(CliDll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // The test's own environment must not leak a token or server into the command.
        start.Environment.Remove("GATESTREAM_TOKEN");
        start.Environment.Remove("GATESTREAM_SERVER");
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        return ChildProcess.Start(start);
    }
}
