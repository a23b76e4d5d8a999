namespace GateStream.Packaging.Tests;

/// <summary>Where the checkout and its build outputs are, for tests that run them as a user would.</summary>
internal static class Repository
{
    public static string Root { get; } = FindRoot();

    /// <summary>The configuration these tests were built in (Release in CI), so the programs run are the same build.</summary>
    public static string Configuration { get; } = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd('/')).Parent!.Name;

    public static string DaemonDirectory => Path.Combine(Root, "src", "GateStream.Daemon", "bin", Configuration, "net10.0");

    public static string CliDirectory => Path.Combine(Root, "src", "GateStream.Cli", "bin", Configuration, "net10.0");

    private static string FindRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "GateStream.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"no GateStream.sln above {AppContext.BaseDirectory}");
    }
}
