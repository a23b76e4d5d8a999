// Memory per live series with the default window, and what creating one costs.
//
// Budget (issue): <= 128 KiB retained per live series (default window: 60 s as 12 buckets of 5 s,
// latency histogram 1 µs..60 s at 2 significant digits).
//
// Retained: GC.GetTotalMemory(true) before and after creating 10,000 series through Shard.Apply,
// each with one event in each of its 12 buckets, divided by 10,000: window, histograms, key, series
// and the shard's dictionary entry. Printed from [GlobalSetup] (a "// GateStream:" line in the log)
// and shown as the "Retained/series" column, which BenchmarkDotNet computes in the host process by
// running the same measurement there.
// CreateSeriesWithFirstBatch: one new series created by its first batch (10 events) on a shard;
// its Allocated column is bytes allocated per new series. A fresh shard per iteration of 1,024
// invocations keeps the live set bounded.
//
// Measured:
//   2026-11-26, AMD EPYC 2.60GHz (1 CPU, 2 physical cores), Debian 12, .NET 10.0.12, BenchmarkDotNet 0.15.8,
//   --job short (3 iterations; the machine was shared with other work, so treat as rough).
//   GateStream: retained per live series (default window, 10,000 series): 124,210 B = 121.3 KiB, budget 128 KiB
//   | Method                     | Mean     | Error    | StdDev   | Retained/series | Allocated |
//   |--------------------------- |---------:|---------:|---------:|----------------:|----------:|
//   | CreateSeriesWithFirstBatch | 22.07 us | 15.02 us | 0.824 us |       121.3 KiB | 121.45 KB |

using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using GateStream.Benchmarks.Internal;
using GateStream.Core.Events;
using GateStream.Core.Ingest;
using GateStream.Core.Time;

namespace GateStream.Benchmarks.Core;

[MemoryDiagnoser]
[Config(typeof(RetainedColumnConfig))]
[InvocationCount(NewSeriesPerIteration)]
public class SeriesMemoryBenchmarks
{
    public const int MeasuredSeries = 10_000;
    public const double BudgetBytes = 128 * 1024;
    private const int NewSeriesPerIteration = 1_024;
    private const int EventsPerNewSeries = 10;

    private readonly IngestOptions _options = new();
    private EventBatch[] _firstBatches = [];
    private Shard _shard = null!;
    private int _next;

    [GlobalSetup]
    public void Setup()
    {
        var retained = MeasureRetainedBytesPerSeries(MeasuredSeries);
        Console.WriteLine(
            $"// GateStream: retained per live series (default window, {MeasuredSeries:N0} series): "
            + $"{retained.BytesPerSeries:N0} B = {retained.BytesPerSeries / 1024:F1} KiB, budget {BudgetBytes / 1024:F0} KiB "
            + $"({(retained.BytesPerSeries <= BudgetBytes ? "within" : "OVER")}); "
            + $"RequestWindow.ApproximateBytes = {retained.WindowApproximateBytes:N0} B");

        var random = new Random(20250602);
        var latencies = SyntheticTraffic.Latencies(random, EventsPerNewSeries, medianMicros: 25 * EventTime.MicrosPerMillisecond, sigma: 1.0);
        _firstBatches = new EventBatch[NewSeriesPerIteration];
        for (var b = 0; b < _firstBatches.Length; b++)
        {
            var batch = new EventBatch(EventsPerNewSeries) { Source = "bench" };
            batch.Key.Set($"svc-{b:D4}", "1.42.0-rc.1");
            for (var i = 0; i < EventsPerNewSeries; i++)
            {
                batch.Add(SyntheticTraffic.Start + ((i + 1) * 100 * EventTime.MicrosPerMillisecond), latencies[i], error: false);
            }

            _firstBatches[b] = batch;
        }
    }

    [IterationSetup]
    public void NewShard()
    {
        _shard = new Shard(0, _options, new SeriesBudget(_options.MaxSeries));
        _next = 0;
    }

    [Benchmark]
    public int CreateSeriesWithFirstBatch() =>
        _shard.Apply(_firstBatches[_next++], SyntheticTraffic.Start + EventTime.MicrosPerSecond);

    /// <summary>
    /// Heap bytes retained per live series: <paramref name="seriesCount"/> series created through a shard,
    /// each with an event in every bucket of its window, measured with full collections before and after.
    /// </summary>
    internal static (double BytesPerSeries, long WindowApproximateBytes) MeasureRetainedBytesPerSeries(int seriesCount)
    {
        var options = new IngestOptions();
        var buckets = options.Window.BucketCount;
        var bucketWidth = options.Window.BucketWidthMicros;
        var now = SyntheticTraffic.Start + (buckets * bucketWidth);
        var batch = new EventBatch(buckets) { Source = "bench" };
        var keys = Enumerable.Range(0, seriesCount).Select(s => (Deployment: $"svc-{s / 2:D4}", Version: s % 2 == 0 ? "1.41.0" : "1.42.0-rc.1")).ToArray();

        var before = GC.GetTotalMemory(forceFullCollection: true);
        var shard = new Shard(0, options, new SeriesBudget(options.MaxSeries));
        foreach (var (deployment, version) in keys)
        {
            batch.Clear();
            batch.Key.Set(deployment, version);
            for (var b = 0; b < buckets; b++)
            {
                batch.Add(SyntheticTraffic.Start + (b * bucketWidth) + 1, 20 * EventTime.MicrosPerMillisecond, error: false);
            }

            shard.Apply(batch, now);
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        if (shard.SeriesCount != seriesCount)
        {
            throw new InvalidOperationException($"Expected {seriesCount} series, the shard has {shard.SeriesCount}.");
        }

        var windowBytes = shard.AllSeries.First().Requests.ApproximateBytes;
        GC.KeepAlive(shard);
        return ((after - before) / (double)seriesCount, windowBytes);
    }

    public class RetainedColumnConfig : ManualConfig
    {
        public RetainedColumnConfig() => AddColumn(new RetainedBytesPerSeriesColumn());
    }
}
