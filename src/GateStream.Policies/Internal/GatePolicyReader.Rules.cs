using GateStream.Core;
using GateStream.Core.Time;
using GateStream.Core.Policies;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace GateStream.Policies.Internal;

internal static partial class GatePolicyReader
{
    /// <summary>Request signals need enough requests to mean something; a metric sample is already an aggregate.</summary>
    public const long DefaultRequestMinSamples = 100;

    public const long DefaultMetricMinSamples = 1;

    public static readonly TimeSpan DefaultWindow = Defaults.WindowLength;

    /// <summary>SLO periods are long (30d is usual); a year is the sanity limit.</summary>
    public static readonly TimeSpan MaxPeriod = TimeSpan.FromDays(366);

    private static readonly (string, GateAction)[] Actions =
    [
        ("hold", GateAction.Hold),
        ("pause", GateAction.Pause),
        ("rollback", GateAction.Rollback),
    ];

    /// <summary>Keys of a signal rule that make no sense on an errorBudget or burnRate rule.</summary>
    private static readonly string[] SignalOnlyKeys = ["aggregation", "min", "max", "baseline", "confidence", "window"];

    private static List<RuleSpec> ReadRules(MapReader spec, ObjectType objectType)
    {
        var problems = spec.Problems;
        var errorsBefore = problems.ErrorCount;
        var templatesNode = spec.Node("templates");
        var templates = templatesNode is not null && Scalars.TryBool(templatesNode, spec.PathOf("templates"), problems, out var t) && t;

        var rules = new List<RuleSpec>();
        var seen = new Dictionary<string, Mark>(StringComparer.Ordinal);
        var list = spec.List("rules");
        if (list is not null)
        {
            for (var i = 0; i < list.Children.Count; i++)
            {
                var item = list.Children[i];
                var path = $"{spec.PathOf("rules")}[{i}]";
                if (item is not YamlMappingNode map)
                {
                    problems.Error(item, $"{path} must be a mapping with name, signal (or errorBudget / burnRate) and action, got {Scalars.Describe(item)}.");
                    continue;
                }

                var reader = new MapReader(map, path, problems);
                var ruleErrorsBefore = problems.ErrorCount;
                var rule = ReadRule(reader);
                reader.Finish();

                // Checked on the written name even when the rule has other problems, so both are reported.
                if (reader.Node("name") is YamlScalarNode { Value: { Length: > 0 } name } nameNode)
                {
                    if (seen.TryGetValue(name, out var first))
                    {
                        problems.Error(nameNode, $"rule name '{name}' is already used at line {first.Line}; rule names must be unique within a policy.");
                        continue;
                    }

                    seen.Add(name, nameNode.Start);
                }

                if (rule is null)
                {
                    if (problems.ErrorCount == ruleErrorsBefore)
                    {
                        problems.Error(map, $"{path} could not be read as a rule.");
                    }

                    continue;
                }

                rules.Add(rule);
            }
        }

        if (templates)
        {
            // A rule named like a template rule replaces it, so a template threshold can be tuned without copying the rest.
            var at = templatesNode!.Start;
            var location = new SourceLocation(problems.File, (int)at.Line, (int)at.Column);
            rules.AddRange(RuleTemplates.For(objectType, location).Where(r => !seen.ContainsKey(r.Name)));
        }

        if (rules.Count == 0 && problems.ErrorCount == errorsBefore)
        {
            problems.Error(list?.Start ?? spec.Anchor, "a GatePolicy needs at least one rule: write spec.rules, or set spec.templates: true to use the built-in rules for its objectType.");
        }

        return rules;
    }

    private static RuleSpec? ReadRule(MapReader r)
    {
        var problems = r.Problems;
        var errorsBefore = problems.ErrorCount;
        var name = r.String("name", required: true);
        if (name is not null && !Names.IsValidName(name))
        {
            problems.Error(r.At("name"), $"{r.PathOf("name")} '{name}' is not a valid rule name: use {Names.NameRule}.");
        }

        var action = r.Choice("action", Actions) ?? GateAction.Hold;
        var minSamples = r.Long("minSamples", 1);
        var forNode = r.Node("for");
        var holdFor = TimeSpan.Zero;
        if (forNode is not null && Scalars.TryDuration(forNode, r.PathOf("for"), problems, out holdFor) && holdFor > MaxWindow)
        {
            problems.Error(forNode, $"{r.PathOf("for")} {Durations.Format(holdFor)} is longer than the {Durations.Format(MaxWindow)} maximum.");
        }

        var hasBudget = r.Has("errorBudget");
        var hasBurn = r.Has("burnRate");
        RuleSpec? rule;
        if (hasBudget || hasBurn)
        {
            rule = ReadSloRule(r, hasBudget, hasBurn);
        }
        else
        {
            r.Allow("errorBudget", "burnRate");
            rule = ReadSignalRule(r);
        }

        if (rule is null || name is null || problems.ErrorCount != errorsBefore)
        {
            return null;
        }

        return rule with
        {
            Name = name,
            Action = action,
            MinSamples = minSamples ?? (rule.Signal.IsRequestSignal ? DefaultRequestMinSamples : DefaultMetricMinSamples),
            For = holdFor,
            Location = new SourceLocation(problems.File, (int)r.Anchor.Line, (int)r.Anchor.Column),
        };
    }

