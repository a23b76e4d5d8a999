using GateStream.Core.Gates;
using GateStream.Core.Policies;
using GateStream.Policies;
using Xunit.Abstractions;

namespace GateStream.Scenarios.Tests;

/// <summary>
/// The article's Flagger Canary, loaded from YAML exactly as written, run with Flagger's semantics: one check per
/// analysis interval over each metric's interval window, failed checks counted, rollback at the threshold,
/// otherwise one stepWeight per interval up to maxWeight, then full promotion.
/// </summary>
public class FlaggerScenarioTests(ITestOutputHelper output)
{
    // Flagger reads request-duration in milliseconds, so the article's `max: 0.5` is 0.5 ms: healthy traffic here has
    // a p99 around 0.3 ms to pass it.
    private static readonly Behaviour Baseline = new(200, _ => 0.001, _ => 0.15, TailFactor: 2);

    internal static PolicyDefinition ArticleCanary()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "Fixtures", "article-canary.yaml");
        var result = PolicyLoader.LoadFiles([path]);
        Assert.True(result.Success, string.Join("\n", result.Errors));
        return Assert.Single(result.Policies!.Policies);
    }

    [Fact]
    public void The_article_canary_loads_with_flagger_semantics_and_its_warnings()
    {
        var result = PolicyLoader.LoadFiles([Path.Combine(AppContext.BaseDirectory, "Fixtures", "article-canary.yaml")]);
        Assert.True(result.Success);
        Assert.Contains(result.Warnings, w => w.Message.Contains("request-duration", StringComparison.Ordinal) && w.Message.Contains("ms", StringComparison.Ordinal));
        var policy = Assert.Single(result.Policies!.Policies);
        Assert.Equal(PolicyForm.Flagger, policy.Form);
        Assert.Equal(new FlaggerAnalysisSpec(TimeSpan.FromMinutes(1), 5), policy.Flagger);
    }

    /// <summary>
    /// As Flagger runs it: the deployer starts the rollout at weight 0 (StartRollout) before the canary serves anything.
    /// (A gate that opens by itself starts at the canary's observed share instead: <see cref="GateWeightScenarioTests"/>.)
    /// </summary>
    private static Simulation StartedByFlagger(int seed)
    {
        var sim = new Simulation(ArticleCanary(), seed);
        sim.Warm(Baseline, TimeSpan.FromMinutes(1));
        var started = sim.Engine.Start(new StartRolloutCommand("api", "v1", "v2", null, null, "flagger"));
        Assert.True(started.Succeeded, started.Message);
        Assert.Equal(0, started.Gate!.Weight);
        return sim;
    }

    [Fact]
    public void Healthy_canary_is_promoted_10_20_30_40_50_then_fully_one_step_per_interval()
    {
        var sim = StartedByFlagger(51);
        sim.Run(Baseline, Baseline, TimeSpan.FromMinutes(8));
        var deployed = sim.Gate!.StartedMicros;

        var promotions = sim.Decisions.Where(d => d.Action == DecisionAction.Promote).ToList();
        Assert.Equal([10, 20, 30, 40, 50, 100], promotions.Select(d => d.Weight));
        var minutes = promotions.Select(d => Math.Round((d.TimeMicros - deployed) / 60e6, 2)).ToList();
        output.WriteLine("promotions at minutes " + string.Join(", ", minutes));
        Assert.Equal([1.0, 2.0, 3.0, 4.0, 5.0, 6.0], minutes);
        Assert.Equal(GatePhase.Succeeded, promotions[^1].Phase);
        Assert.Equal(promotions.Count, sim.Decisions.Count);
    }

    [Fact]
    public void Canary_above_5_percent_errors_is_rolled_back_after_5_failed_checks()
    {
        var sim = StartedByFlagger(52);
        sim.Run(Baseline, new Behaviour(100, _ => 0.08, _ => 0.15, TailFactor: 2), TimeSpan.FromMinutes(8));
        var deployed = sim.Gate!.StartedMicros;

        // Minute 1: the first iteration at weight 0 runs no analysis and steps to 10 (Flagger's scheduler);
        // minutes 2..5: failed checks that keep weight 10; minute 6: the fifth failed check rolls back.
        var first = sim.Decisions[0];
        Assert.Equal((DecisionAction.Promote, 10), (first.Action, first.Weight));
        var holds = sim.Decisions.Where(d => d.Action == DecisionAction.Hold).ToList();
        Assert.Equal(4, holds.Count);
        Assert.All(holds, h => Assert.Equal(10, h.Weight));
        var rollback = Assert.Single(sim.Decisions, d => d.Action == DecisionAction.Rollback);
        var minutes = (rollback.TimeMicros - deployed) / 60e6;
        output.WriteLine($"rollback at {minutes:F2} min: {rollback.Reason}");
        Assert.Equal(6.0, Math.Round(minutes, 2));
        Assert.Contains("failed checks 5 of 5", rollback.Reason, StringComparison.Ordinal);
        Assert.Equal(0, rollback.Weight);
        Assert.Single(sim.Decisions, d => d.Action == DecisionAction.Promote);
    }
}
