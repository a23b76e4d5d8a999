using GateStream.Core.Ingest;
using Xunit.Abstractions;
using static GateStream.Core.Tests.TestData;

namespace GateStream.Core.Tests.Ingest;

public class SeriesMemoryTests(ITestOutputHelper output)
{
    [Fact]
    public void A_live_series_with_the_default_window_costs_at_most_128_KiB()
    {
        const int count = 4_000;
        var options = new IngestOptions { MaxSeries = count + 1 };
        var shard = new Shard(0, options, new SeriesBudget(count + 1));
        var batch = Batch("warmup", "v0", 10, T0);
        shard.Apply(batch, T0);

        var before = GC.GetTotalMemory(forceFullCollection: true);
        for (var i = 0; i < count; i++)
        {
            batch.Key.Set($"svc-{i:D5}", "v1");
            shard.Apply(batch, T0);
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        var perSeries = (after - before) / count;
        GC.KeepAlive(shard);

        output.WriteLine($"{perSeries} bytes ({perSeries / 1024.0:F1} KiB) per live series, default window");
        Assert.Equal(count + 1, shard.SeriesCount);
        Assert.True(perSeries <= 128 * 1024, $"{perSeries} bytes per series");
    }
}