    /// <summary>A rule on a signal: absolute bounds or bounds relative to the baseline version.</summary>
    private static RuleSpec? ReadSignalRule(MapReader r)
    {
        var problems = r.Problems;
        var errorsBefore = problems.ErrorCount;
        var text = r.String("signal", required: true);
        var window = r.Duration("window", MaxWindow) ?? DefaultWindow;
        var aggregation = r.Choice("aggregation", SignalSyntax.Aggregations);
        var min = r.Number("min");
        var max = r.Number("max");
        var baseline = r.Map("baseline");
        var confidence = r.Number("confidence");
        if (text is null)
        {
            baseline?.Allow("increase", "decrease", "ratio");
            baseline?.Finish();
            return null;
        }

        if (!SignalSyntax.TryParse(text, out var signal, out var explicitAggregation, out var error))
        {
            problems.Error(r.At("signal"), $"{r.PathOf("signal")}: {error}");
            baseline?.Allow("increase", "decrease", "ratio");
            baseline?.Finish();
            return null;
        }

        if (aggregation is { } agg)
        {
            if (signal.Kind != SignalKind.Metric)
            {
                problems.Error(r.KeyNode("aggregation")!, $"{r.PathOf("aggregation")} applies to metric signals only; {signal} is computed from requests.");
            }
            else if (explicitAggregation)
            {
                problems.Error(r.KeyNode("aggregation")!, $"{r.PathOf("aggregation")} repeats the aggregation already written in the signal '{text}'; keep one.");
            }
            else
            {
                signal = signal with { Aggregation = agg };
            }
        }

        var signalName = signal.ToString();
        ThresholdSpec? threshold;
        if (baseline is not null)
        {
            if (r.Has("min") || r.Has("max"))
            {
                problems.Error(r.At(r.Has("min") ? "min" : "max"), $"{r.Path} has both absolute bounds (min/max) and baseline; a rule compares either to fixed bounds or to the baseline version, so split it into two rules.");
            }

            threshold = ReadBaseline(baseline, signal, signalName);
        }
        else if (min is null && max is null)
        {
            if (problems.ErrorCount == errorsBefore)
            {
                problems.Error(r.Anchor, $"{r.Path} ('{signalName}') needs bounds: min and/or max, or baseline (increase, decrease or ratio).");
            }

            threshold = null;
        }
        else
        {
            SignalBounds.CheckAbsolute(
                signal,
                min is { } lo ? new SignalBounds.Bound(lo, r.At("min"), r.PathOf("min")) : null,
                max is { } hi ? new SignalBounds.Bound(hi, r.At("max"), r.PathOf("max")) : null,
                signalName,
                problems);
            threshold = new ThresholdSpec(ComparisonKind.Absolute, min, max);
        }

        if (confidence is { } c)
        {
            var at = r.At("confidence");
            if (signal.Kind is not (SignalKind.ErrorRate or SignalKind.SuccessRate))
            {
                problems.Error(at, $"{r.PathOf("confidence")} applies to error-rate and success-rate only: the sequential test works on request and error counts, and {signalName} is not a count ratio.");
            }
            else if (c is <= 0.5 or >= 1)
            {
                problems.Error(at, $"{r.PathOf("confidence")} must be above 0.5 and below 1 (0.99 = fire only when 99% sure), got {Scalars.Fmt(c)}.");
            }
        }

        return threshold is null ? null : new RuleSpec
        {
            Name = "",
            Signal = signal,
            Threshold = threshold,
            Window = window,
            Confidence = confidence,
        };
    }

