using GateStream.Core.Policies;

namespace GateStream.Scenarios.Tests;

/// <summary>The policies the scenarios run, written as the model the YAML loader produces.</summary>
internal static class Policies
{
    /// <summary>
    /// The article's layered policy: a small error-rate rise holds, crossing the SLO threshold rolls back,
    /// a latency rise with stable errors pauses.
    /// </summary>
    public static PolicyDefinition Layered(PolicyMode mode = PolicyMode.Enforce) => new()
    {
        Name = "api-layered",
        Revision = "test",
        Target = "api",
        Mode = mode,
        ReleaseAfter = TimeSpan.FromMinutes(2),
        Progression = new ProgressionSpec { StepWeight = 10, MaxWeight = 50, StepInterval = TimeSpan.FromMinutes(1) },
        Rules =
        [
            new RuleSpec
            {
                Name = "error-rate-rise",
                Signal = SignalSpec.ErrorRate,
                Threshold = new ThresholdSpec(ComparisonKind.BaselineDifference, null, 0.0025),
                Action = GateAction.Hold,
                MinSamples = 500,
                For = TimeSpan.FromSeconds(30),
            },
            new RuleSpec
            {
                Name = "error-rate-slo",
                Signal = SignalSpec.ErrorRate,
                Threshold = new ThresholdSpec(ComparisonKind.Absolute, null, 0.01),
                Action = GateAction.Rollback,
                MinSamples = 500,
                For = TimeSpan.FromSeconds(10),
            },
            new RuleSpec
            {
                Name = "latency-p99",
                Signal = SignalSpec.LatencyAt(0.99),
                Threshold = new ThresholdSpec(ComparisonKind.BaselineRatio, null, 1.5),
                Action = GateAction.Pause,
                MinSamples = 500,
                For = TimeSpan.FromSeconds(30),
            },
        ],
    };

    /// <summary>The article's error-budget anchor: 99.9% over 30 days, rollback past 5% consumed in the first 30 minutes.</summary>
    public static PolicyDefinition ErrorBudget() => new()
    {
        Name = "api-budget",
        Revision = "test",
        Target = "api",
        Progression = new ProgressionSpec { StepWeight = 10, MaxWeight = 50, StepInterval = TimeSpan.FromMinutes(10) },
        Rules =
        [
            new RuleSpec
            {
                Name = "monthly-budget",
                Signal = SignalSpec.ErrorRate,
                ErrorBudget = new ErrorBudgetSpec(0.999, TimeSpan.FromDays(30), 0.05, TimeSpan.FromMinutes(30)),
                Action = GateAction.Rollback,
                MinSamples = 1_000,
            },
        ],
    };

    /// <summary>A native rollback rule on the error rate relative to the baseline, with a sequential test.</summary>
    public static PolicyDefinition Confident(double? confidence, double margin = 0.001) => new()
    {
        Name = "api-confident",
        Revision = "test",
        Target = "api",
        Progression = new ProgressionSpec { StepWeight = 20, MaxWeight = 100, StepInterval = TimeSpan.FromMinutes(1) },
        Rules =
        [
            new RuleSpec
            {
                Name = "error-rate-vs-baseline",
                Signal = SignalSpec.ErrorRate,
                Threshold = new ThresholdSpec(ComparisonKind.BaselineDifference, null, margin),
                Action = GateAction.Rollback,
                MinSamples = 200,
                Confidence = confidence,
            },
        ],
    };
}
