using GateStream.Core.Policies;

namespace GateStream.Core.Gates;

/// <summary>Where a gate is. Numbered as <c>gatestream.v1.Phase</c>.</summary>
public enum GatePhase
{
    Progressing = 1,
    Holding = 2,
    Paused = 3,
    Succeeded = 4,
    RolledBack = 5,
}

/// <summary>What a decision tells the controller to do. Numbered as <c>gatestream.v1.Action</c>.</summary>
public enum DecisionAction
{
    Promote = 1,
    Hold = 2,
    Pause = 3,
    Rollback = 4,
    Resume = 5,
}

/// <summary>A rule's state in a decision's evidence. Numbered as <c>gatestream.v1.RuleStatus</c>.</summary>
public enum RuleStatus
{
    Passing = 1,
    Firing = 2,
    InsufficientEvidence = 3,
    Suppressed = 4,

    /// <summary>The condition holds but not yet for the rule's <c>for:</c> duration.</summary>
    Pending = 5,
}

/// <summary>Which side of a bound fired. Numbered as <c>gatestream.v1.Bound</c>.</summary>
public enum BoundSide
{
    None = 0,
    Upper = 1,
    Lower = 2,
}

/// <summary>What a person asked for. Numbered as <c>gatestream.v1.OverrideKind</c>.</summary>
public enum OverrideKind
{
    Promote = 1,
    PromoteFull = 2,
    Hold = 3,
    Pause = 4,
    Resume = 5,
    Rollback = 6,
    SuppressRule = 7,
}

/// <summary>One rule's evidence at the moment of a decision.</summary>
public sealed record Evidence
{
    public required string Rule { get; init; }

    public required string Signal { get; init; }

    public RuleStatus Status { get; init; }

    /// <summary>The action this rule takes when it fires.</summary>
    public GateAction Action { get; init; }

    /// <summary>The canary's value; null with no samples.</summary>
    public double? Observed { get; init; }

    /// <summary>The bound the observed value is compared with (resolved against the baseline for relative rules).</summary>
    public double? Threshold { get; init; }

    public BoundSide Bound { get; init; }

    /// <summary>The baseline's value for relative rules.</summary>
    public double? Baseline { get; init; }

    public string Unit { get; init; } = "";

    public TimeSpan Window { get; init; }

    public long Samples { get; init; }

    public long BaselineSamples { get; init; }

    public long MinSamples { get; init; }

    /// <summary>Always-valid p-value of the sequential test, when the rule has a confidence.</summary>
    public double? PValue { get; init; }

    public double? Confidence { get; init; }

    /// <summary>How long the condition has held (for <c>for:</c>).</summary>
    public TimeSpan BreachedFor { get; init; }

    public TimeSpan ForDuration { get; init; }

    /// <summary>The comparison in words, e.g. "&lt;= 0.05" or "no more than 0.005 above baseline".</summary>
    public string Comparison { get; init; } = "";

    public long? SuppressedUntilMicros { get; init; }
}

/// <summary>Who overrode the gate, and why.</summary>
public sealed record OverrideInfo(string Actor, OverrideKind Kind, string Reason, string? Rule = null, TimeSpan? Duration = null);

/// <summary>
/// A decision: what the canary's traffic weight should be now, and why. A pure function of
/// (policy, events, clock, overrides): replay yields the same decisions.
/// </summary>
public sealed record GateDecision
{
    /// <summary>Assigned by the decision sink (the daemon's log); 0 until then.</summary>
    public ulong Sequence { get; init; }

    public required string Gate { get; init; }

    public required string Deployment { get; init; }

    public required string CanaryVersion { get; init; }

    public required string BaselineVersion { get; init; }

    public DecisionAction Action { get; init; }

    /// <summary>The canary's traffic weight after this decision, 0..100.</summary>
    public int Weight { get; init; }

    /// <summary>
    /// The canary's observed share of the deployment's requests (percent) when the decision was taken, beside
    /// <see cref="Weight"/>: a controller that does not follow shows here. Null without traffic.
    /// </summary>
    public double? ObservedShare { get; init; }

    public GatePhase Phase { get; init; }

    public required string Reason { get; init; }

    public IReadOnlyList<Evidence> Evidence { get; init; } = [];

    public required string Policy { get; init; }

    public string PolicyRevision { get; init; } = "";

    /// <summary>Clock time of the decision, µs since the Unix epoch.</summary>
    public long TimeMicros { get; init; }

    public bool Shadow { get; init; }

    public OverrideInfo? Override { get; init; }
}

/// <summary>Receives decisions on the shard thread, in order. Must be quick: the daemon logs and fans out elsewhere.</summary>
public interface IDecisionSink
{
    /// <summary>
    /// Records the decision and returns it with its sequence number. Throws when it cannot be made durable; the gate
    /// that took it is then put back as it was (<see cref="GateBook"/>).
    /// </summary>
    GateDecision Publish(GateDecision decision);

    /// <summary>
    /// The first half of <see cref="Publish"/> for a tick's decisions taken together: numbers and records the decision
    /// without waiting for it to be durable. The caller applies none of them before <see cref="WaitDurable"/> returns,
    /// so one flush to disk covers them all.
    /// </summary>
    GateDecision Write(GateDecision decision) => Publish(decision);

    /// <summary>
    /// Returns once every decision written up to <paramref name="sequence"/> is durable (and handed on). Throws when
    /// they cannot be made durable; the gates that took them are then put back as they were.
    /// </summary>
    void WaitDurable(ulong sequence)
    {
    }
}