    /// <summary><c>baseline: { increase, decrease }</c> (a difference) or <c>baseline: { ratio: { min, max } }</c>.</summary>
    private static ThresholdSpec? ReadBaseline(MapReader b, SignalSpec signal, string signalName)
    {
        var problems = b.Problems;
        var errorsBefore = problems.ErrorCount;
        var increase = b.Number("increase");
        var decrease = b.Number("decrease");
        var ratio = b.Map("ratio");
        var ratioMin = ratio?.Number("min");
        var ratioMax = ratio?.Number("max");
        ratio?.Finish();
        b.Finish();

        if (signal.Kind == SignalKind.ThroughputDrop)
        {
            problems.Error(b.Anchor, $"{b.Path} cannot be used with throughput-drop, which is already measured against the baseline; give absolute bounds (max: 0.2 = 20% less traffic than the weight predicts).");
            return null;
        }

        if (ratio is not null)
        {
            if (b.Has("increase") || b.Has("decrease"))
            {
                problems.Error(b.At(b.Has("increase") ? "increase" : "decrease"), $"{b.Path} takes either increase/decrease (a difference) or ratio, not both; split it into two rules.");
            }

            if (ratioMin is null && ratioMax is null)
            {
                problems.Error(ratio.Anchor, $"{ratio.Path} needs min, max or both (max: 1.5 = at most 1.5 times the baseline).");
                return null;
            }

            foreach (var (value, key) in new[] { (ratioMin, "min"), (ratioMax, "max") })
            {
                if (value is { } v && v <= 0)
                {
                    problems.Error(ratio.At(key), $"{ratio.PathOf(key)} must be above zero (it multiplies the baseline's value), got {Scalars.Fmt(v)}.");
                }
            }

            if (ratioMin is { } lo && ratioMax is { } hi && lo > hi)
            {
                problems.Error(ratio.At("min"), $"{ratio.PathOf("min")} {Scalars.Fmt(lo)} is larger than max {Scalars.Fmt(hi)}, so the rule would always fire.");
            }

            if (ratioMax is { } rm && rm is > 0 and < 1)
            {
                problems.Warning(ratio.At("max"), $"{ratio.PathOf("max")} {Scalars.Fmt(rm)} is below 1, so the rule fires unless the canary stays below {Scalars.Fmt(rm)} times its baseline's value, even when both are equal (max: 1.2 allows 20% above the baseline).");
            }

            if (ratioMin is { } rn && rn > 1)
            {
                problems.Warning(ratio.At("min"), $"{ratio.PathOf("min")} {Scalars.Fmt(rn)} is above 1, so the rule fires unless the canary beats its baseline.");
            }

            return problems.ErrorCount != errorsBefore ? null : new ThresholdSpec(ComparisonKind.BaselineRatio, ratioMin, ratioMax);
        }

        if (increase is null && decrease is null)
        {
            if (problems.ErrorCount == errorsBefore)
            {
                problems.Error(b.Anchor, $"{b.Path} needs increase, decrease, or ratio (e.g. increase: 0.005 allows the canary 0.5 points more {signalName} than the baseline).");
            }

            return null;
        }

        if (increase is { } inc)
        {
            SignalBounds.CheckDifference(signal, new SignalBounds.Bound(inc, b.At("increase"), b.PathOf("increase")), signalName, problems);
        }

        if (decrease is { } dec)
        {
            SignalBounds.CheckDifference(signal, new SignalBounds.Bound(dec, b.At("decrease"), b.PathOf("decrease")), signalName, problems);
        }

        return problems.ErrorCount != errorsBefore ? null : new ThresholdSpec(ComparisonKind.BaselineDifference, decrease, increase);
    }

    /// <summary>An errorBudget or burnRate rule: both measure the request error rate against an SLO.</summary>
    private static RuleSpec? ReadSloRule(MapReader r, bool hasBudget, bool hasBurn)
    {
        var problems = r.Problems;
        var kind = hasBudget ? "errorBudget" : "burnRate";
        var aKind = hasBudget ? "an errorBudget" : "a burnRate";
        if (hasBudget && hasBurn)
        {
            problems.Error(r.KeyNode("burnRate")!, $"{r.Path} has both errorBudget and burnRate; a rule is one of them, so split it into two rules.");
        }

        var signalNode = r.Node("signal");
        if (signalNode is not null && !(Scalars.TryString(signalNode, r.PathOf("signal"), problems, out var s) && s == "error-rate"))
        {
            problems.Error(signalNode, $"{r.PathOf("signal")} must be left out of {aKind} rule, which always measures error-rate against the SLO.");
        }

        foreach (var key in SignalOnlyKeys)
        {
            r.Allow(key);
            if (r.KeyNode(key) is { } written)
            {
                var why = key == "window"
                    ? kind == "errorBudget" ? "the budget is counted from the rollout's start" : "the windows are set in burnRate.windows"
                    : "the bound is the SLO itself";
                problems.Error(written, $"{r.PathOf(key)} does not apply to {aKind} rule: {why}.");
            }
        }

        var budget = hasBudget ? ReadErrorBudget(r.Map("errorBudget", required: true)) : null;
        var burn = hasBurn ? ReadBurnRate(r.Map("burnRate", required: true)) : null;
        if (!hasBudget)
        {
            r.Allow("errorBudget");
        }

        if (!hasBurn)
        {
            r.Allow("burnRate");
        }

        if ((hasBudget && budget is null) || (hasBurn && burn is null))
        {
            return null;
        }

        return new RuleSpec
        {
            Name = "",
            Signal = SignalSpec.ErrorRate,
            Threshold = null,
            ErrorBudget = budget,
            BurnRate = burn,
        };
    }

