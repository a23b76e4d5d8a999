using GateStream.Core.Policies;

namespace GateStream.Core.Gates;

public sealed partial class Gate
{
    /// <summary>
    /// Everything taking a decision changes in a gate. A decision is taken on the gate first and made durable after;
    /// when the log cannot take it, the gate goes back to this point, so what readers see never runs ahead of what the
    /// log and the watchers saw, and the next tick decides again.
    /// </summary>
    /// <remarks>
    /// Rule evaluation (observed values, <c>for:</c> clocks) is an observation, not a decision, and is kept; only
    /// overrides change rule state as part of the decision (suppress, resume), so only they capture it.
    /// </remarks>
    internal readonly record struct DecisionPoint(
        GatePhase Phase,
        int Weight,
        long LastStepMicros,
        int FailedChecks,
        long NextCheckMicros,
        GateDecision? LastDecision,
        long PassingSinceMicros,
        long ClearSinceMicros,
        long HeldUntilMicros,
        int WeightBeforeRollback,
        long InsufficientSinceMicros,
        RuleState[] RulesArray,
        RulePoint[]? Rules,
        int Iterations,
        bool RolloutConfirmed,
        WebhookType? WaitingFor);

    internal readonly record struct RulePoint(RuleStatus Status, long BreachedSinceMicros, double PValue, long SuppressedUntilMicros, string? SuppressedBy);

    /// <summary>Captures the decision state; with <paramref name="withRules"/> also each rule's (allocates: overrides only).</summary>
    internal DecisionPoint Mark(bool withRules) => new(
        Phase, Weight, LastStepMicros, FailedChecks, NextCheckMicros, LastDecision, _passingSinceMicros, _clearSinceMicros,
        _heldUntilMicros, _weightBeforeRollback, _insufficientSinceMicros, _rules,
        withRules ? Array.ConvertAll(_rules, r => new RulePoint(r.Status, r.BreachedSinceMicros, r.PValue, r.SuppressedUntilMicros, r.SuppressedBy)) : null,
        _iterations, _rolloutConfirmed, _waitingFor);

    /// <summary>Puts the gate back to <paramref name="point"/>: the decision taken since was not made durable.</summary>
    internal void Undo(in DecisionPoint point)
    {
        Phase = point.Phase;
        Weight = point.Weight;
        LastStepMicros = point.LastStepMicros;
        FailedChecks = point.FailedChecks;
        NextCheckMicros = point.NextCheckMicros;
        LastDecision = point.LastDecision;
        _passingSinceMicros = point.PassingSinceMicros;
        _clearSinceMicros = point.ClearSinceMicros;
        _heldUntilMicros = point.HeldUntilMicros;
        _weightBeforeRollback = point.WeightBeforeRollback;
        _insufficientSinceMicros = point.InsufficientSinceMicros; // the evidence deadline's clock, reset by its decision
        (_iterations, _rolloutConfirmed, _waitingFor) = (point.Iterations, point.RolloutConfirmed, point.WaitingFor);
        if (point.Rules is { } rules && ReferenceEquals(point.RulesArray, _rules))
        {
            for (var i = 0; i < rules.Length; i++)
            {
                var rule = _rules[i];
                (rule.Status, rule.BreachedSinceMicros, rule.PValue, rule.SuppressedUntilMicros, rule.SuppressedBy) =
                    (rules[i].Status, rules[i].BreachedSinceMicros, rules[i].PValue, rules[i].SuppressedUntilMicros, rules[i].SuppressedBy);
            }
        }
    }
}
