using System.Globalization;
using GateStream.Cli.Replay;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Tests.Infrastructure;

/// <summary>Native event batches and policies for the tests.</summary>
internal static class Traffic
{
    /// <summary>Now, as event time (µs since the Unix epoch).</summary>
    public static long NowMicros => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000;

    /// <summary><paramref name="count"/> events spread evenly over <paramref name="spanMicros"/>, the last at <paramref name="endMicros"/>.</summary>
    public static V1.EventBatch Batch(string deployment, string version, int count, long endMicros, long spanMicros, int errorEvery = 0, uint latencyMicros = 2_000)
    {
        var step = Math.Max(1, spanMicros / count);
        var batch = new V1.EventBatch { Deployment = deployment, Version = version, BaseTimeUnixMicros = endMicros - (step * count) };
        for (var i = 0; i < count; i++)
        {
            batch.TimeDeltasMicros.Add(step);
            batch.LatencyMicros.Add(latencyMicros);
            batch.StatusCodes.Add(errorEvery > 0 && i % errorEvery == 0 ? 503u : 200u);
        }

        return batch;
    }

    /// <summary>One PushRequest per batch, as the daemon's tap records them.</summary>
    public static V1.PushRequest Message(V1.EventBatch batch)
    {
        var message = new V1.PushRequest();
        message.Events.Add(batch);
        return message;
    }

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
                GateStream.Cli.Replay.EventsFile.Write(file, Message(Batch(deployment, "v1", perSlice, startMicros + t, Slice)));
                if (t > 1_000_000)
                {
                    var failing = bad?.Contains(deployment) == true;
                    GateStream.Cli.Replay.EventsFile.Write(file, Message(Batch(deployment, "v2", perSlice, startMicros + t, Slice, errorEvery: failing ? 5 : 0)));
                }
            }
        }

        return file.ToArray();
    }

    /// <summary>
    /// A native policy for every deployment with one-second steps (25, 50, 75, then 100) and one error-rate rule.
    /// </summary>
    public static string FastPolicy(string action = "rollback", int minSamples = 10, string name = "fast", string target = "*") => $$"""
        apiVersion: gatestream.io/v1
        kind: GatePolicy
        metadata:
          name: {{name}}
        spec:
          target: "{{target}}"
          releaseAfter: 2s
          progression: { stepWeight: 25, maxWeight: 75, stepInterval: 1s }
          rules:
            - name: errors
              signal: error-rate
              max: 0.05
              action: {{action}}
              minSamples: {{minSamples.ToString(CultureInfo.InvariantCulture)}}
        """;
}
