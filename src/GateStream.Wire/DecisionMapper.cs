using GateStream.Core.Gates;
using GateStream.Core.Time;
using Google.Protobuf.WellKnownTypes;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Wire;

/// <summary>
/// The engine's decisions and gates in their wire form (what the decision log stores, the stream sends and the CLI
/// prints), and logged decisions back as the engine's, to restore a gate. Live decisions and replayed ones go through
/// here alike.
/// </summary>
public static class DecisionMapper
{
    public static V1.Decision ToProto(GateDecision d)
    {
        ArgumentNullException.ThrowIfNull(d);
        var proto = new V1.Decision
        {
            Sequence = d.Sequence,
            Gate = d.Gate,
            Deployment = d.Deployment,
            CanaryVersion = d.CanaryVersion,
            BaselineVersion = d.BaselineVersion,
            Action = WireEnums.ToWire(d.Action),
            Weight = (uint)d.Weight,
            Phase = WireEnums.ToWire(d.Phase),
            Reason = d.Reason,
            Policy = d.Policy,
            PolicyRevision = d.PolicyRevision,
            Time = TimestampOf(d.TimeMicros),
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
                Kind = WireEnums.ToWire(o.Kind),
                Reason = o.Reason,
                Rule = o.Rule ?? "",
                Duration = o.Duration is { } span ? Duration.FromTimeSpan(span) : null,
            };
        }

