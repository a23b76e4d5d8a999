using GateStream.Core.Events;
using GateStream.Core.Ingest;
using GateStream.Core.Internal;
using GateStream.Core.Windows;
using Xunit.Abstractions;
using static GateStream.Core.Tests.TestData;

namespace GateStream.Core.Tests.Ingest;

/// <summary>
/// Measures the live heap around creating series, so nothing else may allocate meanwhile: its collection runs alone,
/// not beside the assembly's other test classes (which would add their own objects to the difference).
/// </summary>
[Collection(SeriesMemoryTests.Alone)]
public class SeriesMemoryTests(ITestOutputHelper output)
{
    public const string Alone = "live heap measurements";

    private const long Budget = 16 * 1024;

    [Fact]
    public void A_quiet_live_series_with_the_default_window_costs_at_most_16_KiB()
    {
        const int count = 4_000;
        var options = new IngestOptions { MaxSeries = count + 1 };
        var shard = new Shard(0, options, new SeriesBudget(count + 1));
        var batch = Batch("warmup", "v0", 10, T0);
        shard.Apply(batch, T0);

        var before = LiveHeapBytes();
        for (var i = 0; i < count; i++)
        {
            batch.Key.Set($"svc-{i:D5}", "v1");
            shard.Apply(batch, T0);
        }

        var after = LiveHeapBytes();
        var perSeries = (after - before) / count;
        GC.KeepAlive(shard);

        output.WriteLine($"{perSeries} bytes ({perSeries / 1024.0:F1} KiB) per live series, default window");
        Assert.Equal(count + 1, shard.SeriesCount);
        Assert.True(perSeries <= Budget, $"{perSeries} bytes per series");
    }

    [Fact]
    public void A_busy_live_series_with_a_wide_latency_spread_costs_at_most_16_KiB()
    {
        // 1,000 req/s for more than a window, lognormal latencies (median 25 ms, sigma 1: p99 is 10x the median).
        const int count = 40;
        var options = new IngestOptions { MaxSeries = count + 1 };
        var shard = new Shard(0, options, new SeriesBudget(count + 1));
        var random = new Random(7);
        var batch = new EventBatch(1_000) { Source = "test" };
        var before = LiveHeapBytes();
        for (var second = 0; second < 64; second++)
        {
            for (var s = 0; s < count; s++)
            {
                batch.Clear();
                batch.Key.Set($"svc-{s:D3}", "v1");
                for (var i = 0; i < 1_000; i++)
                {
                    var gaussian = Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
                    batch.Add(T0 + (second * Second) + (i * 1_000), (long)Math.Exp(Math.Log(25_000) + gaussian), error: false);
                }

                shard.Apply(batch, T0 + ((second + 1) * Second));
            }
        }

        var after = LiveHeapBytes();
        var perSeries = (after - before) / count;
        var window = shard.AllSeries.First().Requests;

        output.WriteLine($"{perSeries} bytes ({perSeries / 1024.0:F1} KiB) per busy series; window {window.ApproximateBytes} B (mean {shard.AllSeries.Average(s => s.Requests.ApproximateBytes):F0}), at most {window.MaxBytes} B");
        Assert.True(window.Requests > 55_000);
        // The heap figure moves by a few KiB with the GC's state; the window's own arrays are exact: they must leave
        // room for the series, key and dictionary entry (under 1 KiB) within the budget.
        var meanWindow = shard.AllSeries.Average(s => s.Requests.ApproximateBytes);
        Assert.True(meanWindow <= Budget - 1024, $"{meanWindow} bytes per window");
        Assert.True(window.ApproximateBytes <= window.MaxBytes);
        GC.KeepAlive(shard);
    }

    [Fact]
    public void The_worst_case_series_allocates_at_most_16_KiB_creation_and_fill_included()
    {
        // Every bucket of every latency sub-window counted, and more buckets past 16 bits than the carry table holds:
        // everything a series can ever hold. Measured as bytes allocated on this thread from before the series exists
        // to after the fill (key, series, dictionary entry, window, error and request rings, histograms, carry table),
        // which also counts any garbage, so it bounds what the series retains.
        var options = new IngestOptions();
        var window = options.Window;
        var buckets = LatencyBuckets.For(window.HistogramLowestMicros, window.HistogramHighestMicros, window.HistogramSignificantDigits);
        var shard = new Shard(0, options, new SeriesBudget(options.MaxSeries));
        shard.Apply(Batch("warmup", "v0", 10, T0), T0);

        var bucketWidth = window.BucketWidth.Ticks / 10;
        var start = T0 + Second;
        var end = start + (window.BucketCount * bucketWidth) - 1;
        var spread = new EventBatch(buckets.Count) { Source = "test" };
        var busy = new EventBatch(ushort.MaxValue + 1) { Source = "test" };

        var accepted = 0;
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var b = 0; b < window.BucketCount; b++)
        {
            spread.Clear();
            spread.Key.Set("checkout", "2026.12.04-worst");
            for (var index = 0; index < buckets.Count; index++)
            {
                spread.Add(start + (b * bucketWidth) + index, buckets.ValueOf(index), error: index % 2 == 0);
            }

            accepted += shard.Apply(spread, end);
        }

        // 65,536 values in each of more buckets than the carry table holds, in the newest sub-window.
        for (var index = 0; index <= LatencyRingHistogram.CarryCapacity; index++)
        {
            busy.Clear();
            busy.Key.Set("checkout", "2026.12.04-worst");
            for (var i = 0; i <= ushort.MaxValue; i++)
            {
                busy.Add(end - i, buckets.ValueOf(index * 10), error: false);
            }

            shard.Apply(busy, end);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        var series = shard.AllSeries.Single(s => s.Key.Version == "2026.12.04-worst").Requests;
        output.WriteLine($"worst case: {allocated} B allocated ({allocated / 1024.0:F1} KiB); window {series.ApproximateBytes} B of at most {series.MaxBytes} B; {buckets.Count} buckets x {series.Options.BucketCount / series.LatencyBucketsPerSubWindow} sub-windows");
        Assert.Equal(window.BucketCount * buckets.Count, accepted);
        Assert.True(series.LatencySaturated > 0, "the fill should overflow the carry table");
        Assert.Equal(series.MaxBytes, series.ApproximateBytes);
        Assert.True(allocated <= Budget, $"{allocated} bytes for the worst-case series");
        GC.KeepAlive(shard);
    }

    // A compacting full collection first, so garbage and the holes it leaves are not counted as live.
    internal static long LiveHeapBytes()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: false);
    }
}

[CollectionDefinition(SeriesMemoryTests.Alone, DisableParallelization = true)]
public sealed class LiveHeapMeasurements;
