namespace GateStream.Core.Gates;

/// <summary>
/// What the decision log remembers of a gate: enough to continue it after a restart, or in a replay of a recording
/// that started while it was under way.
/// </summary>
/// <param name="LastDecision">Its latest decision; null when it had taken none (a recording can start before it does).</param>
/// <param name="FailedChecks">Flagger form: failed checks counted so far, when known.</param>
public sealed record GateSnapshot(
    string Deployment,
    string BaselineVersion,
    string CanaryVersion,
    string Policy,
    GatePhase Phase,
    int Weight,
    long StartedMicros,
    string StartedBy,
    GateDecision? LastDecision,
    int FailedChecks = 0);

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
        FailedChecks = snapshot.FailedChecks;
        _lastCanaryRequestMicros = nowMicros; // the progress deadline counts from here: requests before it are not in the windows
        if (snapshot.LastDecision is null && StartedBy == AutoStarter)
        {
            WeighFromTraffic(); // still estimating its weight when it was recorded
        }

        if (snapshot.Phase == GatePhase.RolledBack)
        {
            _weightBeforeRollback = Math.Max(snapshot.Weight, DefaultInitialWeight(Policy));
        }

        if (snapshot.Phase == GatePhase.Holding && snapshot.LastDecision is { Override: { Kind: OverrideKind.Hold } hold } held)
        {
            _heldUntilMicros = held.TimeMicros + Time.EventTime.FromTimeSpan(hold.Duration ?? Policy.ReleaseAfter);
        }

        if (Policy.Flagger is { } flagger)
        {
            NextCheckMicros = nowMicros + Time.EventTime.FromTimeSpan(flagger.Interval);

            RestoreWebhookState(snapshot, flagger);
        }
    }
}
