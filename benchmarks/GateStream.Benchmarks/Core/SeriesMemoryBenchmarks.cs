// Memory per live series with the default window, and what creating one costs.
//
// Budget (issue 12): <= 16 KiB retained per live series (default window: 60 s as 12 buckets of 5 s,
// latency histogram 1 µs..60 s at 2 significant digits, p99 within 1%).
//
// Retained: live heap (after compacting full collections) before and after creating 10,000 series through
// Shard.Apply, each with one event in each of its 12 buckets, divided by 10,000: window, histograms, key,
// series and the shard's dictionary entry. Printed from [GlobalSetup] (a "// GateStream:" line in the log)
// and shown as the "Retained/series" column, which BenchmarkDotNet computes in the host process by
// running the same measurement there. Setup also prints the same figure for 200 busy series: 64 s at
// 1,000 req/s each, lognormal latencies (median 25 ms, sigma 1, clamped to 1 ms..2 s), the widest
// realistic spread (p99 is 10x the median), so the histogram pages of every octave it spans are live.
// CreateSeriesWithFirstBatch: one new series created by its first batch (10 events) on a shard;
// its Allocated column is bytes allocated per new series. A fresh shard per iteration of 1,024
// invocations keeps the live set bounded.
//
// Measured: 2026-12-04, commit 868e6dd (latency sub-windows of dense 16-bit counts: memory fixed at creation),
//   same machine, load average 42-46 (uptime before and after; the byte figures do not depend on load):
//   dotnet run -c Release --project benchmarks/GateStream.Benchmarks -- --filter '*SeriesMemoryBenchmarks*' --job short --inProcess
//   GateStream: retained per live series (default window, 10,000 series): 12,004 B = 11.7 KiB, budget 16 KiB (within); RequestWindow.ApproximateBytes = 11,472 B
//   GateStream: retained per busy live series (1,000 req/s, lognormal sigma 1, 200 series): 11,983 B = 11.7 KiB (within); RequestWindow.ApproximateBytes = 11,472 B
//   CreateSeriesWithFirstBatch: 12.02 KB allocated per new series (time not trustworthy at this load).
//   The worst case (every bucket of every sub-window, the carry table full) is asserted by SeriesMemoryTests: 13,184 B.
// Earlier (paged byte counters, below): quiet 2.9 KiB, busy 12.7 KiB, worst 40.4 KB. Before issue 12, HdrHistogram per
// bucket: 124,210 B = 121.3 KiB retained per series.
// Measured: 2026-12-03, AMD EPYC 2.10GHz (2 cores), Debian 12, .NET 10.0.12, BenchmarkDotNet 0.15.8, commit db656e7,
//   dotnet run -c Release --project benchmarks/GateStream.Benchmarks -- --filter '*SeriesMemoryBenchmarks*' --job short --inProcess
//   GateStream: retained per live series (default window, 10,000 series): 2,985 B = 2.9 KiB, budget 16 KiB (within)
//   GateStream: retained per busy live series (1,000 req/s, lognormal sigma 1, 200 series): 12,975 B = 12.7 KiB (within)
//   CreateSeriesWithFirstBatch: 6.32 KB allocated per new series (time not trustworthy: the machine was shared).

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
    public const double BudgetBytes = 16 * 1024;
    public const int BusySeries = 200;
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
        var busy = MeasureRetainedBytesPerSeries(BusySeries, busy: true);
        Console.WriteLine(
            $"// GateStream: retained per busy live series (1,000 req/s, lognormal sigma 1, {BusySeries} series): "
            + $"{busy.BytesPerSeries:N0} B = {busy.BytesPerSeries / 1024:F1} KiB ({(busy.BytesPerSeries <= BudgetBytes ? "within" : "OVER")}); "
            + $"RequestWindow.ApproximateBytes = {busy.WindowApproximateBytes:N0} B");

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
    /// Heap bytes retained per live series: <paramref name="seriesCount"/> series created through a shard, measured
    /// with compacting full collections before and after. Quiet: one event in every bucket of the window. Busy: 64 s
    /// at 1,000 req/s each, lognormal latencies (median 25 ms, sigma 1).
    /// </summary>
    internal static (double BytesPerSeries, long WindowApproximateBytes) MeasureRetainedBytesPerSeries(int seriesCount, bool busy = false)
    {
        var options = new IngestOptions();
        var buckets = options.Window.BucketCount;
        var bucketWidth = options.Window.BucketWidthMicros;
        var keys = Enumerable.Range(0, seriesCount).Select(s => (Deployment: $"svc-{s / 2:D4}", Version: s % 2 == 0 ? "1.41.0" : "1.42.0-rc.1")).ToArray();
        var perSecond = busy ? 1_000 : 0;
        var latencies = SyntheticTraffic.Latencies(new Random(20250602), Math.Max(1, perSecond), 25 * EventTime.MicrosPerMillisecond, sigma: 1.0);
        var batch = new EventBatch(Math.Max(buckets, perSecond)) { Source = "bench" };

        var before = LiveHeapBytes();
        var shard = new Shard(0, options, new SeriesBudget(options.MaxSeries));
        if (busy)
        {
            for (var second = 0; second < 64; second++)
            {
                foreach (var (deployment, version) in keys)
                {
                    batch.Clear();
                    batch.Key.Set(deployment, version);
                    for (var i = 0; i < perSecond; i++)
                    {
                        // Rotate through the latencies so every second of every series differs.
                        batch.Add(SyntheticTraffic.Start + (second * EventTime.MicrosPerSecond) + (i * 1_000), latencies[(i * 7919 + second) % perSecond], error: false);
                    }

                    shard.Apply(batch, SyntheticTraffic.Start + ((second + 1) * EventTime.MicrosPerSecond));
                }
            }
        }
        else
        {
            var now = SyntheticTraffic.Start + (buckets * bucketWidth);
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
        }

        var after = LiveHeapBytes();
        if (shard.SeriesCount != seriesCount)
        {
            throw new InvalidOperationException($"Expected {seriesCount} series, the shard has {shard.SeriesCount}.");
        }

        var windowBytes = shard.AllSeries.First().Requests.ApproximateBytes;
        GC.KeepAlive(shard);
        GC.KeepAlive(batch);
        return ((after - before) / (double)seriesCount, windowBytes);
    }

    // Compacting full collections, so garbage and the holes it leaves are not counted as live.
    private static long LiveHeapBytes()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        return GC.GetTotalMemory(forceFullCollection: false);
    }

    public class RetainedColumnConfig : ManualConfig
    {
        public RetainedColumnConfig() => AddColumn(new RetainedBytesPerSeriesColumn());
    }
}
