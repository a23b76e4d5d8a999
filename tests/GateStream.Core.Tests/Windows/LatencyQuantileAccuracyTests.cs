using GateStream.Core.Internal;
using GateStream.Core.Windows;

namespace GateStream.Core.Tests.Windows;

/// <summary>
/// The window's latency quantiles against the exact quantile of the sorted sample, on random distributions and rates:
/// p50, p99 and p99.9 within 1% (2 significant digits), and slot counts exact however busy a bucket is.
/// </summary>
public class LatencyQuantileAccuracyTests
{
    private const long Second = 1_000_000;
    private const long T0 = 1_700_000_000L * Second;

    public static TheoryData<int> Seeds => [1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987, 1597];

    [Theory]
    [MemberData(nameof(Seeds))]
    public void Quantiles_of_random_distributions_are_within_one_percent_of_the_exact_ones(int seed)
    {
        var random = new Random(seed);
        var options = new WindowOptions();
        var window = new RequestWindow(options, random.NextInt64(0, 5 * Second));
        var shape = random.Next(5);
        var perSecond = random.Next(1, 4) switch { 1 => random.Next(5, 50), 2 => random.Next(100, 1_000), _ => random.Next(1_000, 5_000) };
        var duration = random.Next(5, 90) * Second;
        var recorded = new List<(long Time, long Latency)>();
        for (long t = 0; t < duration; t += Math.Max(1, Second / perSecond))
        {
            var latency = Math.Clamp(Sample(random, shape), 0, options.HistogramHighestMicros);
            Assert.Equal(RecordOutcome.Recorded, window.Record(T0 + t, latency, error: false));
            recorded.Add((T0 + t, latency));
        }

        Assert.Equal(recorded.Count(e => e.Time >= window.StartMicros), window.Requests);
        // Latency quantiles cover the whole latency sub-windows inside the window.
        var inWindow = recorded.Where(e => e.Time >= window.LatencyStartMicros).Select(e => e.Latency).Order().ToArray();
        Assert.Equal(inWindow.Length, window.LatencyAtQuantileOver(options.Length.Ticks / 10, 0.5).Samples);
        foreach (var q in new[] { 0.5, 0.9, 0.99, 0.999 })
        {
            var exact = inWindow[Math.Max(1, (long)((q * inWindow.Length) + 0.5)) - 1];
            var observed = window.LatencyAtQuantile(q);
            var error = Math.Abs(observed - exact) / (double)Math.Max(1, exact);
            Assert.True(error <= 0.01, $"shape {shape}, {perSecond}/s: p{q * 100} observed {observed} µs, exact {exact} µs, error {error:P2}");
        }

        var snapshot = window.Snapshot();
        Assert.Equal(window.LatencyAtQuantile(0.99), snapshot.P99Micros);
        Assert.Equal(window.LatencyAtQuantile(0.5), snapshot.P50Micros);
    }

    [Fact]
    public void A_bucket_busier_than_sixteen_bits_keeps_exact_counts_and_expires_cleanly()
    {
        var options = new WindowOptions();
        var window = new RequestWindow(options);
        const int busy = 70_000; // past 255 (a byte) and 65,535 (two bytes) in one bucket of one slot
        for (var i = 0; i < busy; i++)
        {
            window.Record(T0 + (i % 1000), 20_000, error: false);
        }

        // In the next latency sub-window (T0 starts an even bucket, so 10 s later).
        window.Record(T0 + (11 * Second), 1_000, error: false);
        Assert.Equal(busy, window.BucketCounts(T0).Latencies);
        Assert.Equal(busy + 1, window.Requests);
        Assert.InRange(window.LatencyAtQuantile(0.5), 19_800, 20_200);

        // The busy bucket leaves the window: only the lone later event remains, at its own value.
        window.AdvanceTo(T0 + (66 * Second));
        Assert.Equal(1, window.Requests);
        Assert.InRange(window.LatencyAtQuantile(0.99), 990, 1_010);
        Assert.InRange(window.LatencyAtQuantile(0.5), 990, 1_010);
    }

    [Fact]
    public void Every_value_falls_in_a_bucket_that_reports_it_within_one_percent()
    {
        var buckets = LatencyBuckets.For(1, 60 * Second, 2);
        var previousHighest = -1L;
        for (var index = 0; index < buckets.Count; index++)
        {
            // Buckets tile 0 .. highest without gaps, and the reported value is within 1% of both ends (so of all between).
            var (lowest, highest) = buckets.BoundsOf(index);
            Assert.Equal(previousHighest + 1, lowest);
            previousHighest = highest;
            var reported = buckets.ValueOf(index);
            Assert.InRange(reported, lowest, highest);
            Assert.True(Math.Abs(reported - lowest) <= 0.00995 * Math.Max(1, lowest), $"bucket {index} [{lowest}, {highest}] reports {reported}");
            Assert.True(Math.Abs(highest - reported) <= 0.00995 * highest, $"bucket {index} [{lowest}, {highest}] reports {reported}");
            Assert.Equal(index, buckets.IndexOf(lowest));
            Assert.Equal(index, buckets.IndexOf(highest));
        }

        Assert.Equal(60 * Second, previousHighest);
        Assert.True(buckets.Count <= 820, $"{buckets.Count} buckets");
    }

    private static long Sample(Random random, int shape) => shape switch
    {
        // Lognormal around a random median, narrow or wide.
        0 => (long)(Math.Exp(Math.Log(random.Next(200, 200_000)) + (Gaussian(random) * 0.3))),
        1 => (long)(Math.Exp(Math.Log(25_000) + (Gaussian(random) * 1.0))),
        // Bimodal: cache hits and misses.
        2 => random.Next(10) < 8 ? 800 + random.Next(400) : 40_000 + random.Next(60_000),
        // Uniform over a range.
        3 => random.Next(1_000, 100_000),
        // Heavy tail (Pareto, alpha 1.5) from 2 ms.
        _ => (long)(2_000 / Math.Pow(1 - random.NextDouble(), 1 / 1.5)),
    };

    private static double Gaussian(Random random) =>
        Math.Sqrt(-2 * Math.Log(1 - random.NextDouble())) * Math.Cos(2 * Math.PI * random.NextDouble());
}