    private static ErrorBudgetSpec? ReadErrorBudget(MapReader? b)
    {
        if (b is null)
        {
            return null;
        }

        var problems = b.Problems;
        var errorsBefore = problems.ErrorCount;
        var slo = ReadSlo(b);
        var period = b.Duration("period", MaxPeriod) ?? TimeSpan.FromDays(30);
        var maxConsumed = b.Number("maxConsumed", required: true);
        var within = b.Duration("within", MaxPeriod, required: true);
        b.Finish();

        if (maxConsumed is { } m && m is <= 0 or > 1)
        {
            problems.Error(b.At("maxConsumed"), $"{b.PathOf("maxConsumed")} is a fraction of the period's error budget, above 0 and at most 1 (0.05 = 5%), got {Scalars.Fmt(m)}.");
        }

        if (within is { } w && w > period)
        {
            problems.Error(b.At("within"), $"{b.PathOf("within")} {Durations.Format(w)} is longer than the period {Durations.Format(period)}.");
        }

        return slo is null || maxConsumed is null || within is null || problems.ErrorCount != errorsBefore
            ? null
            : new ErrorBudgetSpec(slo.Value, period, maxConsumed.Value, within.Value);
    }

    private static BurnRateSpec? ReadBurnRate(MapReader? b)
    {
        if (b is null)
        {
            return null;
        }

        var problems = b.Problems;
        var errorsBefore = problems.ErrorCount;
        var slo = ReadSlo(b);
        var list = b.List("windows", required: true, why: "list pairs of long and short windows with a burn-rate factor, e.g. { long: 1h, short: 5m, factor: 14.4 }");
        b.Finish();
        if (list is not null && list.Children.Count == 0)
        {
            problems.Error(list, $"{b.PathOf("windows")} is empty; give at least one pair, e.g. {{ long: 1h, short: 5m, factor: 14.4 }}.");
        }

        var windows = new List<BurnRateWindow>();
        for (var i = 0; list is not null && i < list.Children.Count; i++)
        {
            var item = list.Children[i];
            var path = $"{b.PathOf("windows")}[{i}]";
            if (item is not YamlMappingNode map)
            {
                problems.Error(item, $"{path} must be a mapping with long, short and factor, got {Scalars.Describe(item)}.");
                continue;
            }

            var w = new MapReader(map, path, problems);
            var longWindow = w.Duration("long", MaxWindow, required: true);
            var shortWindow = w.Duration("short", MaxWindow, required: true);
            var factor = w.Number("factor", required: true);
            w.Finish();

            if (longWindow is { } lw && shortWindow is { } sw && sw >= lw)
            {
                problems.Error(w.At("short"), $"{w.PathOf("short")} {Durations.Format(sw)} must be shorter than long {Durations.Format(lw)}: the short window confirms the long one is still burning.");
            }

            if (factor is { } f)
            {
                if (f <= 0)
                {
                    problems.Error(w.At("factor"), $"{w.PathOf("factor")} must be above zero, got {Scalars.Fmt(f)}.");
                }
                else if (slo is { } objective && f > 1 / (1 - objective) * (1 + 1e-9))
                {
                    problems.Error(w.At("factor"), $"{w.PathOf("factor")} {Scalars.Fmt(f)} can never be reached: with slo {Scalars.Fmt(objective)} the highest possible burn rate (every request failing) is {Scalars.Fmt(Math.Round(1 / (1 - objective), 6))}.");
                }
            }

            if (longWindow is { } l && shortWindow is { } s && factor is { } fa)
            {
                windows.Add(new BurnRateWindow(l, s, fa));
            }
        }

        return slo is null || list is null || windows.Count == 0 || problems.ErrorCount != errorsBefore
            ? null
            : new BurnRateSpec(slo.Value, windows);
    }

    private static double? ReadSlo(MapReader b)
    {
        var slo = b.Number("slo", required: true);
        if (slo is { } v && v is <= 0 or >= 1)
        {
            var hint = v is > 1 and < 100 ? $"; for {Scalars.Fmt(v)}% write {Scalars.Fmt(v / 100)}" : "";
            b.Problems.Error(b.At("slo"), $"{b.PathOf("slo")} must be above 0 and below 1 (0.999 = 99.9%), got {Scalars.Fmt(v)}{hint}.");
            return null;
        }

        return slo;
    }
}
