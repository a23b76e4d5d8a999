using GateStream.Core.Gates;
using GateStream.Scenarios.Tests.Rollouts;
using Xunit.Abstractions;
using static GateStream.Scenarios.Tests.Rollouts.DetectionScenarios;
using static GateStream.Scenarios.Tests.Rollouts.Figures;

namespace GateStream.Scenarios.Tests;

/// <summary>
/// Time from a fault to the decision that stops it, whenever the fault starts, and false rollbacks of healthy
/// canaries, on realistic traffic: Poisson arrivals, a controller that applies each decided weight (so the canary's
/// traffic follows it), faults at a random minute 1-20 of a 30-minute rollout. Every figure printed is asserted.
/// </summary>
public class DetectionScenarioTests(ITestOutputHelper output)
{
    [Fact]
    public void Step_from_0_1_to_4_percent_errors_at_100_req_s_is_rolled_back_in_seconds()
    {
        // 1,000 req/s across both versions: the canary serves 100 req/s at weight 10, more as the weight rises.
        var runs = StepFault(ScenarioPolicies.Native, 1_000, 0.001, 0.04, Runs, 1_000_000);
        var times = Times(runs, o => o.SecondsToRollback);
        var (lo, hi) = MedianInterval(times);
        output.WriteLine($"0.1% -> 4% (bound 2%, confidence 0.99), canary {Quantile(Sorted(runs, o => o.CanaryRpsAtOnset), 0.5):0} req/s median at onset, {runs.Length} runs: " +
            $"rolled back {times.Length}; median {Seconds(Quantile(times, 0.5))} (95% CI {Seconds(lo)}..{Seconds(hi)}), p95 {Seconds(Quantile(times, 0.95))}, max {Seconds(times[^1])}");
        Assert.Equal(runs.Length, times.Length);
        Assert.True(Quantile(times, 0.5) <= 10, $"median {Quantile(times, 0.5)} s");
        Assert.True(Quantile(times, 0.95) <= 20, $"p95 {Quantile(times, 0.95)} s");
        Assert.DoesNotContain(runs, o => o.LoweredWeightWithoutRollback);
    }

    [Fact]
    public void Step_from_0_1_to_4_percent_at_10_req_s_reported_as_it_is()
    {
        // 100 req/s across both versions: the canary serves 10 req/s at weight 10.
        var runs = StepFault(ScenarioPolicies.Native, 100, 0.001, 0.04, Runs, 2_000_000);
        var times = Times(runs, o => o.SecondsToRollback);
        output.WriteLine($"0.1% -> 4% at 10 req/s (canary {Quantile(Sorted(runs, o => o.CanaryRpsAtOnset), 0.5):0} req/s median at onset), {runs.Length} runs: " +
            $"rolled back {times.Length}; median {Seconds(Quantile(times, 0.5))}, p95 {Seconds(Quantile(times, 0.95))}");
        Assert.Equal(runs.Length, times.Length);
        // Ten times less traffic, about ten times longer: the detector needs a number of requests (~1,800 at 4% against
        // 2%), not of seconds. At 10 req/s the latency rule (minSamples 500 over 30 s) never has enough evidence, so
        // healthy rollouts pause at the evidence deadline (see the healthy test) and stay at weight 10.
        Assert.True(Quantile(times, 0.5) <= 200, $"median {Quantile(times, 0.5)} s");
    }

    [Fact]
    public void Step_from_0_1_to_1_percent_against_a_0_5_percent_bound_is_rolled_back_within_a_minute()
    {
        var runs = StepFault(ScenarioPolicies.NativeWithRollbackBound(0.005), 1_000, 0.001, 0.01, Runs, 3_000_000);
        var times = Times(runs, o => o.SecondsToRollback);
        var (lo, hi) = MedianInterval(times);
        output.WriteLine($"0.1% -> 1% (bound 0.5%), {runs.Length} runs: rolled back {times.Length}; median {Seconds(Quantile(times, 0.5))} (95% CI {Seconds(lo)}..{Seconds(hi)}), p95 {Seconds(Quantile(times, 0.95))}");
        Assert.Equal(runs.Length, times.Length);
        Assert.True(Quantile(times, 0.5) <= 60, $"median {Quantile(times, 0.5)} s");
    }

