using System.Globalization;
using GateStream.Core.Gates;
using GateStream.Core.Policies;
using GateStream.Core.Time;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Internal;

/// <summary>
/// How decisions and gates are shown: one human line per decision, or protobuf's JSON mapping (one object per line)
/// for scripts. Live decisions (watch) and replayed ones (replay) go through the same code, so the two compare.
/// </summary>
internal static class DecisionFormat
{
    /// <summary>Protobuf JSON with default values written: a rollback's <c>"weight": 0</c> is not left out.</summary>
    public static JsonFormatter Json { get; } = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    /// <summary><c>#12 2025-11-26T10:00:01.250Z checkout/v2 PROMOTE 50 Progressing: Every rule passed for 1s; weight 25 -> 50.</c></summary>
    public static string Human(V1.Decision d)
    {
        ArgumentNullException.ThrowIfNull(d);
        var shadow = d.Shadow ? " [shadow]" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"#{d.Sequence} {Time(d.Time)} {d.Gate} {ActionName(d.Action)} {d.Weight} {PhaseName(d.Phase)}{shadow}: {d.Reason}");
    }

    public static string ActionName(V1.Action action) => action switch
    {
        V1.Action.Promote => "PROMOTE",
        V1.Action.Hold => "HOLD",
        V1.Action.Pause => "PAUSE",
        V1.Action.Rollback => "ROLLBACK",
        V1.Action.Resume => "RESUME",
        _ => "UNSPECIFIED",
    };

    public static string PhaseName(V1.Phase phase) => phase switch
    {
        V1.Phase.Progressing => "Progressing",
        V1.Phase.Holding => "Holding",
        V1.Phase.Paused => "Paused",
        V1.Phase.Succeeded => "Succeeded",
        V1.Phase.RolledBack => "RolledBack",
        _ => "Unspecified",
    };

    /// <summary>ISO 8601 UTC with milliseconds; "-" when absent.</summary>
    public static string Time(Timestamp? time) => time is null ? "-" : Time(time.ToDateTimeOffset());

    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    public static string TimeOfMicros(long micros) => Time(EventTime.ToDateTimeOffset(micros));

    /// <summary>The engine's decision in wire form, exactly as the daemon maps it before logging and publishing it.</summary>
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
            Action = (V1.Action)(int)d.Action,
            Weight = (uint)d.Weight,
            Phase = (V1.Phase)(int)d.Phase,
            Reason = d.Reason,
            Policy = d.Policy,
            PolicyRevision = d.PolicyRevision,
            Time = Timestamp.FromDateTimeOffset(EventTime.ToDateTimeOffset(d.TimeMicros)),
            Shadow = d.Shadow,
        };
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
}
