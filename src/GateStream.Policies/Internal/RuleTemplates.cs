using GateStream.Core;
using GateStream.Core.Policies;

namespace GateStream.Policies.Internal;

/// <summary>
/// The built-in rules a GatePolicy gets with <c>templates: true</c>, per object type. Each object breaks
/// differently, so each gets the signals that show its failure mode. Thresholds are documented in docs/policies.md;
/// change one by writing a rule with the same name.
/// </summary>
internal static class RuleTemplates
{
    public static IReadOnlyList<RuleSpec> For(ObjectType objectType, SourceLocation location) => objectType switch
    {
        ObjectType.DatabaseMigration => DatabaseMigration(location),
        ObjectType.Infrastructure => Infrastructure(location),
        _ => Application(location),
    };

    /// <summary>Request signals against the baseline version: the canary should not be worse than what it replaces.</summary>
    private static RuleSpec[] Application(SourceLocation at) =>
    [
        new()
        {
            Name = "error-rate-vs-baseline",
            Signal = SignalSpec.ErrorRate,
            Threshold = new ThresholdSpec(ComparisonKind.BaselineDifference, null, 0.005),
            Action = GateAction.Hold,
            MinSamples = 200,
            For = TimeSpan.FromSeconds(30),
            Window = Defaults.WindowLength,
            Location = at,
        },
        new()
        {
            Name = "latency-p95-vs-baseline",
            Signal = SignalSpec.LatencyAt(0.95),
            Threshold = new ThresholdSpec(ComparisonKind.BaselineRatio, null, 1.25),
            Action = GateAction.Pause,
            MinSamples = 200,
            For = TimeSpan.FromSeconds(60),
            Window = Defaults.WindowLength,
            Location = at,
        },
        new()
        {
            Name = "latency-p99-vs-baseline",
            Signal = SignalSpec.LatencyAt(0.99),
            Threshold = new ThresholdSpec(ComparisonKind.BaselineRatio, null, 1.5),
            Action = GateAction.Pause,
            MinSamples = 500,
            For = TimeSpan.FromSeconds(60),
            Window = TimeSpan.FromSeconds(120),
            Location = at,
        },
        new()
        {
            Name = "throughput-drop",
            Signal = SignalSpec.ThroughputDrop,
            Threshold = new ThresholdSpec(ComparisonKind.Absolute, null, 0.2),
            Action = GateAction.Hold,
            MinSamples = 200,
            For = TimeSpan.FromSeconds(60),
            Window = Defaults.WindowLength,
            Location = at,
        },
    ];

    /// <summary>Gauges and counters the database exporter reports; absolute bounds, since a migration has no baseline twin.</summary>
    private static RuleSpec[] DatabaseMigration(SourceLocation at) =>
    [
        Metric("replication-lag", "replication_lag_seconds", MetricAggregation.Max, 30, GateAction.Pause, TimeSpan.FromMinutes(2), at),
        Metric("slow-queries", "slow_queries", MetricAggregation.Rate, 1, GateAction.Hold, TimeSpan.FromMinutes(5), at),
        Metric("db-pool-saturation", "db_pool_saturation", MetricAggregation.Max, 0.9, GateAction.Pause, TimeSpan.FromMinutes(2), at),
    ];

    private static RuleSpec[] Infrastructure(SourceLocation at) =>
    [
        Metric("node-not-ready", "node_not_ready", MetricAggregation.Max, 0, GateAction.Pause, TimeSpan.FromMinutes(2), at),
        Metric("cpu-utilization", "cpu_utilization", MetricAggregation.Mean, 0.85, GateAction.Hold, TimeSpan.FromMinutes(5), at),
        Metric("memory-utilization", "memory_utilization", MetricAggregation.Mean, 0.9, GateAction.Hold, TimeSpan.FromMinutes(5), at),
        Metric("pod-restarts", "pod_restarts", MetricAggregation.Sum, 2, GateAction.Rollback, TimeSpan.FromMinutes(5), at),
    ];

    private static RuleSpec Metric(string name, string metric, MetricAggregation aggregation, double max, GateAction action, TimeSpan window, SourceLocation at) => new()
    {
        Name = name,
        Signal = SignalSpec.MetricOf(metric, aggregation),
        Threshold = new ThresholdSpec(ComparisonKind.Absolute, null, max),
        Action = action,
        MinSamples = 3,
        Window = window,
        Location = at,
    };
}
