using GateStream.Core.Gates;
using GateStream.Core.Policies;
using GateStream.Core.Windows;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Wire;

/// <summary>
/// Every enum of the engine against its <c>gatestream.v1</c> counterpart, both ways, value by value. The numbers of
/// the two sides are never relied on: a member added to one side and not mapped here fails the round-trip tests.
/// </summary>
/// <remarks>
/// To the wire, every engine value has a counterpart (anything else is a bug: it throws). From the wire, a value may
/// be unset or unknown (an older or newer sender): <c>TryToEngine</c> says so, and the caller refuses the input.
/// </remarks>
public static class WireEnums
{
    public static V1.Action ToWire(DecisionAction action) => action switch
    {
        DecisionAction.Promote => V1.Action.Promote,
        DecisionAction.Hold => V1.Action.Hold,
        DecisionAction.Pause => V1.Action.Pause,
        DecisionAction.Rollback => V1.Action.Rollback,
        DecisionAction.Resume => V1.Action.Resume,
        _ => throw Unmapped(action),
    };

    public static bool TryToEngine(V1.Action action, out DecisionAction value)
    {
        value = action switch
        {
            V1.Action.Promote => DecisionAction.Promote,
            V1.Action.Hold => DecisionAction.Hold,
            V1.Action.Pause => DecisionAction.Pause,
            V1.Action.Rollback => DecisionAction.Rollback,
            V1.Action.Resume => DecisionAction.Resume,
            _ => default,
        };
        return value != default;
    }

    /// <summary>A rule's action in evidence: a rule that takes none (<see cref="GateAction.None"/>) is ACTION_UNSPECIFIED.</summary>
    public static V1.Action ToWire(GateAction action) => action switch
    {
        GateAction.None => V1.Action.Unspecified,
        GateAction.Hold => V1.Action.Hold,
        GateAction.Pause => V1.Action.Pause,
        GateAction.Rollback => V1.Action.Rollback,
        _ => throw Unmapped(action),
    };

    /// <summary>A rule's action back from evidence: only hold, pause, rollback or none are rule actions.</summary>
    public static bool TryToRuleAction(V1.Action action, out GateAction value)
    {
        (value, var known) = action switch
        {
            V1.Action.Unspecified => (GateAction.None, true),
            V1.Action.Hold => (GateAction.Hold, true),
            V1.Action.Pause => (GateAction.Pause, true),
            V1.Action.Rollback => (GateAction.Rollback, true),
            _ => (GateAction.None, false),
        };
        return known;
    }

    public static V1.Phase ToWire(GatePhase phase) => phase switch
    {
        GatePhase.Progressing => V1.Phase.Progressing,
        GatePhase.Holding => V1.Phase.Holding,
        GatePhase.Paused => V1.Phase.Paused,
        GatePhase.Succeeded => V1.Phase.Succeeded,
        GatePhase.RolledBack => V1.Phase.RolledBack,
        _ => throw Unmapped(phase),
    };

    public static bool TryToEngine(V1.Phase phase, out GatePhase value)
    {
        value = phase switch
        {
            V1.Phase.Progressing => GatePhase.Progressing,
            V1.Phase.Holding => GatePhase.Holding,
            V1.Phase.Paused => GatePhase.Paused,
            V1.Phase.Succeeded => GatePhase.Succeeded,
            V1.Phase.RolledBack => GatePhase.RolledBack,
            _ => default,
        };
        return value != default;
    }

    public static V1.RuleStatus ToWire(RuleStatus status) => status switch
    {
        RuleStatus.Passing => V1.RuleStatus.Passing,
        RuleStatus.Firing => V1.RuleStatus.Firing,
        RuleStatus.InsufficientEvidence => V1.RuleStatus.InsufficientEvidence,
        RuleStatus.Suppressed => V1.RuleStatus.Suppressed,
        RuleStatus.Pending => V1.RuleStatus.Pending,
        _ => throw Unmapped(status),
    };

    public static bool TryToEngine(V1.RuleStatus status, out RuleStatus value)
    {
        value = status switch
        {
            V1.RuleStatus.Passing => RuleStatus.Passing,
            V1.RuleStatus.Firing => RuleStatus.Firing,
            V1.RuleStatus.InsufficientEvidence => RuleStatus.InsufficientEvidence,
            V1.RuleStatus.Suppressed => RuleStatus.Suppressed,
            V1.RuleStatus.Pending => RuleStatus.Pending,
            _ => default,
        };
        return value != default;
    }

