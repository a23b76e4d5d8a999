using V1 = GateStream.Contracts.V1;

namespace GateStream.Testing;

/// <summary>Native event batches (the wire form senders push) for tests.</summary>
public static class EventBatches
{
    /// <summary>Now, as event time (µs since the Unix epoch).</summary>
    public static long NowMicros => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000;

    /// <summary><paramref name="count"/> events ending now, spaced 1 ms apart; every <paramref name="errorEvery"/>th (from the first) a 503.</summary>
    public static V1.EventBatch Batch(string deployment, string version, int count, int errorEvery = 0, uint latencyMicros = 2_000) =>
        Batch(deployment, version, count, NowMicros, count * 1_000L, errorEvery, latencyMicros);

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

    /// <summary>One PushRequest holding <paramref name="batch"/>, as the daemon's tap records them.</summary>
    public static V1.PushRequest Message(V1.EventBatch batch)
    {
        var message = new V1.PushRequest();
        message.Events.Add(batch);
        return message;
    }
}
