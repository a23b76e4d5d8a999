using GateStream.Core.Internal;
using GateStream.Core.Windows;

namespace GateStream.Core.Tests.Windows;

/// <summary>
/// p99 (and other quantiles) within 1% of the exact sample quantile on distributions built against the bucket layout:
/// values on bucket edges, point masses with the rank right at their border, tiny and huge values, counts past 16 bits,
/// and quantiles over sub-windows. The reference is the sorted sample at rank max(1, round(q x n)).
/// </summary>
public class LatencyAdversarialAccuracyTests
{
    private const long Second = 1_000_000;
    private const long T0 = 1_700_000_000L * Second;
    private static readonly double[] Quantiles = [0.001, 0.25, 0.5, 0.9, 0.95, 0.99, 0.995, 0.999, 1.0];

    public static TheoryData<string> Shapes => ["edges", "border", "tiny", "full-range", "two-values", "saturating"];

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Quantiles_are_within_one_percent_of_the_exact_ones(string shape)
    {
        var options = new WindowOptions();
        var buckets = LatencyBuckets.For(options.HistogramLowestMicros, options.HistogramHighestMicros, options.HistogramSignificantDigits);
        var random = new Random(shape.Sum(c => c));
        var values = Values(shape, buckets, random);
        // Within one latency sub-window's time, so the sample is the whole window's.
        var window = new RequestWindow(options);
        for (var i = 0; i < values.Length; i++)
        {
            Assert.Equal(RecordOutcome.Recorded, window.Record(T0 + (i % (5 * Second)), values[i], error: false));
        }

        Assert.Equal(0, window.LatencySaturated);
        AssertWithinOnePercent(values, q => window.LatencyAtQuantile(q), shape);
        var snapshot = window.Snapshot();
        Assert.Equal(window.LatencyAtQuantile(0.99), snapshot.P99Micros);
    }

    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public void Sub_window_quantiles_are_within_one_percent_of_the_exact_ones_over_the_span_they_report(int seed)
    {
        var options = new WindowOptions();
        var random = new Random(seed);
        var window = new RequestWindow(options, random.NextInt64(0, 5 * Second));
        var recorded = new List<(long Time, long Latency)>();
        // 90 s, each 5 s with its own distribution, so every sub-window differs from the rest.
        for (var second = 0; second < 90; second++)
        {
            var median = 1_000 * (1 + (second / 5 % 7));
            for (var i = 0; i < 200; i++)
            {
                var time = T0 + (second * Second) + (i * 5_000);
                var latency = (long)(median * Math.Exp(random.NextDouble() * 3));
                window.Record(time, latency, error: false);
                recorded.Add((time, latency));
            }
        }

        var width = options.BucketWidth.Ticks / 10;
        for (var buckets = 1; buckets <= options.BucketCount; buckets++)
        {
            var (_, samples) = window.LatencyAtQuantileOver(buckets * width, 0.5);
            // The reported span: the newest `samples` values recorded in the latency span (every event went forward in time).
            var values = recorded.Where(e => e.Time >= window.LatencyStartMicros).TakeLast((int)samples).Select(e => e.Latency).ToArray();
            Assert.Equal(samples, values.Length);
            // At least the buckets asked for, unless the latency span is shorter.
            Assert.True(samples >= recorded.Count(e => e.Time >= Math.Max(window.LatencyStartMicros, window.EndMicros - (buckets * width))));
            AssertWithinOnePercent(values, q => window.LatencyAtQuantileOver(buckets * width, q).Value, $"{buckets} buckets");
        }
    }

    private static void AssertWithinOnePercent(long[] values, Func<double, long> observed, string what)
    {
        var sorted = values.Order().ToArray();
        foreach (var q in Quantiles)
        {
            var exact = sorted[Math.Max(1, (long)((q * sorted.Length) + 0.5)) - 1];
            var value = observed(q);
            var error = Math.Abs(value - exact) / (double)Math.Max(1, exact);
            Assert.True(error <= 0.01, $"{what}: p{q * 100} observed {value} µs, exact {exact} µs, error {error:P3}");
        }
    }

    private static long[] Values(string shape, LatencyBuckets buckets, Random random)
    {
        switch (shape)
        {
            case "edges":
                // Only the lowest and highest value of random buckets: the values farthest from what a bucket reports.
                return [.. Enumerable.Range(0, 20_000).Select(_ =>
                {
                    var (lowest, highest) = buckets.BoundsOf(random.Next(buckets.Count));
                    return random.Next(2) == 0 ? lowest : highest;
                })];
            case "border":
            {
                // 99% on the top of one bucket, 1% on the bottom of the next: p99's rank is the last of the first group.
                var (_, high) = buckets.BoundsOf(500);
                var (low, _) = buckets.BoundsOf(501);
                return [.. Enumerable.Repeat(high, 9_900).Concat(Enumerable.Repeat(low, 100))];
            }

            case "tiny":
                return [.. Enumerable.Range(0, 10_000).Select(_ => (long)random.Next(0, 300))];
            case "full-range":
                return [.. Enumerable.Range(0, 50_000).Select(_ => (long)Math.Exp(random.NextDouble() * Math.Log(buckets.Highest)))];
            case "two-values":
                // A far mode holding just past 1%: p99 sits on its border.
                return [.. Enumerable.Repeat(1_000L, 98_990).Concat(Enumerable.Repeat(59_000_000L, 1_010))];
            default:
                // One bucket past 16 bits (carries) beside a spread tail.
                return [.. Enumerable.Repeat(25_000L, 150_000).Concat(Enumerable.Range(0, 5_000).Select(i => 25_000L + (i * 97)))];
        }
    }
}