    /// <summary>No bound (<see cref="BoundSide.None"/>) is BOUND_UNSPECIFIED, as decisions.proto documents.</summary>
    public static V1.Bound ToWire(BoundSide bound) => bound switch
    {
        BoundSide.None => V1.Bound.Unspecified,
        BoundSide.Upper => V1.Bound.Upper,
        BoundSide.Lower => V1.Bound.Lower,
        _ => throw Unmapped(bound),
    };

    public static bool TryToEngine(V1.Bound bound, out BoundSide value)
    {
        (value, var known) = bound switch
        {
            V1.Bound.Unspecified => (BoundSide.None, true),
            V1.Bound.Upper => (BoundSide.Upper, true),
            V1.Bound.Lower => (BoundSide.Lower, true),
            _ => (BoundSide.None, false),
        };
        return known;
    }

    public static V1.OverrideKind ToWire(OverrideKind kind) => kind switch
    {
        OverrideKind.Promote => V1.OverrideKind.Promote,
        OverrideKind.PromoteFull => V1.OverrideKind.PromoteFull,
        OverrideKind.Hold => V1.OverrideKind.Hold,
        OverrideKind.Pause => V1.OverrideKind.Pause,
        OverrideKind.Resume => V1.OverrideKind.Resume,
        OverrideKind.Rollback => V1.OverrideKind.Rollback,
        OverrideKind.SuppressRule => V1.OverrideKind.SuppressRule,
        _ => throw Unmapped(kind),
    };

    public static bool TryToEngine(V1.OverrideKind kind, out OverrideKind value)
    {
        value = kind switch
        {
            V1.OverrideKind.Promote => OverrideKind.Promote,
            V1.OverrideKind.PromoteFull => OverrideKind.PromoteFull,
            V1.OverrideKind.Hold => OverrideKind.Hold,
            V1.OverrideKind.Pause => OverrideKind.Pause,
            V1.OverrideKind.Resume => OverrideKind.Resume,
            V1.OverrideKind.Rollback => OverrideKind.Rollback,
            V1.OverrideKind.SuppressRule => OverrideKind.SuppressRule,
            _ => default,
        };
        return value != default;
    }

    public static V1.GateMode ToWire(PolicyMode mode) => mode switch
    {
        PolicyMode.Enforce => V1.GateMode.Enforce,
        PolicyMode.Shadow => V1.GateMode.Shadow,
        _ => throw Unmapped(mode),
    };

    public static bool TryToEngine(V1.GateMode mode, out PolicyMode value)
    {
        (value, var known) = mode switch
        {
            V1.GateMode.Enforce => (PolicyMode.Enforce, true),
            V1.GateMode.Shadow => (PolicyMode.Shadow, true),
            _ => (PolicyMode.Enforce, false),
        };
        return known;
    }

    public static V1.GateOwnership ToWire(DeploymentOwnership ownership) => ownership switch
    {
        DeploymentOwnership.Owned => V1.GateOwnership.Owned,
        DeploymentOwnership.WarmingUp => V1.GateOwnership.WarmingUp,
        DeploymentOwnership.NotOwned => V1.GateOwnership.NotOwned,
        _ => throw Unmapped(ownership),
    };

    public static bool TryToEngine(V1.GateOwnership ownership, out DeploymentOwnership value)
    {
        (value, var known) = ownership switch
        {
            V1.GateOwnership.Owned => (DeploymentOwnership.Owned, true),
            V1.GateOwnership.WarmingUp => (DeploymentOwnership.WarmingUp, true),
            V1.GateOwnership.NotOwned => (DeploymentOwnership.NotOwned, true),
            _ => (DeploymentOwnership.Owned, false),
        };
        return known;
    }

    public static V1.MetricKind ToWire(MetricKind kind) => kind switch
    {
        MetricKind.Gauge => V1.MetricKind.Gauge,
        MetricKind.SumDelta => V1.MetricKind.SumDelta,
        MetricKind.SumCumulative => V1.MetricKind.SumCumulative,
        _ => throw Unmapped(kind),
    };

    public static bool TryToEngine(V1.MetricKind kind, out MetricKind value)
    {
        value = kind switch
        {
            V1.MetricKind.Gauge => MetricKind.Gauge,
            V1.MetricKind.SumDelta => MetricKind.SumDelta,
            V1.MetricKind.SumCumulative => MetricKind.SumCumulative,
            _ => default,
        };
        return value != default;
    }

    private static ArgumentOutOfRangeException Unmapped<T>(T value)
        where T : struct, Enum =>
        new(nameof(value), value, $"{typeof(T).Name}.{value} has no gatestream.v1 counterpart: map it in {nameof(WireEnums)}.");
}
