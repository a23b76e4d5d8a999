using GateStream.Core.Time;

namespace GateStream.Core.Gates;

/// <summary>Why an override was not applied.</summary>
public enum OverrideError
{
    None = 0,
    NotFound,
    InvalidArgument,

    /// <summary>The override is not allowed in the gate's phase (e.g. promote after success).</summary>
    IllegalTransition,
}

/// <summary>An operator's command to a gate.</summary>
public sealed record OverrideCommand(string Gate, OverrideKind Kind, string Actor, string Reason, string? Rule = null, TimeSpan? Duration = null);

/// <summary>The decision an override produced, or why it was refused (with a sentence for the operator).</summary>
public sealed record OverrideResult(GateDecision? Decision, OverrideError Error, string Message)
{
    public bool Succeeded => Error == OverrideError.None;

    internal static OverrideResult Fail(OverrideError error, string message) => new(null, error, message);
}

public sealed partial class Gate
{
    /// <summary>Applies an operator's override at <paramref name="nowMicros"/>. Every applied override is a decision.</summary>
    internal OverrideResult Override(OverrideCommand command, long nowMicros)
    {
        var by = new OverrideInfo(command.Actor, command.Kind, command.Reason, command.Rule, command.Duration);
        var who = $"Override by {command.Actor}: {command.Reason}";
        switch (command.Kind)
        {
            case OverrideKind.Promote:
                if (Phase is GatePhase.Succeeded or GatePhase.RolledBack)
                {
                    return Illegal(command, "promote needs a gate that is progressing, holding or paused");
                }

                _heldUntilMicros = -1;
                return Ok(Step(nowMicros, who, by));

            case OverrideKind.PromoteFull:
                if (Phase == GatePhase.Succeeded)
                {
                    return Illegal(command, "the canary is already fully promoted");
                }

                _heldUntilMicros = -1;
                var from = Weight;
                Weight = 100;
                return Ok(Enter(GatePhase.Succeeded, DecisionAction.Promote, nowMicros, $"{who}; promoted fully (weight {from} -> 100).", by));

            case OverrideKind.Hold:
                return Hold(command, nowMicros, by, who);

            case OverrideKind.Pause:
                if (Phase is not (GatePhase.Progressing or GatePhase.Holding))
                {
                    return Illegal(command, "pause needs a progressing or holding gate");
                }

                return Ok(Enter(GatePhase.Paused, DecisionAction.Pause, nowMicros, $"{who}; paused at weight {Weight}.", by));

            case OverrideKind.Resume:
                if (Phase is not (GatePhase.Holding or GatePhase.Paused or GatePhase.RolledBack))
                {
                    return Illegal(command, "resume needs a holding, paused or rolled back gate");
                }

                if (Phase == GatePhase.RolledBack)
                {
                    Weight = _weightBeforeRollback > 0 ? _weightBeforeRollback : DefaultInitialWeight(Policy);
                    FailedChecks = 0;
                }

                _heldUntilMicros = -1;
                _clearSinceMicros = -1;
                foreach (var rule in _rules)
                {
                    rule.ResetBreach();
                }

                ResetProgressClock(nowMicros);
                if (Policy.Flagger is { } flagger)
                {
                    NextCheckMicros = nowMicros + EventTime.FromTimeSpan(flagger.Interval);
                }

                return Ok(Enter(GatePhase.Progressing, DecisionAction.Resume, nowMicros, $"{who}; resuming at weight {Weight}.", by));

            case OverrideKind.Rollback:
                if (Phase == GatePhase.RolledBack)
                {
                    return Illegal(command, "the canary is already rolled back");
                }

                _weightBeforeRollback = Weight;
                Weight = 0;
                return Ok(Enter(GatePhase.RolledBack, DecisionAction.Rollback, nowMicros, $"{who}; rolling back.", by));

            case OverrideKind.SuppressRule:
                return Suppress(command, nowMicros, by, who);

            default:
                return OverrideResult.Fail(OverrideError.InvalidArgument, $"kind: unknown override kind {(int)command.Kind}.");
        }
    }

    /// <summary>
    /// A person's hold: HOLDING for the command's duration (default: the policy's releaseAfter), then released at the
    /// first evaluation with no rule firing. On a gate already HOLDING (by a rule or a person) it restarts that length.
    /// </summary>
    private OverrideResult Hold(OverrideCommand command, long now, OverrideInfo by, string who)
    {
        if (Phase is not (GatePhase.Progressing or GatePhase.Holding))
        {
            return Illegal(command, "hold needs a progressing or holding gate");
        }

        if (command.Duration is { } given && given <= TimeSpan.Zero)
        {
            return OverrideResult.Fail(OverrideError.InvalidArgument, "duration: a hold's length must be positive (or absent: the policy's releaseAfter).");
        }

        var length = command.Duration ?? Policy.ReleaseAfter;
        _heldUntilMicros = now + EventTime.FromTimeSpan(length);
        _clearSinceMicros = -1;
        var again = Phase == GatePhase.Holding ? "still holding" : "holding";
        return Ok(Enter(GatePhase.Holding, DecisionAction.Hold, now,
            $"{who}; {again} at weight {Weight} for {Format(length)}, then until no rule fires.", by));
    }

    private OverrideResult Suppress(OverrideCommand command, long now, OverrideInfo by, string who)
    {
        if (Phase == GatePhase.Succeeded)
        {
            return Illegal(command, "the canary is already fully promoted");
        }

        if (string.IsNullOrEmpty(command.Rule))
        {
            return OverrideResult.Fail(OverrideError.InvalidArgument, "rule: suppress needs the name of a rule.");
        }

        if (command.Duration is not { } duration || duration <= TimeSpan.Zero)
        {
            return OverrideResult.Fail(OverrideError.InvalidArgument, "duration: suppress needs a positive duration.");
        }

        var rule = Array.Find(_rules, r => string.Equals(r.Spec.Name, command.Rule, StringComparison.Ordinal));
        if (rule is null)
        {
            var names = string.Join(", ", _rules.Select(r => r.Spec.Name));
            return OverrideResult.Fail(OverrideError.InvalidArgument, $"rule: gate {Id} has no rule '{command.Rule}' (its rules: {names}).");
        }

        rule.SuppressedUntilMicros = now + EventTime.FromTimeSpan(duration);
        rule.SuppressedBy = command.Actor;
        rule.Status = RuleStatus.Suppressed;
        rule.BreachedSinceMicros = -1;
        // The decision repeats what the gate is doing (a controller must not read a suppression as a pause);
        // the override's kind says it was a suppression.
        var action = Phase switch
        {
            GatePhase.Holding => DecisionAction.Hold,
            GatePhase.Paused => DecisionAction.Pause,
            GatePhase.RolledBack => DecisionAction.Rollback,
            _ => DecisionAction.Resume,
        };
        return Ok(Enter(Phase, action, now, $"{who}; rule '{rule.Spec.Name}' suppressed for {Format(duration)}.", by));
    }

    private OverrideResult Illegal(OverrideCommand command, string why) =>
        OverrideResult.Fail(OverrideError.IllegalTransition, $"Cannot {command.Kind.ToString().ToLowerInvariant()} gate {Id} in phase {Phase}: {why}.");

    private static OverrideResult Ok(GateDecision decision) => new(decision, OverrideError.None, decision.Reason);
}
