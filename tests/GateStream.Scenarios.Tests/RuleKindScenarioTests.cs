using GateStream.Core.Events;
using GateStream.Core.Gates;
using GateStream.Core.Policies;
using GateStream.Core.Windows;

namespace GateStream.Scenarios.Tests;

/// <summary>
/// Every rule kind the policy docs offer, each alone as a rollback rule: a canary that breaks it is rolled back, one
/// that keeps it is not. (Absolute and difference bounds, error budget and p99 ratio are in the layered, budget and
/// detection scenarios.)
/// </summary>
public class RuleKindScenarioTests
{
    private static readonly Behaviour Baseline = Behaviour.Steady(400, 0.002, 20);

    private static PolicyDefinition Only(RuleSpec rule) => new()
    {
        Name = "kind",
        Revision = "test",
        Target = "api",
        Progression = new ProgressionSpec { StepWeight = 10, MaxWeight = 50, StepInterval = TimeSpan.FromMinutes(30) },
        Rules = [rule with { Action = GateAction.Rollback }],
    };

    public static TheoryData<string> Kinds => new() { "error-ratio", "success-rate-confidence", "burn-rate", "throughput", "throughput-drop", "metric" };

    private static (RuleSpec Rule, Behaviour Good, Behaviour Bad) Case(string kind) => kind switch
    {
        // At most 3x the baseline's error rate (0.2%).
        "error-ratio" => (new RuleSpec { Name = kind, Signal = SignalSpec.ErrorRate, Threshold = new(ComparisonKind.BaselineRatio, null, 3) },
            Behaviour.Steady(100, 0.002, 20), Behaviour.Steady(100, 0.02, 20)),
        // Success rate at least 98%, with change detection.
        "success-rate-confidence" => (new RuleSpec { Name = kind, Signal = SignalSpec.SuccessRate, Threshold = new(ComparisonKind.Absolute, 98, null), Confidence = 0.99 },
            Behaviour.Steady(100, 0.015, 20), Behaviour.Steady(100, 0.05, 20)),
        // 99.9% SLO: burning 14.4x the budget over 10 min and 1 min.
        "burn-rate" => (new RuleSpec { Name = kind, Signal = SignalSpec.ErrorRate, BurnRate = new(0.999, [new(TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(1), 14.4)]) },
            Behaviour.Steady(100, 0.005, 20), Behaviour.Steady(100, 0.03, 20)),
        // At least 50 req/s.
        "throughput" => (new RuleSpec { Name = kind, Signal = SignalSpec.Throughput, Threshold = new(ComparisonKind.Absolute, 50, null) },
            Behaviour.Steady(100, 0.002, 20), Behaviour.Steady(30, 0.002, 20)),
        // No more than 20% short of what weight 10 predicts from the baseline (44 req/s).
        "throughput-drop" => (new RuleSpec { Name = kind, Signal = SignalSpec.ThroughputDrop, Threshold = new(ComparisonKind.Absolute, null, 0.2) },
            Behaviour.Steady(100, 0.002, 20), Behaviour.Steady(100, 0.002, 20)), // the bad run's traffic collapses below
        _ => (new RuleSpec { Name = kind, Signal = SignalSpec.MetricOf("pool_saturation", MetricAggregation.Max), Threshold = new(ComparisonKind.Absolute, null, 0.9), MinSamples = 3 },
            Behaviour.Steady(100, 0.002, 20), Behaviour.Steady(100, 0.002, 20)),
    };

    [Theory]
    [MemberData(nameof(Kinds))]
    public void A_canary_that_breaks_the_rule_is_rolled_back_and_one_that_keeps_it_is_not(string kind)
    {
        var (rule, good, bad) = Case(kind);
        Assert.Null(Run(kind, rule, good, breaks: false));
        var rollback = Run(kind, rule, bad, breaks: true);
        Assert.NotNull(rollback);
        Assert.Contains($"'{kind}'", rollback.Reason, StringComparison.Ordinal);
        Assert.Equal(RuleStatus.Firing, rollback.Evidence.Single().Status);
    }

    private static GateDecision? Run(string kind, RuleSpec rule, Behaviour canary, bool breaks)
    {
        var sim = new Simulation(Only(rule), kind.Length + (breaks ? 100 : 0));
        sim.Warm(Baseline, TimeSpan.FromMinutes(1));
        var metrics = new MetricSampleBatch();
        for (var second = 0; second < 6 * 60; second++)
        {
            var time = sim.Engine.NowMicros;
            var behaviour = canary;
            if (kind == "throughput-drop" && breaks && second >= 60)
            {
                behaviour = canary with { RequestsPerSecond = 10 }; // the canary's traffic collapses at minute 1
            }

            sim.Run(Baseline, behaviour, TimeSpan.FromSeconds(1));
            if (kind == "metric" && sim.Gate is not null)
            {
                metrics.Clear();
                metrics.Key.Set("api", "v2");
                metrics.Add("pool_saturation", time, breaks && second >= 60 ? 0.97 : 0.6, MetricKind.Gauge);
                sim.Engine.Apply(metrics);
            }

            if (sim.Gate?.IsFinished == true)
            {
                break;
            }
        }

        return sim.FirstDecision(DecisionAction.Rollback);
    }
}
