using GateStream.Core.Windows;

namespace GateStream.Core.Tests.Windows;

/// <summary>Quantile rules read their own window: a quantile over the newest buckets only.</summary>
public class SubWindowQuantileTests
{
    private const long Second = 1_000_000;

    [Fact]
    public void Quantile_over_the_newest_buckets_sees_only_them()
    {
        var window = new RequestWindow(new WindowOptions());
        var start = 1_700_000_000L * Second;
        // 50 s of 1 ms requests, then 10 s of 10 ms requests, 100 a second.
        for (var i = 0; i < 6_000; i++)
        {
            var time = start + (i * Second / 100);
            window.Record(time, i < 5_000 ? 1_000 : 10_000, error: false);
        }

        var (p50Last10s, samples10s) = window.LatencyAtQuantileOver(10 * Second, 0.5);
        var (p99Last10s, _) = window.LatencyAtQuantileOver(10 * Second, 0.99);
        var (p50All, samplesAll) = window.LatencyAtQuantileOver(60 * Second, 0.5);
        Assert.InRange(p50Last10s, 9_900, 10_100);
        Assert.InRange(p99Last10s, 9_900, 10_100);
        Assert.Equal(window.CountsOver(10 * Second).Requests, samples10s);
        Assert.InRange(samples10s, 1_000, 1_500);
        Assert.InRange(p50All, 990, 1_010);
        Assert.Equal(window.Requests, samplesAll);
        Assert.Equal(window.LatencyAtQuantile(0.5), p50All);
    }
}
