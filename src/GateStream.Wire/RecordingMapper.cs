using GateStream.Core.Gates;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Wire;

/// <summary>The gates at the start of a recording (<c>gatestream.v1.RecordingStart</c>), both ways.</summary>
public static class RecordingMapper
{
    /// <summary>What a recording starting at <paramref name="nowMicros"/> holds of the gates that are not finished.</summary>
    public static V1.RecordingStart ToStart(long nowMicros, IEnumerable<Gate> gates, ulong lastSequence)
    {
        ArgumentNullException.ThrowIfNull(gates);
        var start = new V1.RecordingStart { Time = DecisionMapper.TimestampOf(nowMicros), LastSequence = lastSequence };
        foreach (var gate in gates.Where(g => !g.IsFinished).OrderBy(g => g.Id, StringComparer.Ordinal))
        {
            var recorded = new V1.RecordedGate { Gate = DecisionMapper.ToProto(gate.View()), FailedChecks = (uint)gate.FailedChecks };
            if (gate.LastDecision is { } last)
            {
                recorded.LastDecision = DecisionMapper.ToProto(last);
            }

            start.Gates.Add(recorded);
        }

        return start;
    }

    /// <summary>A recorded gate as the engine restores it.</summary>
    /// <returns>False, with why, when the entry carries a value this build does not know: the gate is not seeded.</returns>
    public static bool TryToSnapshot(V1.RecordedGate recorded, out GateSnapshot snapshot, out string problem)
    {
        ArgumentNullException.ThrowIfNull(recorded);
        snapshot = null!;
        if (recorded.Gate is not { } gate)
        {
            problem = "a recorded gate without its gate";
            return false;
        }

        if (!WireEnums.TryToEngine(gate.Phase, out var phase))
        {
            problem = $"gate {gate.Id}: phase {WireNames.ProtoName(gate.Phase)} is not known here";
            return false;
        }

        GateDecision? last = null;
        if (recorded.LastDecision is { } decision)
        {
            if (!DecisionMapper.TryToGateDecision(decision, out var mapped, out problem))
            {
                problem = $"gate {gate.Id}: {problem}";
                return false;
            }

            last = mapped;
        }

        snapshot = new GateSnapshot(
            gate.Deployment, gate.BaselineVersion, gate.CanaryVersion, gate.Policy, phase, (int)Math.Min(gate.Weight, 100u),
            DecisionMapper.MicrosOf(gate.StartedTime), string.IsNullOrEmpty(gate.StartedBy) ? Gate.AutoStarter : gate.StartedBy, last,
            (int)Math.Min(recorded.FailedChecks, int.MaxValue));
        problem = "";
        return true;
    }
}
