using GateStream.Shared;
using GateStream.Core.Gates;
using GateStream.Daemon.Engine;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Kafka;

/// <summary>A decision read back from the decisions topic, as the engine's type (the same mapping the decision log's restore uses).</summary>
internal static class DecisionProto
{
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
            TimeMicros = DecisionMapper.MicrosOf(d.Time),
            Shadow = d.Shadow,
            Override = d.Override is { } o ? new OverrideInfo(o.Actor, (OverrideKind)(int)o.Kind, o.Reason, o.Rule, o.Duration?.ToTimeSpan()) : null,
        };
    }
}
