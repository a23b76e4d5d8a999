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

    private static double[] Sorted(IEnumerable<RolloutOutcome> runs, Func<RolloutOutcome, double> pick) => [.. runs.Select(pick).Order()];
}
