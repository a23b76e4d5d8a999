using GateStream.Core.Windows;
using static GateStream.Core.Tests.TestData;

namespace GateStream.Core.Tests.Windows;

public class SignalWindowTests
{
    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public void Gauge_aggregates_match_brute_force(int seed)
    {
        var options = new WindowOptions();
        var window = new SignalWindow(MetricKind.Gauge, options);
        var random = new Random(seed);
        var samples = new List<(long Time, double Value)>();
        var t = T0;
        for (var i = 0; i < 2_000; i++)
        {
            t += random.Next(1, 500_000);
            var value = Math.Round(random.NextDouble() * 1_000, 3);
            Assert.Equal(RecordOutcome.Recorded, window.Record(t, value));
            samples.Add((t, value));

            if (i % 101 == 0)
            {
                var start = ((t / (5 * Second)) - 11) * 5 * Second;
                var inWindow = samples.Where(s => s.Time >= start).ToList();
                var snapshot = window.Snapshot();
                Assert.Equal(inWindow.Count, snapshot.Samples);
                Assert.Equal(inWindow[^1].Value, snapshot.Last);
                Assert.Equal(inWindow.Min(s => s.Value), snapshot.Min);
                Assert.Equal(inWindow.Max(s => s.Value), snapshot.Max);
                Assert.Equal(inWindow.Average(s => s.Value), snapshot.Mean, 6);
                var expectedRate = inWindow.Count > 1
                    ? (inWindow[^1].Value - inWindow[0].Value) * 1e6 / (inWindow[^1].Time - inWindow[0].Time)
                    : 0;
                Assert.Equal(expectedRate, snapshot.Rate, 6);
            }
        }
    }

    [Fact]
    public void Cumulative_sum_rate_survives_a_counter_reset()
    {
        var window = new SignalWindow(MetricKind.SumCumulative, new WindowOptions());
        // Pod restarts: 10, 12, 15, then the exporter restarts and reports 2, 4.
        double[] totals = [10, 12, 15, 2, 4];
        for (var i = 0; i < totals.Length; i++)
        {
            window.Record(T0 + (i * 10 * Second), totals[i]);
        }

        var snapshot = window.Snapshot();
        // Increments: (first is a baseline) 2, 3, 2 (reset: all of the new total), 2.
        Assert.Equal(9, snapshot.Sum);
        Assert.Equal(9 / 60.0, snapshot.Rate, 9);
        Assert.Equal(4, snapshot.Last);
    }

    [Fact]
    public void Delta_sum_rate_is_increments_per_second_and_expires()
    {
        var window = new SignalWindow(MetricKind.SumDelta, new WindowOptions());
        for (var i = 0; i < 60; i++)
        {
            window.Record(T0 + (i * Second), 2);
        }

        Assert.Equal(120, window.Snapshot().Sum);
        Assert.Equal(2, window.Snapshot().Rate, 9);

        window.AdvanceTo(T0 + (200 * Second));
        Assert.Equal(0, window.Snapshot().Samples);
        Assert.Equal(0, window.Snapshot().Rate);
    }

    [Fact]
    public void Sample_older_than_lateness_is_dropped()
    {
        var window = new SignalWindow(MetricKind.Gauge, new WindowOptions());
        window.Record(T0 + (40 * Second), 1);
        Assert.Equal(RecordOutcome.DroppedLate, window.Record(T0, 5));
        Assert.Equal(RecordOutcome.Recorded, window.Record(T0 + (20 * Second), 5));
        Assert.Equal(2, window.Snapshot().Samples);
        Assert.Equal(1, window.Snapshot().Last);
    }
}
