using GateStream.Core.Gates;
using Xunit.Abstractions;

namespace GateStream.Scenarios.Tests;

/// <summary>
/// The article's anchor: 99.9% over 30 days, rollback when the canary consumes more than 5% of the monthly budget
/// within its first 30 minutes. At a constant error rate r the consumed fraction after t minutes is
/// r / 0.001 * t / 43,200, so 5% by minute 30 means r = 7.2%.
/// </summary>
public class ErrorBudgetScenarioTests(ITestOutputHelper output)
{
    // The canary's 100 req/s are 10% of the deployment's traffic: its gate opens at weight 10 and is still analysed at
    // minute 30 (a canary at 50% would start at maxWeight and be promoted fully at its first step).
    private static readonly Behaviour Baseline = Behaviour.Steady(900, 0.001, 20);

    [Fact]
    public void Canary_burning_just_above_the_budget_rolls_back_near_the_predicted_minute()
    {
        var sim = new Simulation(Policies.ErrorBudget(), 21);
        sim.Warm(Baseline, TimeSpan.FromMinutes(1));
        sim.Run(Baseline, Behaviour.Steady(100, 0.076, 20), TimeSpan.FromMinutes(35));

        var rollback = Assert.Single(sim.Decisions, d => d.Action == DecisionAction.Rollback);
        var minutes = Simulation.MinutesOf(rollback) - 1;
        var predicted = 0.05 * 0.001 * 43_200 / 0.076; // 28.4 min
        output.WriteLine($"rolled back at {minutes:F2} min (predicted {predicted:F2}): {rollback.Reason}");
        Assert.InRange(minutes, predicted - 1, predicted + 1);
        var evidence = Assert.Single(rollback.Evidence);
        Assert.Equal("error-budget-consumed", evidence.Signal);
        Assert.InRange(evidence.Observed!.Value, 0.05, 0.052);
    }

    [Fact]
    public void Canary_burning_just_below_the_budget_does_not_roll_back()
    {
        var sim = new Simulation(Policies.ErrorBudget(), 22);
        sim.Warm(Baseline, TimeSpan.FromMinutes(1));
        sim.Run(Baseline, Behaviour.Steady(100, 0.068, 20), TimeSpan.FromMinutes(35));

        Assert.DoesNotContain(sim.Decisions, d => d.Action == DecisionAction.Rollback);
        var evidence = sim.Gate!.CurrentEvidence(sim.Engine.NowMicros).Single();
        output.WriteLine($"consumed after 35 min: {evidence.Observed:P2} of the budget");
        Assert.InRange(evidence.Observed!.Value, 0.045, 0.06); // past 5% only after the 30-minute horizon
    }
}
