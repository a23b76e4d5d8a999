using GateStream.Core.Gates;
using GateStream.Core.Policies;
using GateStream.Core.Time;
using Google.Protobuf.WellKnownTypes;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Shared;

/// <summary>
/// Translates the engine's decisions and gates to the wire contract (the log stores the wire form). One source file,
/// compiled into the daemon and the CLI, so a replayed decision is mapped exactly as a live one.
/// </summary>
internal static class DecisionMapper
{
    public static V1.Decision ToProto(GateDecision d)
    {
        var proto = new V1.Decision
        {
            Sequence = d.Sequence,
            Gate = d.Gate,
            Deployment = d.Deployment,
            CanaryVersion = d.CanaryVersion,
            BaselineVersion = d.BaselineVersion,
            Action = (V1.Action)(int)d.Action,
            Weight = (uint)d.Weight,
            Phase = (V1.Phase)(int)d.Phase,
            Reason = d.Reason,
            Policy = d.Policy,
            PolicyRevision = d.PolicyRevision,
            Time = Timestamp.FromDateTimeOffset(EventTime.ToDateTimeOffset(d.TimeMicros)),
            Shadow = d.Shadow,
        };
        if (d.ObservedShare is { } share)
        {
            proto.ObservedShare = share;
        }

        foreach (var e in d.Evidence)
        {
            proto.Evidence.Add(ToProto(e));
        }

        if (d.Override is { } o)
        {
            proto.Override = new V1.Override
            {
                Actor = o.Actor,
                Kind = (V1.OverrideKind)(int)o.Kind,
                Reason = o.Reason,
                Rule = o.Rule ?? "",
                Duration = o.Duration is { } span ? Duration.FromTimeSpan(span) : null,
            };
        }

        return proto;
    }

    private static V1.Evidence ToProto(Evidence e)
    {
        var proto = new V1.Evidence
        {
            Rule = e.Rule,
            Signal = e.Signal,
            Status = (V1.RuleStatus)(int)e.Status,
            Action = e.Action switch
            {
                GateAction.Hold => V1.Action.Hold,
                GateAction.Pause => V1.Action.Pause,
                GateAction.Rollback => V1.Action.Rollback,
                _ => V1.Action.Unspecified,
            },
            Bound = (V1.Bound)(int)e.Bound,
            Unit = e.Unit,
            Window = Duration.FromTimeSpan(e.Window),
            Samples = (ulong)Math.Max(0, e.Samples),
            BaselineSamples = (ulong)Math.Max(0, e.BaselineSamples),
            MinSamples = (ulong)Math.Max(0, e.MinSamples),
            BreachedFor = Duration.FromTimeSpan(e.BreachedFor),
            ForDuration = Duration.FromTimeSpan(e.ForDuration),
            Comparison = e.Comparison,
        };
        if (e.Observed is { } observed)
        {
            proto.Observed = observed;
        }

        if (e.Threshold is { } threshold)
        {
            proto.Threshold = threshold;
        }

        if (e.Baseline is { } baseline)
        {
            proto.Baseline = baseline;
        }

        if (e.PValue is { } p)
        {
            proto.PValue = p;
        }

        if (e.Confidence is { } c)
        {
            proto.Confidence = c;
        }

        if (e.SuppressedUntilMicros is { } until)
        {
            proto.SuppressedUntil = Timestamp.FromDateTimeOffset(EventTime.ToDateTimeOffset(until));
        }

        return proto;
    }

    public static V1.Gate ToProto(GateView g)
    {
        var proto = new V1.Gate
        {
            Id = g.Id,
            Deployment = g.Deployment,
            BaselineVersion = g.BaselineVersion,
            CanaryVersion = g.CanaryVersion,
            Policy = g.Policy,
            PolicyRevision = g.PolicyRevision,
            Mode = g.Mode == PolicyMode.Shadow ? V1.GateMode.Shadow : V1.GateMode.Enforce,
            Phase = (V1.Phase)(int)g.Phase,
            Weight = (uint)g.Weight,
            StartedTime = Timestamp.FromDateTimeOffset(EventTime.ToDateTimeOffset(g.StartedMicros)),
            StartedBy = g.StartedBy,
            LastDecisionSequence = g.LastDecisionSequence,
            Ownership = (V1.GateOwnership)((int)g.Ownership + 1),
        };
        if (g.ObservedShare is { } share)
        {
            proto.ObservedShare = share;
        }

        if (g.LastDecisionTimeMicros > 0)
        {
            proto.LastDecisionTime = Timestamp.FromDateTimeOffset(EventTime.ToDateTimeOffset(g.LastDecisionTimeMicros));
        }

        proto.FiringRules.Add(g.FiringRules);
        foreach (var s in g.Suppressions)
        {
            proto.Suppressions.Add(new V1.Suppression
            {
                Rule = s.Rule,
                Until = Timestamp.FromDateTimeOffset(EventTime.ToDateTimeOffset(s.UntilMicros)),
                Actor = s.Actor,
            });
        }

        return proto;
    }

    /// <summary>A logged or published decision back as the engine's type (restore from the log or the decisions topic).</summary>
    public static GateDecision ToGateDecision(V1.Decision d)
    {
        ArgumentNullException.ThrowIfNull(d);
        return new()
        {
            Sequence = d.Sequence,
            Gate = d.Gate,
            Deployment = d.Deployment,
            CanaryVersion = d.CanaryVersion,
            BaselineVersion = d.BaselineVersion,
            Action = (DecisionAction)(int)d.Action,
            Weight = (int)d.Weight,
            Phase = (GatePhase)(int)d.Phase,
            Reason = d.Reason,
            Policy = d.Policy,
            PolicyRevision = d.PolicyRevision,
            TimeMicros = MicrosOf(d.Time),
            Shadow = d.Shadow,
            ObservedShare = d.HasObservedShare ? d.ObservedShare : null,
            Override = d.Override is { } o ? new OverrideInfo(o.Actor, (OverrideKind)(int)o.Kind, o.Reason, o.Rule, o.Duration?.ToTimeSpan()) : null,
        };
    }

    /// <summary>What a gate's latest decision says about it, to continue it elsewhere or after a restart.</summary>
    public static GateSnapshot ToSnapshot(V1.Decision latest, long startedMicros)
    {
        ArgumentNullException.ThrowIfNull(latest);
        return new GateSnapshot(
            latest.Deployment, latest.BaselineVersion, latest.CanaryVersion, latest.Policy,
            (GatePhase)(int)latest.Phase, (int)latest.Weight, startedMicros, "restored", ToGateDecision(latest));
    }

    public static long MicrosOf(Timestamp? time) => time is null ? 0 : EventTime.FromDateTimeOffset(time.ToDateTimeOffset());
}
