using System.Runtime.CompilerServices;
using GateStream.Core.Gates;
using GateStream.Core.Time;

namespace GateStream.Core.Tests.Gates;

public class GateHistoryTests
{
    private const long Second = EventTime.MicrosPerSecond;
    private const long Start = 1_700_000_000 * Second;

    [Fact]
    public void A_point_is_40_bytes_as_the_README_counts_it() => Assert.Equal(40, Unsafe.SizeOf<HistoryPoint>());

    [Fact]
    public void Points_hold_the_counts_between_samples_and_are_due_once_per_second()
    {
        var history = new GateHistory(Start);
        Assert.False(history.IsDue(Start + (Second / 2)));
        Assert.True(history.IsDue(Start + Second));

        history.Sample(Start + Second, 100, 2, 900, 1, 12.5, 10, 10);
        history.Sample(Start + (2 * Second), 250, 5, 1_800, 3, 13, 11, 20);

        var points = history.Since(0);
        Assert.Equal(2, points.Length);
        Assert.Equal(new HistoryPoint(Start + Second, (int)Second, 100, 2, 900, 1, 12.5f, 10, 10), points[0]);
        Assert.Equal(new HistoryPoint(Start + (2 * Second), (int)Second, 150, 3, 900, 2, 13, 11, 20), points[1]);
        Assert.Equal([points[1]], history.Since(Start + Second));
    }

    [Fact]
    public void Beyond_the_fine_horizon_coarse_points_sum_what_the_fine_ring_let_go()
    {
        var history = new GateHistory(Start);
        var seconds = GateHistory.FineCapacity + 600; // 40 minutes at 1 s
        for (var s = 1; s <= seconds; s++)
        {
            // 10 canary requests a second, one error every 10th second; p99 peaks at second 15 of each half-minute.
            history.Sample(Start + (s * Second), 10L * s, s / 10, 90L * s, 0, s % 30 == 15 ? 80 : 20, 15, s < 600 ? 10 : 20);
        }

        Assert.Equal(GateHistory.FineCapacity, history.FineCount);
        Assert.Equal(seconds / 30, history.CoarseCount);

        var points = history.Since(0);
        var fine = points.Where(p => p.SpanMicros == Second).ToArray();
        var coarse = points.Where(p => p.SpanMicros == 30 * Second).ToArray();
        Assert.Equal(GateHistory.FineCapacity, fine.Length);
        Assert.Equal(600 / 30, coarse.Length); // only the 10 minutes the fine ring no longer holds
        Assert.Equal(points.Length, fine.Length + coarse.Length);
        Assert.True(points.Zip(points.Skip(1)).All(pair => pair.First.TimeMicros < pair.Second.TimeMicros));
        Assert.Equal(Start + (601 * Second), fine[0].TimeMicros);

        // The coarse points and the fine ones that follow them cover every request once.
        Assert.Equal(10L * seconds, points.Sum(p => (long)p.CanaryRequests));
        Assert.Equal(seconds / 10, points.Sum(p => (long)p.CanaryErrors));
        Assert.All(coarse, p => Assert.Equal(300, p.CanaryRequests));
        Assert.All(coarse, p => Assert.Equal(80f, p.CanaryP99Ms));
        Assert.Equal(10, coarse[0].Weight);
    }

    [Fact]
    public void Memory_is_bounded_by_both_capacities()
    {
        var history = new GateHistory(Start);
        var seconds = (long)GateHistory.CoarseHorizon.TotalSeconds + 3_600;
        for (var s = 1L; s <= seconds; s++)
        {
            history.Sample(Start + (s * Second), s, 0, s, 0, 1, 1, 50);
        }

        Assert.Equal(GateHistory.FineCapacity, history.FineCount);
        Assert.Equal(GateHistory.CoarseCapacity, history.CoarseCount);
        Assert.Equal(1_800, GateHistory.FineCapacity);
        Assert.Equal(2_880, GateHistory.CoarseCapacity);
    }
}
