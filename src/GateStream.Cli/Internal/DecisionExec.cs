using System.Diagnostics;
using System.Globalization;
using GateStream.Wire;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Internal;

/// <summary>
/// <c>watch --exec</c>: runs a shell command for one decision, with the decision in <c>GATESTREAM_*</c>
/// environment variables and as one line of JSON on its stdin; its stdout and stderr are the CLI's.
/// </summary>
internal static class DecisionExec
{
    public static async Task<int> RunAsync(string command, V1.Decision decision, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("/bin/sh")
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
        };
        start.ArgumentList.Add("-c");
        start.ArgumentList.Add(command);
        foreach (var (name, value) in Variables(decision))
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new CliException($"--exec: could not start /bin/sh for '{command}'");
        try
        {
            await process.StandardInput.WriteAsync(DecisionFormat.Json.Format(decision) + "\n").ConfigureAwait(false);
            process.StandardInput.Close();
        }
        catch (IOException)
        {
            // The command did not read its stdin (it may have exited already): the environment is enough for it.
        }

        try
        {
            await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return process.ExitCode;
    }

    /// <summary>The decision as environment variables, named as docs/cli.md lists them.</summary>
    public static IEnumerable<(string Name, string Value)> Variables(V1.Decision d)
    {
        yield return ("GATESTREAM_SEQUENCE", d.Sequence.ToString(CultureInfo.InvariantCulture));
        yield return ("GATESTREAM_GATE", d.Gate);
        yield return ("GATESTREAM_DEPLOYMENT", d.Deployment);
        yield return ("GATESTREAM_CANARY_VERSION", d.CanaryVersion);
        yield return ("GATESTREAM_BASELINE_VERSION", d.BaselineVersion);
        yield return ("GATESTREAM_ACTION", DecisionFormat.ActionName(d.Action));
        yield return ("GATESTREAM_WEIGHT", d.Weight.ToString(CultureInfo.InvariantCulture));
        yield return ("GATESTREAM_PHASE", PhaseVariable(d.Phase));
        yield return ("GATESTREAM_REASON", d.Reason);
        yield return ("GATESTREAM_SHADOW", d.Shadow ? "true" : "false");
        yield return ("GATESTREAM_POLICY", d.Policy);
        yield return ("GATESTREAM_TIME", DecisionFormat.Time(d.Time));
        yield return ("GATESTREAM_OVERRIDE_ACTOR", d.Override?.Actor ?? "");
    }

    private static string PhaseVariable(V1.Phase phase) => WireNames.Label(phase);
}
