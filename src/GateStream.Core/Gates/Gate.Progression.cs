using System.Globalization;
using System.Text;
using GateStream.Core.Policies;
using GateStream.Core.Time;

namespace GateStream.Core.Gates;

public sealed partial class Gate
{
    private long _passingSinceMicros = -1;
    private long _clearSinceMicros = -1;

    /// <summary>
    /// A person's hold (OverrideKind.Hold): until this time the gate stays HOLDING whatever its rules say; after it, the
    /// hold releases at the first evaluation with no rule firing. -1 when no person holds the gate.
    /// </summary>
    private long _heldUntilMicros = -1;
    private int _weightBeforeRollback;
    private long _insufficientSinceMicros = -1;

    /// <summary>
    /// Evaluates the gate at <paramref name="nowMicros"/> and returns the decision it takes, or null when nothing
    /// changes. Steady state allocates nothing; a decision allocates its record and evidence.
    /// </summary>
    internal GateDecision? Tick(Ingest.Shard shard, long nowMicros)
    {
        if (IsFinished)
        {
            return null;
        }

        if (Policy.Flagger is { } flagger)
        {
            if (_awaiting is not null)
            {
                // A check waits on a webhook answer: it resumes once the answer is in, and no other check starts meanwhile.
                if (_awaitedResult is null)
                {
                    SampleHistories(shard, nowMicros);
                    return null;
                }

                var every = EventTime.FromTimeSpan(flagger.Interval);
                if (NextCheckMicros <= nowMicros)
                {
                    NextCheckMicros += ((nowMicros - NextCheckMicros) / every + 1) * every;
                }

                EvaluateRules(shard, nowMicros);
                return FlaggerCheck(flagger, nowMicros);
            }

            if (nowMicros < NextCheckMicros)
            {
                // Between checks only the count history moves, so a check's window is complete.
                SampleHistories(shard, nowMicros);
                return null;
            }

            // One check per interval, on the interval's grid (a late tick does not shift later checks).
            var interval = EventTime.FromTimeSpan(flagger.Interval);
            NextCheckMicros += ((nowMicros - NextCheckMicros) / interval + 1) * interval;
            EvaluateRules(shard, nowMicros);
            return FlaggerCheck(flagger, nowMicros);
        }

        EvaluateRules(shard, nowMicros);
        return NativeStep(nowMicros);
    }

    private GateDecision? NativeStep(long now)
    {
        var firing = MostSevereFiring(out var cause);
        switch (Phase)
        {
            case GatePhase.Paused:
                return firing == GateAction.Rollback ? RollBack(now, Describe(cause!)) : null;

            case GatePhase.Holding:
                if (firing == GateAction.Rollback)
                {
                    return RollBack(now, Describe(cause!));
                }

                if (firing == GateAction.Pause)
                {
                    return Enter(GatePhase.Paused, DecisionAction.Pause, now, $"{Describe(cause!)}; pausing at weight {Weight} for a person to decide.");
                }

                if (firing == GateAction.Hold || HeldByPerson(now))
                {
                    _clearSinceMicros = -1;
                    return null;
                }

                if (_heldUntilMicros >= 0)
                {
                    // A person's hold has run its length and no rule is firing: it releases now, without releaseAfter's
                    // further wait (that wait is the hold's default length).
                    _heldUntilMicros = -1;
                    ResetProgressClock(now);
                    return Enter(GatePhase.Progressing, DecisionAction.Resume, now,
                        $"Hold released: the hold a person asked for has run its length and no rule is firing; resuming at weight {Weight}.");
                }

                if (_clearSinceMicros < 0)
                {
                    _clearSinceMicros = now;
                }

                if (now - _clearSinceMicros < EventTime.FromTimeSpan(Policy.ReleaseAfter))
                {
                    return null;
                }

                ResetProgressClock(now);
                return Enter(GatePhase.Progressing, DecisionAction.Resume, now,
                    $"Hold released: no rule has fired for {Format(Policy.ReleaseAfter)}; resuming at weight {Weight}.");

            case GatePhase.Progressing:
                if (firing == GateAction.Rollback)
                {
                    return RollBack(now, Describe(cause!));
                }

                if (firing == GateAction.Pause)
                {
                    return Enter(GatePhase.Paused, DecisionAction.Pause, now, $"{Describe(cause!)}; pausing at weight {Weight} for a person to decide.");
                }

                if (firing == GateAction.Hold)
                {
                    _clearSinceMicros = -1;
                    return Enter(GatePhase.Holding, DecisionAction.Hold, now, $"{Describe(cause!)}; holding at weight {Weight}.");
                }

                return EvidenceDeadline(now) ?? MaybeStep(now);

            default:
                return null;
        }
    }

