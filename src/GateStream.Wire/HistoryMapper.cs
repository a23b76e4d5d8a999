using GateStream.Core.Gates;
using GateStream.Core.Time;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Wire;

/// <summary>A gate's chart history (<see cref="GateHistory"/>) in its wire form, as parallel arrays.</summary>
public static class HistoryMapper
{
    public static V1.GateHistory ToProto(string gateId, IReadOnlyList<HistoryPoint> points)
    {
        ArgumentNullException.ThrowIfNull(points);
        var proto = new V1.GateHistory { Gate = gateId };
        foreach (var p in points)
        {
            proto.TimeUnixMs.Add(UnixMs(p.TimeMicros));
            proto.SpanMs.Add((uint)(p.SpanMicros / EventTime.MicrosPerMillisecond));
            proto.CanaryRequests.Add((uint)p.CanaryRequests);
            proto.CanaryErrors.Add((uint)p.CanaryErrors);
            proto.BaselineRequests.Add((uint)p.BaselineRequests);
            proto.BaselineErrors.Add((uint)p.BaselineErrors);
            proto.CanaryP99Ms.Add(p.CanaryP99Ms);
            proto.BaselineP99Ms.Add(p.BaselineP99Ms);
            proto.Weight.Add((uint)Math.Max((short)0, p.Weight));
        }

        return proto;
    }

    /// <summary>Milliseconds since the Unix epoch, with the microseconds as the fraction (the engine's clock is in µs).</summary>
    public static double UnixMs(long micros) => micros / (double)EventTime.MicrosPerMillisecond;
}
