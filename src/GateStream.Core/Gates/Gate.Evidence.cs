using System.Globalization;
using System.Text;
using GateStream.Core.Policies;
using GateStream.Core.Time;

namespace GateStream.Core.Gates;

// A decision's evidence, and the words its reasons are written in.
public sealed partial class Gate
{
    /// <summary>Every rule's current evidence (as of the last evaluation), for readers such as GetGate.</summary>
    public IReadOnlyList<Evidence> CurrentEvidence(long nowMicros) => BuildEvidence(nowMicros);

    private Evidence[] BuildEvidence(long now)
    {
        var evidence = new Evidence[_rules.Length + WebhookEvidenceCount];
        for (var i = 0; i < _rules.Length; i++)
        {
            var r = _rules[i];
            evidence[i] = new Evidence
            {
                Rule = r.Spec.Name,
                Signal = r.Spec.ErrorBudget is not null ? "error-budget-consumed" : r.Spec.BurnRate is not null ? "burn-rate" : r.Spec.Signal.ToString(),
                Status = r.Status,
                Action = r.Spec.Action,
                Observed = r.Observed,
                Threshold = r.Threshold,
                Bound = r.Bound,
                Baseline = r.Baseline,
                Unit = r.Spec.ErrorBudget is not null ? "fraction of budget" : r.Spec.BurnRate is not null ? "x budget rate" : r.Spec.Signal.Unit,
                Window = EventTime.ToTimeSpan(r.WindowMicros),
                Samples = r.Samples,
                BaselineSamples = r.BaselineSamples,
                MinSamples = r.Spec.MinSamples,
                PValue = r.HasTest ? r.PValue : null,
                Confidence = r.Spec.Confidence,
                BreachedFor = r.BreachedSinceMicros < 0 ? TimeSpan.Zero : EventTime.ToTimeSpan(now - r.BreachedSinceMicros),
                ForDuration = r.Spec.For,
                Comparison = r.Spec.Threshold?.Describe() ?? (r.Spec.ErrorBudget is { } b
                    ? $"<= {ThresholdSpec.Fmt(b.MaxConsumed)} of the {Format(b.Period)} budget within {Format(b.Within)}"
                    : r.Spec.BurnRate is { } br ? $"burn rate over both windows <= factor (SLO {ThresholdSpec.Fmt(br.Slo)})" : ""),
                SuppressedUntilMicros = r.SuppressedUntilMicros == long.MinValue ? null : r.SuppressedUntilMicros,
            };
        }

        WriteWebhookEvidence(evidence.AsSpan(_rules.Length));
        return evidence;
    }

    private static string Describe(RuleState rule)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"Rule '{rule.Spec.Name}' fired: ");
        if (rule.Spec.ErrorBudget is { } budget)
        {
            text.Append(CultureInfo.InvariantCulture, $"the canary consumed {Percent(rule.Observed ?? 0)} of its {Format(budget.Period)} error budget (limit {Percent(budget.MaxConsumed)} within {Format(budget.Within)})");
        }
        else if (rule.Spec.BurnRate is not null)
        {
            text.Append(CultureInfo.InvariantCulture, $"burn rate {Num(rule.Observed ?? 0)}x over both windows (factor {Num(rule.Threshold ?? 0)})");
        }
        else
        {
            text.Append(CultureInfo.InvariantCulture, $"{rule.Spec.Signal} {Num(rule.Observed ?? 0)} {(rule.Bound == BoundSide.Lower ? "<" : ">")} {Num(rule.Threshold ?? 0)}");
            if (rule.Baseline is { } baseline)
            {
                text.Append(CultureInfo.InvariantCulture, $" (baseline {Num(baseline)})");
            }

            text.Append(CultureInfo.InvariantCulture, $" over {Format(EventTime.ToTimeSpan(rule.WindowMicros))} ({rule.Samples} samples)");
            if (rule.HasTest)
            {
                text.Append(CultureInfo.InvariantCulture, $", p = {rule.PValue:0.####}");
            }
        }

        return text.ToString();
    }

    private static string Num(double v) => v.ToString("0.####", CultureInfo.InvariantCulture);

    private static string Percent(double v) => (v * 100).ToString("0.##", CultureInfo.InvariantCulture) + "%";

    internal static string Format(TimeSpan span)
    {
        if (span.TotalDays >= 1 && span.Ticks % TimeSpan.TicksPerDay == 0)
        {
            return $"{(long)span.TotalDays}d";
        }

        if (span.TotalHours >= 1 && span.Ticks % TimeSpan.TicksPerHour == 0)
        {
            return $"{(long)span.TotalHours}h";
        }

        if (span.TotalMinutes >= 1 && span.Ticks % TimeSpan.TicksPerMinute == 0)
        {
            return $"{(long)span.TotalMinutes}m";
        }

        return span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";
    }
}
