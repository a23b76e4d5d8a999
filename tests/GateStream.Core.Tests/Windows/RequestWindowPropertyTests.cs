using GateStream.Core.Windows;

namespace GateStream.Core.Tests.Windows;

/// <summary>
/// Random event streams against the brute-force model: counts, per-bucket counts, lateness and expiry
/// must agree exactly; quantiles within the histogram's stated precision.
/// </summary>
public class RequestWindowPropertyTests
{
    private const long Second = 1_000_000;
    private static readonly double[] Quantiles = [0.50, 0.90, 0.99, 0.999];

    public static TheoryData<int, int, long> Streams => new()
    {
        { 1, 5_000, 0 },
        { 2, 5_000, 0 },
        { 3, 8_000, 1_234_567 },
        { 42, 10_000, 0 },
        { 1234, 20_000, 4_999_999 },
        { 99_991, 3_000, 2_500_000 },
    };

    [Theory]
    [MemberData(nameof(Streams))]
    public void Window_matches_brute_force_recomputation(int seed, int events, long phase)
    {
        var options = new WindowOptions();
        var window = new RequestWindow(options, phase);
        var model = new WindowModel(options.BucketWidth.Ticks / 10, options.BucketCount, options.AllowedLateness.Ticks / 10, options.HistogramHighestMicros, phase);
        var random = new Random(seed);
        var time = 1_700_000_000L * Second;
        long dropped = 0, clamped = 0;

        for (var i = 0; i < events; i++)
        {
            // Mostly forward at ~200 events/s with jitter; some events late by up to 70 s (some beyond the
            // allowed lateness, some beyond the window); occasional quiet gaps that expire whole buckets.
            time += random.Next(0, 10_000);
            if (random.Next(500) == 0)
            {
                time += random.Next(0, 90) * Second;
            }

            var eventTime = random.Next(10) == 0 ? time - random.NextInt64(0, 70 * Second) : time;
            var latency = SampleLatency(random);
            var error = random.Next(100) < 3;

            var outcome = window.Record(eventTime, latency, error);
            var accepted = model.Offer(eventTime, latency, error);
            Assert.Equal(accepted, outcome is RecordOutcome.Recorded or RecordOutcome.RecordedClamped);
            dropped += outcome == RecordOutcome.DroppedLate ? 1 : 0;
            clamped += outcome == RecordOutcome.RecordedClamped ? 1 : 0;

            if (random.Next(200) == 0)
            {
                // The clock moves on by itself too (evaluation ticks).
                var now = time + random.Next(0, 20) * Second;
                window.AdvanceTo(now);
                model.Advance(now);
            }

            if (i % 997 == 0)
            {
                AssertAgrees(window, model, options, phase);
            }
        }

        AssertAgrees(window, model, options, phase);
        Assert.Equal(model.DroppedLate, dropped);
        Assert.Equal(model.Clamped, clamped);
        Assert.True(dropped > 0, "the stream should exercise late drops");
    }

    [Theory]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    public void Expiry_without_traffic_is_exact(int seed)
    {
        var options = new WindowOptions();
        var window = new RequestWindow(options);
        var model = new WindowModel(5 * Second, 12, 30 * Second, options.HistogramHighestMicros);
        var random = new Random(seed);
        var start = 1_700_000_000L * Second;
        for (var i = 0; i < 3_000; i++)
        {
            var t = start + (i * 20_000L);
            window.Record(t, SampleLatency(random), random.Next(10) == 0);
            model.Offer(t, 0, false);
        }

        var end = start + (3_000 * 20_000L);
        // Slide one bucket at a time past the end of the traffic until the window is empty.
        for (var step = 0; step <= 13; step++)
        {
            var now = end + (step * 5 * Second);
            window.AdvanceTo(now);
            model.Advance(now);
            Assert.Equal(model.Counts().Requests, window.Requests);
            Assert.Equal(model.Counts().Requests, SumOfBuckets(window, options));
        }

        Assert.Equal(0, window.Requests);
        Assert.Equal(0, window.Errors);
        Assert.Equal(0, window.Snapshot().P99Micros);
    }

    [Fact]
    public void Late_event_within_lateness_lands_in_its_own_bucket()
    {
        var window = new RequestWindow(new WindowOptions());
        var t0 = 1_700_000_000L * Second;
        window.Record(t0 + (20 * Second), 100, false);
        Assert.Equal(RecordOutcome.Recorded, window.Record(t0 + (1 * Second), 200, true));
        Assert.Equal(RecordOutcome.DroppedLate, window.Record(t0 - (20 * Second), 200, true)); // 40 s behind > 30 s lateness

        Assert.Equal((1L, 1L, 1L), window.BucketCounts(t0 + (1 * Second)));
        Assert.Equal((1L, 0L, 1L), window.BucketCounts(t0 + (20 * Second)));
        Assert.Equal(2, window.Requests);
    }

    [Fact]
    public void Latency_above_histogram_range_is_clamped_not_thrown()
    {
        var window = new RequestWindow(new WindowOptions());
        var outcome = window.Record(1_700_000_000L * Second, 10 * 60 * Second, false);
        Assert.Equal(RecordOutcome.RecordedClamped, outcome);
        Assert.InRange(window.Snapshot().P99Micros, 59 * Second, 61 * Second);
    }

    private static void AssertAgrees(RequestWindow window, WindowModel model, WindowOptions options, long phase = 0)
    {
        var (requests, errors) = model.Counts();
        Assert.Equal(requests, window.Requests);
        Assert.Equal(errors, window.Errors);
        Assert.Equal(model.WindowStart, window.StartMicros);
        Assert.Equal(model.LatencyStart, window.LatencyStartMicros);

        var width = options.BucketWidth.Ticks / 10;
        for (var b = model.Bucket(model.WindowStart); b <= model.Bucket(model.Now); b++)
        {
            var expected = model.BucketCounts(b);
            var (bucketRequests, bucketErrors, bucketLatencies) = window.BucketCounts((b * width) - phase);
            Assert.Equal(expected.Requests, bucketRequests);
            Assert.Equal(expected.Errors, bucketErrors);
            Assert.Equal(model.GroupLatencies(b), bucketLatencies);
        }

        var snapshot = window.Snapshot();
        long[] observed = [snapshot.P50Micros, snapshot.P90Micros, snapshot.P99Micros, snapshot.P999Micros];

        for (var q = 0; q < Quantiles.Length; q++)
        {
            var exact = model.ExactQuantile(Quantiles[q]);
            if (requests == 0)
            {
                Assert.Equal(0, observed[q]);
                continue;
            }

            // Stated precision: 2 significant digits, i.e. within 1% of the exact sorted-array quantile.
            Assert.InRange(observed[q], exact - (exact / 100), exact + (exact / 100));
            Assert.Equal(observed[q], window.LatencyAtQuantile(Quantiles[q]));
        }
    }

    private static long SumOfBuckets(RequestWindow window, WindowOptions options)
    {
        long sum = 0;
        var width = options.BucketWidth.Ticks / 10;
        for (var b = window.StartMicros / width; b < window.EndMicros / width; b++)
        {
            sum += window.BucketCounts(b * width).Requests;
        }

        return sum;
    }

    /// <summary>Log-uniform 50 µs .. 5 s with a rare tail beyond the histogram's 60 s.</summary>
    internal static long SampleLatency(Random random)
    {
        if (random.Next(2_000) == 0)
        {
            return 61 * Second + random.Next(1_000_000);
        }

        return (long)Math.Exp(Math.Log(50) + (random.NextDouble() * (Math.Log(5_000_000) - Math.Log(50))));
    }
}
