using GateStream.Cli.Replay;

namespace GateStream.Cli.Tests.Infrastructure;

/// <summary>Recorded traffic and the policy the CLI tests replay it against.</summary>
internal static class Traffic
{
    /// <summary>
    /// An events file in memory: <paramref name="seconds"/> of traffic at <paramref name="perSecond"/> requests per
    /// second and version, one batch per version per 100 ms. Each deployment's baseline v1 runs alone for the first
    /// second, then canary v2 joins; a deployment in <paramref name="bad"/> has a canary failing 1 request in 5.
    /// </summary>
    public static byte[] EventsFileBytes(string[] deployments, int seconds, int perSecond = 200, string[]? bad = null, long startMicros = 1_767_225_600_000_000)
    {
        using var file = new MemoryStream();
        const long Slice = 100_000;
        var perSlice = Math.Max(1, perSecond / 10);
        for (var t = Slice; t <= seconds * 1_000_000L; t += Slice)
        {
            foreach (var deployment in deployments)
            {
                GateStream.Cli.Replay.EventsFile.Write(file, EventBatches.Message(EventBatches.Batch(deployment, "v1", perSlice, startMicros + t, Slice)));
                if (t > 1_000_000)
                {
                    var failing = bad?.Contains(deployment) == true;
                    GateStream.Cli.Replay.EventsFile.Write(file, EventBatches.Message(EventBatches.Batch(deployment, "v2", perSlice, startMicros + t, Slice, errorEvery: failing ? 5 : 0)));
                }
            }
        }

        return file.ToArray();
    }

    /// <summary>
    /// A native policy for every deployment with one-second steps (25, 50, 75, then 100) and one error-rate rule.
    /// </summary>
    public static string FastPolicy(string action = "rollback", int minSamples = 10, string name = "fast", string target = "*") =>
        TestPolicies.Fast(target, name: name, action: action, minSamples: minSamples, openingMinRequests: null);
}
