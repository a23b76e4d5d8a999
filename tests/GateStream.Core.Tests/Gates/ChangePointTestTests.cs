using GateStream.Core.Gates;

namespace GateStream.Core.Tests.Gates;

/// <summary>The change detector behind <c>confidence:</c> rules: its false-alarm bound, its speed, and its arithmetic.</summary>
public class ChangePointTestTests
{
    private const long Look = ChangePointTest.LookMicros;

    [Theory]
    [InlineData(0.02)]
    [InlineData(0.005)]
    [InlineData(0.5)]
    public void Likelihood_ratio_has_mean_one_at_the_bound_and_below_one_under_it(double bound)
    {
        var a = Math.Exp(ChangePointTest.LogLikelihoodRatio(1, 1, bound));
        var b = Math.Exp(ChangePointTest.LogLikelihoodRatio(0, 1, bound));
        Assert.Equal(1.0, (bound * a) + ((1 - bound) * b), 12);
        Assert.True((bound / 2 * a) + ((1 - (bound / 2)) * b) < 1);
        Assert.Equal(ChangePointTest.LogLikelihoodRatio(3, 10, bound), (3 * Math.Log(a)) + (7 * Math.Log(b)), 10);
    }

    [Fact]
    public void Alternative_is_twice_the_bound_and_stays_below_one()
    {
        Assert.Equal(0.04, ChangePointTest.AlternativeRate(0.02), 12);
        Assert.Equal(0.75, ChangePointTest.AlternativeRate(0.5), 12);
        Assert.True(ChangePointTest.AlternativeRate(0.99) < 1);
        Assert.True(double.IsFinite(ChangePointTest.LogLikelihoodRatio(1, 1, 0)), "a bound of 0 is clamped, not infinite");
    }

    [Fact]
    public void Level_is_one_below_the_horizon_and_one_minus_confidence_at_the_alarm()
    {
        Assert.Equal(1, ChangePointTest.Level(double.NegativeInfinity));
        Assert.Equal(1, ChangePointTest.Level(Math.Log(ChangePointTest.LooksPerHorizon)), 12);
        Assert.Equal(0.01, ChangePointTest.Level(ChangePointTest.LogThreshold(0.99)), 12);
    }

    [Fact]
    public void Statistic_is_the_shiryaev_roberts_recursion()
    {
        var log = double.NegativeInfinity;
        double r = 0;
        var random = new Random(5);
        for (var i = 0; i < 50; i++)
        {
            var llr = ChangePointTest.LogLikelihoodRatio(random.Next(3), 40, 0.02);
            log = ChangePointTest.NextLogStatistic(log, llr);
            r = (1 + r) * Math.Exp(llr);
            Assert.Equal(Math.Log(r), log, 9);
        }
    }

    /// <summary>
    /// Ville's bound, checked by simulation on a shorter horizon so the alarm level is within reach: a canary exactly
    /// at its bound, looked at N times, crosses A = N / alpha in at most a fraction alpha of runs.
    /// </summary>
    [Fact]
    public void Canary_at_its_bound_crosses_level_n_over_alpha_in_at_most_alpha_of_runs()
    {
        const int looks = 500, runs = 2_000, perLook = 20;
        const double bound = 0.02, alpha = 0.1;
        var logA = Math.Log(looks / alpha);
        var random = new Random(11);
        var alarms = 0;
        for (var run = 0; run < runs; run++)
        {
            var log = double.NegativeInfinity;
            for (var k = 0; k < looks; k++)
            {
                var errors = 0;
                for (var i = 0; i < perLook; i++)
                {
                    errors += random.NextDouble() < bound ? 1 : 0;
                }

                log = ChangePointTest.NextLogStatistic(log, ChangePointTest.LogLikelihoodRatio(errors, perLook, bound));
                if (log >= logA)
                {
                    alarms++;
                    break;
                }
            }
        }

        // The bound is alpha = 10%; Shiryaev-Roberts at the boundary sits well inside it.
        Assert.InRange(alarms / (double)runs, 0, alpha);
    }

    [Fact]
    public void Detector_fires_as_fast_after_ten_healthy_minutes_as_from_the_start_and_dates_the_change()
    {
        var fresh = LooksToAlarm(healthyLooks: 0, out _);
        var late = LooksToAlarm(healthyLooks: 2_400, out var estimatedStartLook);
        // 100 requests a look at 4% against 2%: about ln(A)/KL = 14.2/0.0079 = 1,800 requests, i.e. ~18 looks.
        Assert.InRange(fresh, 8, 40);
        Assert.InRange(late, 8, 40);
        Assert.InRange(Math.Abs(late - fresh), 0, 10);
        Assert.InRange(estimatedStartLook, 2_400 - 5, 2_400 + 10);
    }

    [Fact]
    public void Looks_closer_than_the_look_interval_add_their_counts_to_the_next_look_and_reset_forgets()
    {
        var detector = new ChangeDetector();
        Assert.True(detector.Observe(0, 100, 10, 0.02));
        Assert.False(detector.Observe(Look / 2, 150, 20, 0.02));
        Assert.True(detector.Observe(Look, 200, 30, 0.02));
        Assert.Equal(2, detector.Looks);
        var expected = ChangePointTest.NextLogStatistic(
            ChangePointTest.NextLogStatistic(double.NegativeInfinity, ChangePointTest.LogLikelihoodRatio(10, 100, 0.02)),
            ChangePointTest.LogLikelihoodRatio(20, 100, 0.02));
        Assert.Equal(expected, detector.LogStatistic, 12);
        Assert.Equal(200, detector.RequestsSinceChange);
        detector.Reset();
        Assert.Equal(double.NegativeInfinity, detector.LogStatistic);
        Assert.True(detector.Observe(2 * Look, 300, 30, 0.02));
        Assert.True(detector.LogStatistic < 0, "counts before the reset are not evidence after it");
    }

    private static int LooksToAlarm(int healthyLooks, out long estimatedStartLook)
    {
        var random = new Random(3);
        var detector = new ChangeDetector();
        var threshold = ChangePointTest.LogThreshold(0.99);
        long requests = 0, errors = 0;
        for (var k = 0; k < healthyLooks + 1_000; k++)
        {
            var rate = k < healthyLooks ? 0.001 : 0.04;
            for (var i = 0; i < 100; i++)
            {
                errors += random.NextDouble() < rate ? 1 : 0;
            }

            requests += 100;
            detector.Observe(k * Look, requests, errors, 0.02);
            if (detector.LogStatistic >= threshold)
            {
                estimatedStartLook = (detector.ChangeSinceMicros / Look) + 1;
                return k - healthyLooks + 1;
            }
        }

        estimatedStartLook = -1;
        return int.MaxValue;
    }
}
