namespace GateStream.Core.Gates;

/// <summary>What the decision log remembers of a gate: enough to continue it after a restart.</summary>
public sealed record GateSnapshot(
    string Deployment,
    string BaselineVersion,
    string CanaryVersion,
    string Policy,
    GatePhase Phase,
    int Weight,
    long StartedMicros,
    string StartedBy,
    GateDecision LastDecision);

public sealed partial class Gate
{
    /// <summary>
    /// Puts a recreated gate back where the log says it was. Windows are not restored (they live in memory only):
    /// rules start again from insufficient evidence, and promotion needs a full step interval of passing.
    /// </summary>
    internal void Restore(GateSnapshot snapshot, long nowMicros)
    {
        Phase = snapshot.Phase;
        Weight = snapshot.Weight;
        LastDecision = snapshot.LastDecision;
        LastStepMicros = nowMicros;
        if (snapshot.Phase == GatePhase.RolledBack)
        {
            _weightBeforeRollback = Math.Max(snapshot.Weight, DefaultInitialWeight(Policy));
        }

        if (snapshot.Phase == GatePhase.Holding && snapshot.LastDecision.Override?.Kind == OverrideKind.Hold)
        {
            _manualHold = true;
        }

        if (Policy.Flagger is { } flagger)
        {
            NextCheckMicros = nowMicros + Time.EventTime.FromTimeSpan(flagger.Interval);
        }
    }
}
