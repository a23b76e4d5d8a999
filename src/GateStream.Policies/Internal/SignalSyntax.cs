using System.Globalization;
using GateStream.Core.Policies;

namespace GateStream.Policies.Internal;

/// <summary>
/// The signal names policy files use: <c>error-rate</c>, <c>success-rate</c>, <c>latency-p99</c> (any quantile,
/// <c>latency-p99.9</c>), <c>throughput</c>, <c>throughput-drop</c>, <c>metric:&lt;name&gt;</c> with an optional
/// aggregation suffix <c>metric:&lt;name&gt;(max)</c>, the form <see cref="SignalSpec.ToString"/> prints.
/// </summary>
internal static class SignalSyntax
{
    public const string MetricPrefix = "metric:";

    public static readonly string[] Examples =
        ["error-rate", "success-rate", "latency-p50", "latency-p95", "latency-p99", "latency-p99.9", "throughput", "throughput-drop", "metric:<name>"];

    public static readonly (string Name, MetricAggregation Value)[] Aggregations =
    [
        ("last", MetricAggregation.Last),
        ("min", MetricAggregation.Min),
        ("max", MetricAggregation.Max),
        ("mean", MetricAggregation.Mean),
        ("rate", MetricAggregation.Rate),
        ("sum", MetricAggregation.Sum),
    ];

    /// <summary>Parses a signal name; <paramref name="explicitAggregation"/> is set when a metric names its own aggregation.</summary>
    public static bool TryParse(string text, out SignalSpec signal, out bool explicitAggregation, out string error)
    {
        signal = SignalSpec.ErrorRate;
        explicitAggregation = false;
        error = "";
        switch (text)
        {
            case "error-rate":
                return true;
            case "success-rate":
                signal = SignalSpec.SuccessRate;
                return true;
            case "throughput":
                signal = SignalSpec.Throughput;
                return true;
            case "throughput-drop":
                signal = SignalSpec.ThroughputDrop;
                return true;
        }

        if (text.StartsWith("latency-p", StringComparison.Ordinal))
        {
            var percentile = text["latency-p".Length..];
            if (!decimal.TryParse(percentile, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var p) || percentile.StartsWith('.'))
            {
                error = $"'{text}' is not a latency signal: write latency-p followed by a percentile, e.g. latency-p95 or latency-p99.9";
                return false;
            }

            if (p <= 0 || p >= 100)
            {
                error = $"'{text}' has quantile {(p / 100).ToString(CultureInfo.InvariantCulture)}, which must be above 0 and below 1 (a percentile above 0 and below 100)";
                return false;
            }

            signal = SignalSpec.LatencyAt((double)(p / 100));
            return true;
        }

        if (text.StartsWith(MetricPrefix, StringComparison.Ordinal))
        {
            var name = text[MetricPrefix.Length..];
            var aggregation = MetricAggregation.Last;
            var open = name.IndexOf('(', StringComparison.Ordinal);
            if (open >= 0)
            {
                if (!name.EndsWith(')'))
                {
                    error = $"'{text}' has an unclosed '(': write metric:<name>(<aggregation>), e.g. metric:queue_depth(max)";
                    return false;
                }

                var written = name[(open + 1)..^1];
                var match = Array.FindIndex(Aggregations, a => string.Equals(a.Name, written, StringComparison.Ordinal));
                if (match < 0)
                {
                    error = $"'{text}' has aggregation '{written}', which must be one of {string.Join(", ", Aggregations.Select(a => a.Name))}";
                    return false;
                }

                aggregation = Aggregations[match].Value;
                explicitAggregation = true;
                name = name[..open];
            }

            if (!IsMetricName(name))
            {
                error = $"'{text}' does not name a metric: after 'metric:' write a name of letters, digits, '_', '.', '-' or '/', starting with a letter or '_'";
                return false;
            }

            signal = SignalSpec.MetricOf(name, aggregation);
            return true;
        }

        error = $"unknown signal '{text}': expected one of {string.Join(", ", Examples)}";
        if (Suggestions.Closest(text, Examples) is { } hint)
        {
            error += $"; did you mean '{hint}'?";
            return false;
        }

        return false;
    }

    private static bool IsMetricName(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] == '_'))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-' or '/' or ':'))
            {
                return false;
            }
        }

        return true;
    }
}
