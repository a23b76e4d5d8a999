using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Report;

/// <summary>
/// Policy effectiveness from a decision log, for the review the article recommends every two weeks: what each rule
/// did, how often an operator undid it soon after (a likely false positive), how long rollouts took to promote
/// fully, and how often each deployment was rolled back.
/// </summary>
public sealed record PolicyReport
{
    public DateTimeOffset Since { get; init; }

    public DateTimeOffset Until { get; init; }

    public TimeSpan ReversalWindow { get; init; }

    /// <summary>Decisions read from the log (all of it).</summary>
    public long DecisionsRead { get; init; }

    /// <summary>Decisions taken in [Since, Until] (shadow ones only when asked for).</summary>
    public long DecisionsInRange { get; init; }

    /// <summary>Gates with at least one decision in range.</summary>
    public int Gates { get; init; }

    /// <summary>Automatic decisions per (rule, action), by rule then action.</summary>
    public IReadOnlyList<RuleActionRow> Rules { get; init; } = [];

    /// <summary>Overrides per kind, in the order of <see cref="V1.OverrideKind"/>.</summary>
    public IReadOnlyList<OverrideRow> Overrides { get; init; } = [];

    /// <summary>Per deployment, by name.</summary>
    public IReadOnlyList<DeploymentRow> Deployments { get; init; } = [];

    /// <summary>Every full promotion in range, by time.</summary>
    public IReadOnlyList<PromotionRow> Promotions { get; init; } = [];
}

/// <summary>
/// Automatic decisions with one action caused by one rule (the rule FIRING in the decision's evidence; for PROMOTE
/// <see cref="PolicyReportBuilder.Progression"/>, for a hold's own release <see cref="PolicyReportBuilder.Released"/>).
/// </summary>
/// <param name="Reversed">
/// HOLD, PAUSE or ROLLBACK decisions that the next operator override on the gate undid (RESUME, PROMOTE or
/// PROMOTE_FULL) within the reversal window, with no automatic stop in between.
/// </param>
public sealed record RuleActionRow(string Rule, V1.Action Action, long Decisions, long Reversed)
{
    /// <summary>Whether <see cref="Reversed"/> means anything for this action (stops only).</summary>
    public bool IsStop => Action is V1.Action.Hold or V1.Action.Pause or V1.Action.Rollback;
}

public sealed record OverrideRow(V1.OverrideKind Kind, long Count);

/// <param name="Gates">Gates of the deployment with a decision in range.</param>
/// <param name="FullPromotions">Decisions that promoted a canary to weight 100.</param>
/// <param name="RollbacksAutomatic">ROLLBACK decisions the policy took.</param>
/// <param name="RollbacksOverride">ROLLBACK decisions an operator asked for.</param>
/// <param name="MedianTimeToFullPromotion">Median of the deployment's <see cref="PromotionRow.Duration"/>; null without promotions.</param>
public sealed record DeploymentRow(
    string Deployment,
    int Gates,
    long FullPromotions,
    long RollbacksAutomatic,
    long RollbacksOverride,
    TimeSpan? MedianTimeToFullPromotion,
    TimeSpan? LongestTimeToFullPromotion);

/// <param name="StartFromGate">
/// True when the start is the gate's own started_time (ListGates); false when the daemon no longer holds the gate
/// and the start is the gate's first logged decision (later than the real start: one step interval or so).
/// </param>
public sealed record PromotionRow(string Gate, string Deployment, DateTimeOffset Started, DateTimeOffset Promoted, bool StartFromGate)
{
    public TimeSpan Duration => Promoted - Started;
}