    [Fact]
    public void P99_latency_doubling_pauses_within_half_a_minute()
    {
        var runs = LatencyDoubling(ScenarioPolicies.Native, 1_000, Runs, 4_000_000);
        var times = Times(runs, o => o.SecondsToPause);
        var (lo, hi) = MedianInterval(times);
        output.WriteLine($"p99 latency x2, {runs.Length} runs: paused {times.Length}; median {Seconds(Quantile(times, 0.5))} (95% CI {Seconds(lo)}..{Seconds(hi)}), p95 {Seconds(Quantile(times, 0.95))}; rolled back {runs.Count(o => o.RolledBack)}");
        Assert.Equal(runs.Length, times.Length);
        Assert.True(Quantile(times, 0.5) <= 30, $"median {Quantile(times, 0.5)} s");
        Assert.DoesNotContain(runs, o => o.RolledBack);
    }

    [Theory]
    [InlineData(1_000)]
    [InlineData(100)]
    public void Healthy_canaries_like_their_baseline_are_promoted_and_almost_never_rolled_back(int totalRps)
    {
        var runs = Healthy(ScenarioPolicies.Native, totalRps, 0.001, Runs, 5_000_000 + totalRps);
        var falseRollbacks = runs.Count(o => o.RolledBack);
        var (lo, hi) = Wilson(falseRollbacks, runs.Length);
        output.WriteLine($"healthy 0.1% vs 0.1% at {totalRps} req/s total, 30-min rollouts, {runs.Length} runs: false rollbacks {falseRollbacks} ({Percent(falseRollbacks / (double)runs.Length)}, 95% CI {Percent(lo)}..{Percent(hi)}); " +
            $"holds {runs.Count(o => o.Held)}, pauses {runs.Count(o => o.Paused)}, fully promoted {runs.Count(o => o.FinalPhase == GatePhase.Succeeded)}");
        Assert.True(falseRollbacks <= runs.Length / 100, $"{falseRollbacks} false rollbacks");
        Assert.DoesNotContain(runs, o => o.LoweredWeightWithoutRollback);
        if (totalRps >= 1_000)
        {
            Assert.All(runs, o => Assert.Equal(GatePhase.Succeeded, o.FinalPhase));
        }
        else
        {
            // Too little traffic for the latency rule's minSamples: the evidence deadline pauses, never strands.
            Assert.All(runs, o => Assert.True(o.Paused || o.FinalPhase == GatePhase.Succeeded));
        }
    }

    [Theory]
    [InlineData(1_000)]
    [InlineData(100)]
    public void Canaries_exactly_at_the_rollback_bound_for_30_minutes_are_rolled_back_in_at_most_1_percent_of_runs(int totalRps)
    {
        // The false-alarm guarantee's worst case: the canary's error rate is the rule's bound (2%), for 30 minutes of
        // looks four times a second. The stated bound is 1 - confidence = 1% per hour.
        var runs = Healthy(ScenarioPolicies.RollbackRuleOnly, totalRps, 0.02, Runs, 6_000_000 + totalRps);
        var falseRollbacks = runs.Count(o => o.RolledBack);
        var (lo, hi) = Wilson(falseRollbacks, runs.Length);
        output.WriteLine($"canary at the 2% bound at {totalRps} req/s total, 30 min, {runs.Length} runs: rollbacks {falseRollbacks} ({Percent(falseRollbacks / (double)runs.Length)}, 95% CI {Percent(lo)}..{Percent(hi)})");
        Assert.True(falseRollbacks <= runs.Length / 100, $"{falseRollbacks} false rollbacks");
    }

    private static double[] Sorted(IEnumerable<RolloutOutcome> runs, Func<RolloutOutcome, double> pick) => [.. runs.Select(pick).Order()];
}
