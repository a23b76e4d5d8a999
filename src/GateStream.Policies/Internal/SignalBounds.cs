using GateStream.Core.Policies;
using YamlDotNet.Core;

namespace GateStream.Policies.Internal;

/// <summary>
/// Checks that absolute bounds make sense in the signal's unit, for both policy forms. Out-of-range bounds are
/// errors (a rule that can never fire, or always fires); bounds that look written in another unit are warnings.
/// </summary>
internal static class SignalBounds
{
    /// <summary>Below this, a latency bound in milliseconds was almost certainly meant in seconds.</summary>
    public const double SuspiciousLatencyMs = 5;

    public readonly record struct Bound(double Value, Mark At, string Path);

    public static void CheckAbsolute(SignalSpec signal, Bound? min, Bound? max, string signalName, ProblemSink problems)
    {
        foreach (var bound in new[] { min, max })
        {
            if (bound is { } b)
            {
                CheckRange(signal, b, signalName, problems);
            }
        }

        if (min is { } lo && max is { } hi && lo.Value > hi.Value)
        {
            problems.Error(lo.At, $"{lo.Path} {Scalars.Fmt(lo.Value)} is larger than {hi.Path} {Scalars.Fmt(hi.Value)}, so the rule would always fire.");
        }

        if (signal.Kind == SignalKind.Latency && max is { } m && m.Value is > 0 and < SuspiciousLatencyMs)
        {
            var ms = Scalars.Fmt(m.Value);
            problems.Warning(m.At, $"{signalName} is measured in milliseconds, so {m.Path} {ms} means {ms} ms, which almost every request exceeds; "
                + $"this looks like seconds: for {ms} s write {Scalars.Fmt(m.Value * 1000)}.");
        }

        if (signal.Kind == SignalKind.SuccessRate && min is { } s && s.Value is > 0 and <= 1)
        {
            problems.Warning(s.At, $"{signalName} is measured in percent (0 to 100), so {s.Path} {Scalars.Fmt(s.Value)} means {Scalars.Fmt(s.Value)}%; "
                + $"this looks like a ratio: for {Scalars.Fmt(s.Value * 100)}% write {Scalars.Fmt(s.Value * 100)}.");
        }
    }

    /// <summary>An allowed increase or decrease against the baseline, in the signal's unit.</summary>
    public static void CheckDifference(SignalSpec signal, Bound bound, string signalName, ProblemSink problems)
    {
        if (bound.Value < 0)
        {
            problems.Error(bound.At, $"{bound.Path} must be zero or more (it is an allowed change from the baseline), got {Scalars.Fmt(bound.Value)}.");
            return;
        }

        if (Upper(signal) is { } upper && bound.Value > upper)
        {
            problems.Error(bound.At, $"{bound.Path} {Scalars.Fmt(bound.Value)} is larger than {signalName} can ever change ({Unit(signal)}); {Example(signal)}.");
        }
    }

    private static void CheckRange(SignalSpec signal, Bound bound, string signalName, ProblemSink problems)
    {
        var v = bound.Value;
        if (signal.Kind == SignalKind.Metric)
        {
            return;
        }

        if (v < 0)
        {
            problems.Error(bound.At, $"{bound.Path} must be zero or more for {signalName} ({Unit(signal)}), got {Scalars.Fmt(v)}.");
        }
        else if (Upper(signal) is { } upper && v > upper)
        {
            problems.Error(bound.At, $"{bound.Path} {Scalars.Fmt(v)} is out of range for {signalName}, which is {Unit(signal)}; {Example(signal)}.");
        }
    }

    private static double? Upper(SignalSpec signal) => signal.Kind switch
    {
        SignalKind.ErrorRate or SignalKind.ThroughputDrop => 1,
        SignalKind.SuccessRate => 100,
        _ => null,
    };

    private static string Unit(SignalSpec signal) => signal.Kind switch
    {
        SignalKind.ErrorRate => "a ratio from 0 to 1",
        SignalKind.ThroughputDrop => "a fraction from 0 to 1",
        SignalKind.SuccessRate => "a percentage from 0 to 100",
        SignalKind.Latency => "milliseconds",
        SignalKind.Throughput => "requests per second",
        _ => "the metric's own unit",
    };

    private static string Example(SignalSpec signal) => signal.Kind switch
    {
        SignalKind.ErrorRate => "for 5% write 0.05",
        SignalKind.ThroughputDrop => "for 20% less traffic than the weight predicts write 0.2",
        SignalKind.SuccessRate => "for 99% write 99",
        _ => "",
    };
}