    private GateDecision? MaybeStep(long now)
    {
        if (!AllPassing())
        {
            _passingSinceMicros = -1;
            return null;
        }

        if (_passingSinceMicros < 0)
        {
            _passingSinceMicros = now;
        }

        var interval = EventTime.FromTimeSpan(Policy.Progression.StepInterval);
        if (now - _passingSinceMicros < interval || now - LastStepMicros < interval)
        {
            return null;
        }

        return Step(now, $"Every rule passed for {Format(Policy.Progression.StepInterval)}");
    }

    /// <summary>Advances the weight one step (or promotes fully after the last one).</summary>
    private GateDecision Step(long now, string why, OverrideInfo? by = null)
    {
        var from = Weight;
        var next = Policy.Progression.NextAnalysisWeight(Weight) ?? Policy.Progression.NextPromotionWeight(Weight);
        Weight = next;
        ResetProgressClock(now);
        var phase = next >= 100 ? GatePhase.Succeeded : GatePhase.Progressing;
        var reason = next >= 100 ? $"{why}; promoted fully (weight {from} -> 100)." : $"{why}; weight {from} -> {next}.";
        return Enter(phase, DecisionAction.Promote, now, reason, by);
    }

    /// <summary>
    /// One Flagger analysis iteration, as Flagger's scheduler runs it: <c>skipAnalysis</c> promotes; confirm-rollout
    /// hooks must approve before anything else; a canary that served nothing for <c>progressDeadlineSeconds</c> is rolled
    /// back; a rollback hook answering 200-202 rolls back; the first iteration runs pre-rollout hooks and no analysis;
    /// later ones run rollout hooks, then the metrics. A failed hook, a metric out of range or with no values is a failed
    /// check, which keeps the current weight until the failed checks reach the threshold. A passing check advances:
    /// the iteration count (blue/green, A/B) or the weight (after confirm-traffic-increase), and promotes after
    /// confirm-promotion. Where a stage has webhooks the check waits for their answers (<see cref="RunStage"/>).
    /// </summary>
    private GateDecision? FlaggerCheck(FlaggerAnalysisSpec flagger, long now)
    {
        var decision = FlaggerStages(flagger, now);
        if (_awaiting is null)
        {
            EndCheck();
        }

        return decision;
    }

    private GateDecision? FlaggerStages(FlaggerAnalysisSpec flagger, long now)
    {
        if (Phase is not (GatePhase.Progressing or GatePhase.Holding))
        {
            _awaiting = null;
            _awaitedResult = null;
            return null;
        }

        if (flagger.SkipAnalysis)
        {
            var from = Weight;
            Weight = 100;
            return Enter(GatePhase.Succeeded, DecisionAction.Promote, now, $"skipAnalysis is set: promoted fully without analysis (weight {from} -> 100).");
        }

        WebhookOutcome? hook;
        var approvedNow = false;
        if (!_rolloutConfirmed)
        {
            switch (RunStage(WebhookType.ConfirmRollout, FlaggerPhaseName(), out hook))
            {
                case StageOutcome.Waiting:
                    return null;
                case StageOutcome.Failed:
                    return WaitFor(WebhookType.ConfirmRollout, hook, now);
            }

            // Flagger scales the canary up only now: the progress deadline counts from the approval.
            _rolloutConfirmed = true;
            approvedNow = _waitingFor == WebhookType.ConfirmRollout;
            _waitingFor = null;
            _lastCanaryRequestMicros = Math.Max(_lastCanaryRequestMicros, now);
        }

        // An analysis gated by webhooks alone reads no traffic, so no traffic is no sign of a stuck rollout there.
        var deadline = EventTime.FromTimeSpan(flagger.ProgressDeadline);
        if (_rules.Length > 0 && now - _lastCanaryRequestMicros >= deadline)
        {
            return RollBack(now, $"The canary served no request for {Format(EventTime.ToTimeSpan(now - _lastCanaryRequestMicros))}, past progressDeadlineSeconds ({Format(flagger.ProgressDeadline)}): it is not progressing");
        }

        switch (RunStage(WebhookType.Rollback, FlaggerPhaseName(), out hook))
        {
            case StageOutcome.Waiting:
                return null;
            case StageOutcome.Failed:
                return RollBack(now, $"{Describe(WebhookType.Rollback, hook)}: a rollback was asked for");
        }

        var first = flagger.UsesIterations ? _iterations == 0 : Weight == 0;
        if (first)
        {
            switch (RunStage(WebhookType.PreRollout, Progressing, out hook))
            {
                case StageOutcome.Waiting:
                    return null;
                case StageOutcome.Failed:
                    return FailedCheck(flagger, now, Describe(WebhookType.PreRollout, hook));
            }

            if (StillHeldByPerson(now))
            {
                return null; // a person's hold: checks still run and count, but the canary moves on only after it
            }

            if (flagger.UsesIterations)
            {
                _iterations = 1;
                return Phase == GatePhase.Holding
                    ? Enter(GatePhase.Progressing, DecisionAction.Resume, now, $"{(approvedNow ? "Rollout approved" : "Pre-rollout webhooks passed after failures")}; iteration 1 of {flagger.Iterations}, no analysis (as in Flagger).")
                    : null;
            }

            return Step(now, Has(WebhookType.PreRollout)
                ? "First iteration at weight 0: pre-rollout webhooks passed, no analysis (as in Flagger)"
                : "First iteration at weight 0: no analysis (as in Flagger)");
        }

        switch (RunStage(WebhookType.Rollout, Progressing, out hook))
        {
            case StageOutcome.Waiting:
                return null;
            case StageOutcome.Failed:
                return FailedCheck(flagger, now, Describe(WebhookType.Rollout, hook));
        }

        var firing = MostSevereFiring(out var cause);
        var why = cause is null ? null : Describe(cause);
        if (firing == GateAction.None && FirstWithoutEvidence() is { } empty)
        {
            // Flagger counts a metric query that returns no values as a failed check.
            firing = GateAction.Rollback;
            why = $"No values for metric '{empty.Spec.Name}' ({empty.Samples} samples over {Format(EventTime.ToTimeSpan(empty.WindowMicros))}): a failed check, as in Flagger";
        }

        if (firing != GateAction.None)
        {
            return FailedCheck(flagger, now, why!);
        }

        if (StillHeldByPerson(now))
        {
            // Held by a person: a passing check neither steps nor resumes (failed checks still count toward rollback);
            // the first passing check after the hold's length moves the canary on.
            return null;
        }

        return flagger.UsesIterations ? NextIteration(flagger, now) : NextWeight(now);
    }