        return proto;
    }

    public static V1.Evidence ToProto(Evidence e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var proto = new V1.Evidence
        {
            Rule = e.Rule,
            Signal = e.Signal,
            Status = WireEnums.ToWire(e.Status),
            Action = WireEnums.ToWire(e.Action),
            Bound = WireEnums.ToWire(e.Bound),
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
            proto.SuppressedUntil = TimestampOf(until);
        }

        return proto;
    }

    public static V1.Gate ToProto(GateView g)
    {
        ArgumentNullException.ThrowIfNull(g);
        var proto = new V1.Gate
        {
            Id = g.Id,
            Deployment = g.Deployment,
            BaselineVersion = g.BaselineVersion,
            CanaryVersion = g.CanaryVersion,
            Policy = g.Policy,
            PolicyRevision = g.PolicyRevision,
            Mode = WireEnums.ToWire(g.Mode),
            Phase = WireEnums.ToWire(g.Phase),
            Weight = (uint)g.Weight,
            StartedTime = TimestampOf(g.StartedMicros),
            StartedBy = g.StartedBy,
            LastDecisionSequence = g.LastDecisionSequence,
            Ownership = WireEnums.ToWire(g.Ownership),
        };
        if (g.ObservedShare is { } share)
        {
            proto.ObservedShare = share;
        }

        if (g.LastDecisionTimeMicros > 0)
        {
            proto.LastDecisionTime = TimestampOf(g.LastDecisionTimeMicros);
        }

        proto.FiringRules.Add(g.FiringRules);
        foreach (var s in g.Suppressions)
        {
            proto.Suppressions.Add(new V1.Suppression
            {
                Rule = s.Rule,
                Until = TimestampOf(s.UntilMicros),
                Actor = s.Actor,
            });
        }

        return proto;
    }

    /// <summary>
    /// A logged or published decision back as the engine's type (restore from the log or the decisions topic).
    /// False, with the field and value named, when it carries a value this build does not know.
    /// </summary>
    public static bool TryToGateDecision(V1.Decision d, out GateDecision decision, out string problem)
    {
        ArgumentNullException.ThrowIfNull(d);
        decision = null!;
        if (!WireEnums.TryToEngine(d.Action, out var action))
        {
            problem = Unknown(d, "action", d.Action);
            return false;
        }

        if (!WireEnums.TryToEngine(d.Phase, out var phase))
        {
            problem = Unknown(d, "phase", d.Phase);
            return false;
        }

        OverrideInfo? overrideInfo = null;
        if (d.Override is { } o)
        {
            if (!WireEnums.TryToEngine(o.Kind, out var kind))
            {
                problem = Unknown(d, "override.kind", o.Kind);
                return false;
            }

            overrideInfo = new OverrideInfo(o.Actor, kind, o.Reason, o.Rule.Length == 0 ? null : o.Rule, o.Duration?.ToTimeSpan());
        }

        var evidence = new Evidence[d.Evidence.Count];
        for (var i = 0; i < evidence.Length; i++)
        {
            if (!TryToEvidence(d.Evidence[i], out evidence[i], out var why))
            {
                problem = $"decision {d.Sequence} ({d.Gate}): evidence[{i}].{why}";
                return false;
            }
        }

        decision = new GateDecision
        {
            Sequence = d.Sequence,
            Gate = d.Gate,
            Deployment = d.Deployment,
            CanaryVersion = d.CanaryVersion,
            BaselineVersion = d.BaselineVersion,
            Action = action,
            Weight = (int)Math.Min(d.Weight, 100u),
            Phase = phase,
            Reason = d.Reason,
            Evidence = evidence,
            Policy = d.Policy,
            PolicyRevision = d.PolicyRevision,
            TimeMicros = MicrosOf(d.Time),
            Shadow = d.Shadow,
            ObservedShare = d.HasObservedShare ? d.ObservedShare : null,
            Override = overrideInfo,
        };
        problem = "";
        return true;
    }

    /// <summary>What a gate's latest decision says about it, to continue it elsewhere or after a restart.</summary>
    /// <returns>False, with why, when the decision carries a value this build does not know: the gate is not restored.</returns>
    public static bool TryToSnapshot(V1.Decision latest, long startedMicros, out GateSnapshot snapshot, out string problem)
    {
        ArgumentNullException.ThrowIfNull(latest);
        if (!TryToGateDecision(latest, out var decision, out problem))
        {
            snapshot = null!;
            return false;
        }

        snapshot = new GateSnapshot(
            decision.Deployment, decision.BaselineVersion, decision.CanaryVersion, decision.Policy,
            decision.Phase, decision.Weight, startedMicros, "restored", decision);
        return true;
    }

    public static long MicrosOf(Timestamp? time) => time is null ? 0 : EventTime.FromDateTimeOffset(time.ToDateTimeOffset());

    public static Timestamp TimestampOf(long micros) => Timestamp.FromDateTimeOffset(EventTime.ToDateTimeOffset(micros));

    private static bool TryToEvidence(V1.Evidence e, out Evidence evidence, out string problem)
    {
        evidence = null!;
        if (!WireEnums.TryToEngine(e.Status, out var status))
        {
            problem = $"status: {WireNames.ProtoName(e.Status)} is not known here";
            return false;
        }

        if (!WireEnums.TryToRuleAction(e.Action, out var action))
        {
            problem = $"action: {WireNames.ProtoName(e.Action)} is not a rule's action";
            return false;
        }

        if (!WireEnums.TryToEngine(e.Bound, out var bound))
        {
            problem = $"bound: {WireNames.ProtoName(e.Bound)} is not known here";
            return false;
        }

        evidence = new Evidence
        {
            Rule = e.Rule,
            Signal = e.Signal,
            Status = status,
            Action = action,
            Observed = e.HasObserved ? e.Observed : null,
            Threshold = e.HasThreshold ? e.Threshold : null,
            Bound = bound,
            Baseline = e.HasBaseline ? e.Baseline : null,
            Unit = e.Unit,
            Window = e.Window?.ToTimeSpan() ?? TimeSpan.Zero,
            Samples = (long)Math.Min(e.Samples, long.MaxValue),
            BaselineSamples = (long)Math.Min(e.BaselineSamples, long.MaxValue),
            MinSamples = (long)Math.Min(e.MinSamples, long.MaxValue),
            PValue = e.HasPValue ? e.PValue : null,
            Confidence = e.HasConfidence ? e.Confidence : null,
            BreachedFor = e.BreachedFor?.ToTimeSpan() ?? TimeSpan.Zero,
            ForDuration = e.ForDuration?.ToTimeSpan() ?? TimeSpan.Zero,
            Comparison = e.Comparison,
            SuppressedUntilMicros = e.SuppressedUntil is { } until ? MicrosOf(until) : null,
        };
        problem = "";
        return true;
    }

    private static string Unknown<T>(V1.Decision d, string field, T value)
        where T : struct, System.Enum => $"decision {d.Sequence} ({d.Gate}): {field} {WireNames.ProtoName(value)} is not known here";
}
