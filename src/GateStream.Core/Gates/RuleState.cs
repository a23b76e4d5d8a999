using GateStream.Core.Policies;

namespace GateStream.Core.Gates;

/// <summary>A rule's evaluation state inside a gate: the last reading, and what must persist across ticks.</summary>
/// <remarks>Allocated once per rule when the gate starts (or its policy is reloaded); updated in place every tick.</remarks>
internal sealed class RuleState(RuleSpec spec)
{
    public RuleSpec Spec { get; set; } = spec;

    public RuleStatus Status { get; set; } = RuleStatus.InsufficientEvidence;

    public double? Observed { get; set; }

    public double? Threshold { get; set; }

    public BoundSide Bound { get; set; }

    public double? Baseline { get; set; }

    public long Samples { get; set; }

    public long BaselineSamples { get; set; }

    public long WindowMicros { get; set; }

    /// <summary>The change detector's level (N / R, see <see cref="ChangePointTest"/>); 1 before any evidence.</summary>
    public double PValue { get; set; } = 1;

    public bool HasTest { get; set; }

    /// <summary>The change detector of a rule with <c>confidence</c> (allocated for every rule: it is small).</summary>
    public ChangeDetector Detector { get; } = new();

    /// <summary>When the condition started holding continuously, or -1.</summary>
    public long BreachedSinceMicros { get; set; } = -1;

    public long SuppressedUntilMicros { get; set; } = long.MinValue;

    public string? SuppressedBy { get; set; }

    public bool IsFiring => Status == RuleStatus.Firing;

    /// <summary>Forget the condition's history (after a resume): <c>for:</c> starts again.</summary>
    public void ResetBreach()
    {
        BreachedSinceMicros = -1;
        PValue = 1;
        Detector.Reset();
        Status = RuleStatus.InsufficientEvidence;
    }
}