    /// <summary>Whether a person's hold is still inside its length at <paramref name="now"/>.</summary>
    private bool HeldByPerson(long now) => _heldUntilMicros >= 0 && now < _heldUntilMicros;

    /// <summary>
    /// For a Flagger check that would move the canary on: whether a person's hold still stops it; a hold past its
    /// length is forgotten, so the check goes ahead.
    /// </summary>
    private bool StillHeldByPerson(long now)
    {
        if (HeldByPerson(now))
        {
            return true;
        }

        _heldUntilMicros = -1;
        return false;
    }

    /// <summary>A failed check: counted, and the canary rolls back when the count reaches the threshold.</summary>
    private GateDecision FailedCheck(FlaggerAnalysisSpec flagger, long now, string why)
    {
        FailedChecks++;
        if (FailedChecks >= flagger.Threshold)
        {
            return RollBack(now, $"{why}; failed checks {FailedChecks} of {flagger.Threshold}");
        }

        return Enter(GatePhase.Holding, DecisionAction.Hold, now,
            $"{why}; failed checks {FailedChecks} of {flagger.Threshold}, holding at weight {Weight}.");
    }

    /// <summary>Blue/green, A/B: one more iteration; once all are counted, confirm-promotion and full promotion.</summary>
    private GateDecision? NextIteration(FlaggerAnalysisSpec flagger, long now)
    {
        if (_iterations < flagger.Iterations)
        {
            _iterations++;
            return Phase == GatePhase.Holding
                ? Enter(GatePhase.Progressing, DecisionAction.Resume, now, $"Check passed after failures; iteration {_iterations} of {flagger.Iterations} at weight {Weight}.")
                : null;
        }

        switch (RunStage(WebhookType.ConfirmPromotion, Progressing, out var hook))
        {
            case StageOutcome.Waiting:
                return null;
            case StageOutcome.Failed:
                return WaitFor(WebhookType.ConfirmPromotion, hook, now);
        }

        _waitingFor = null;
        var from = Weight;
        Weight = 100;
        ResetProgressClock(now);
        return Enter(GatePhase.Succeeded, DecisionAction.Promote, now,
            $"Check passed with all {flagger.Iterations} iterations counted; promoted fully (weight {from} -> 100).");
    }

