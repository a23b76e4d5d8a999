using GateStream.Core.Gates;
using GateStream.Core.Policies;
using Xunit.Abstractions;

namespace GateStream.Scenarios.Tests;

/// <summary>
/// Continuous evaluation (four looks a second) of a noisy signal: the sequential test keeps false rollbacks
/// rare without giving up the catch.
/// </summary>
public class NoiseScenarioTests(ITestOutputHelper output)
{
    private static readonly Behaviour Baseline = Behaviour.Steady(100, 0.001, 20);

    private sealed record Outcome(bool RolledBack, double MinutesToRollback, bool Promoted);

    private static Outcome RunRollout(PolicyDefinition policy, Behaviour canary, int seed)
    {
        var sim = new Simulation(policy, seed, TimeSpan.FromMilliseconds(250));
        sim.Warm(Baseline, TimeSpan.FromSeconds(30));
        var start = sim.Minutes;
        sim.Run(Baseline, canary, TimeSpan.FromMinutes(6), s => s.Gate?.IsFinished == true);
        var rollback = sim.FirstDecision(DecisionAction.Rollback);
        return new Outcome(rollback is not null, rollback is null ? double.NaN : Simulation.MinutesOf(rollback) - start, sim.Gate?.Phase == GatePhase.Succeeded);
    }

    private static Outcome[] RunMany(PolicyDefinition policy, Behaviour canary, int count, int seedBase)
    {
        var outcomes = new Outcome[count];
        Parallel.For(0, count, i => outcomes[i] = RunRollout(policy, canary, seedBase + i));
        return outcomes;
    }

    [Fact]
    public void Healthy_canaries_rarely_roll_back_and_bad_ones_are_caught()
    {
        const int rollouts = 1_000;
        var healthy = RunMany(Policies.Confident(0.99), Behaviour.Steady(100, 0.001, 20), rollouts, 100_000);
        var falseRate = healthy.Count(o => o.RolledBack) / (double)rollouts;

        // The same rule without the sequential test, for comparison: the 60 s window alone is noisy.
        var unguarded = RunMany(Policies.Confident(null), Behaviour.Steady(100, 0.001, 20), 200, 200_000);
        var unguardedRate = unguarded.Count(o => o.RolledBack) / 200.0;

        var bad = RunMany(Policies.Confident(0.99), Behaviour.Steady(100, 0.04, 20), 200, 300_000);
        var caught = bad.Count(o => o.RolledBack) / 200.0;
        var times = bad.Where(o => o.RolledBack).Select(o => o.MinutesToRollback * 60).Order().ToArray();
        var median = times[times.Length / 2];
        var p99 = times[(int)Math.Ceiling(times.Length * 0.99) - 1];

        output.WriteLine($"healthy canary (0.1% vs 0.1%), confidence 0.99: {falseRate:P2} false rollbacks of {rollouts}; {healthy.Count(o => o.Promoted)} fully promoted");
        output.WriteLine($"same rule without confidence: {unguardedRate:P1} false rollbacks of 200");
        output.WriteLine($"bad canary (4% vs 0.1%): caught {caught:P1} of 200; time to rollback median {median:F1} s, p99 {p99:F1} s");

        Assert.True(falseRate < 0.01, $"false rollback rate {falseRate:P2}");
        Assert.Equal(1.0, caught);
        Assert.True(unguardedRate > falseRate, "the sequential test should be what keeps false rollbacks down");
    }
}
