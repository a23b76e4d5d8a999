using GateStream.Core.Events;

namespace GateStream.Core.Tests;

internal static class TestData
{
    public const long Second = 1_000_000;
    public const long T0 = 1_700_000_000L * Second;

    public static EventBatch Batch(string deployment, string version, int count, long start, long spacing = 1_000, long latency = 1_000, int errorEvery = 0)
    {
        var batch = new EventBatch(Math.Max(1, count));
        batch.Key.Set(deployment, version);
        batch.Source = "test";
        for (var i = 0; i < count; i++)
        {
            batch.Add(start + (i * spacing), latency, errorEvery > 0 && i % errorEvery == 0);
        }

        return batch;
    }
}