    /// <summary>Weighted canary: confirm-traffic-increase (not while waiting to promote), confirm-promotion at the last weight, then a step.</summary>
    private GateDecision? NextWeight(long now)
    {
        var progression = Policy.Progression;
        var promoting = Weight > progression.MaxWeight;
        WebhookOutcome? hook;
        if (!promoting && _waitingFor != WebhookType.ConfirmPromotion)
        {
            switch (RunStage(WebhookType.ConfirmTrafficIncrease, Progressing, out hook))
            {
                case StageOutcome.Waiting:
                    return null;
                case StageOutcome.Failed:
                    return WaitFor(WebhookType.ConfirmTrafficIncrease, hook, now);
            }
        }

        if (!promoting && progression.NextAnalysisWeight(Weight) is null)
        {
            switch (RunStage(WebhookType.ConfirmPromotion, Progressing, out hook))
            {
                case StageOutcome.Waiting:
                    return null;
                case StageOutcome.Failed:
                    return WaitFor(WebhookType.ConfirmPromotion, hook, now);
            }
        }

        var why = _waitingFor is { } waited ? $"Check passed and the {WebhookSpec.NameOf(waited)} webhooks approved"
            : Phase == GatePhase.Holding ? "Check passed after failures" : "Check passed";
        _waitingFor = null;
        return Step(now, why);
    }

    private RuleState? FirstWithoutEvidence()
    {
        foreach (var rule in _rules)
        {
            if (rule.Status == RuleStatus.InsufficientEvidence)
            {
                return rule;
            }
        }

        return null;
    }

    /// <summary>
    /// Native form: a progressing gate whose rules have lacked evidence for the policy's evidence deadline takes the
    /// policy's stated action instead of waiting forever (the controller may not be sending the canary traffic).
    /// </summary>
    private GateDecision? EvidenceDeadline(long now)
    {
        var starved = FirstWithoutEvidence();
        if (starved is null)
        {
            _insufficientSinceMicros = -1;
            return null;
        }

        if (_insufficientSinceMicros < 0)
        {
            _insufficientSinceMicros = now;
        }

        if (now - _insufficientSinceMicros < EventTime.FromTimeSpan(Policy.EvidenceDeadline))
        {
            return null;
        }

        _insufficientSinceMicros = -1;
        var why = $"Rule '{starved.Spec.Name}' has lacked evidence for {Format(Policy.EvidenceDeadline)} ({starved.Samples} of {starved.Spec.MinSamples} samples over {Format(EventTime.ToTimeSpan(starved.WindowMicros))}; observed canary share {FormatShare()}), the policy's evidenceDeadline";
        return Policy.EvidenceDeadlineAction switch
        {
            GateAction.Rollback => RollBack(now, why),
            GateAction.Hold => Enter(GatePhase.Holding, DecisionAction.Hold, now, $"{why}; holding at weight {Weight}."),
            _ => Enter(GatePhase.Paused, DecisionAction.Pause, now, $"{why}; pausing at weight {Weight} for a person to decide."),
        };
    }

    private GateDecision RollBack(long now, string why)
    {
        _weightBeforeRollback = Weight;
        Weight = 0;
        return Enter(GatePhase.RolledBack, DecisionAction.Rollback, now, $"{why}; rolling back.");
    }

    private void ResetProgressClock(long now)
    {
        LastStepMicros = now;
        _passingSinceMicros = Policy.Flagger is null ? -1 : now;
        _insufficientSinceMicros = -1;
    }

    private GateAction MostSevereFiring(out RuleState? cause)
    {
        cause = null;
        var worst = GateAction.None;
        foreach (var rule in _rules)
        {
            if (rule.IsFiring && rule.Spec.Action > worst)
            {
                worst = rule.Spec.Action;
                cause = rule;
            }
        }

        return worst;
    }

    /// <summary>Every rule passing (suppressed counts as passing): what promotion needs.</summary>
    private bool AllPassing()
    {
        foreach (var rule in _rules)
        {
            if (rule.Status is not (RuleStatus.Passing or RuleStatus.Suppressed))
            {
                return false;
            }
        }

        return true;
    }

    private GateDecision Enter(GatePhase phase, DecisionAction action, long now, string reason, OverrideInfo? by = null)
    {
        Phase = phase;
        var decision = new GateDecision
        {
            Gate = Id,
            Deployment = Deployment,
            CanaryVersion = CanaryVersion,
            BaselineVersion = BaselineVersion,
            Action = action,
            Weight = Weight,
            ObservedShare = ObservedShare,
            Phase = phase,
            Reason = reason,
            Evidence = BuildEvidence(now),
            Policy = Policy.Name,
            PolicyRevision = Policy.Revision,
            TimeMicros = now,
            Shadow = IsShadow,
            Override = by,
        };
        LastDecision = decision;
        return decision;
    }

    /// <summary>The sink gave the decision its sequence number.</summary>
    internal void Published(GateDecision decision)
    {
        LastDecision = decision;
        _weightFromTraffic = false; // the decision told the controller a weight: from now on decisions move it
        AnnounceDecision(decision);
    }
}
