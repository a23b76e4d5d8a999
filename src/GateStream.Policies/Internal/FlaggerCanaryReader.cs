using GateStream.Core.Time;
using GateStream.Core.Policies;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace GateStream.Policies.Internal;

/// <summary>
/// Reads a Flagger <c>Canary</c> as users already write it. Flagger's analysis loop is kept: one check per
/// <c>analysis.interval</c>, failed checks counted to <c>analysis.threshold</c>, then rollback (the engine runs it;
/// every metric becomes a rollback rule). Fields GateStream does not act on are accepted with a warning.
/// </summary>
internal static partial class FlaggerCanaryReader
{
    public const string ApiVersion = "flagger.app/v1beta1";

    public const string GateStreamPrefix = "gatestream:";

    /// <summary>Flagger's documented defaults: interval 60 s (never below 10 s), threshold 1, maxWeight 100.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMinutes(1);

    public static readonly TimeSpan MinInterval = TimeSpan.FromSeconds(10);

    public const int DefaultThreshold = 1;

    public const int DefaultMaxWeight = 100;

    /// <summary>The longest window the daemon keeps in memory for any signal.</summary>
    public static readonly TimeSpan MaxWindow = TimeSpan.FromHours(24);

    private static readonly string[] BuiltIns = ["request-success-rate", "request-duration", "error-rate"];

    public static (PolicyDefinition Policy, Mark TargetAt)? Read(MapReader doc, PolicyHeader header)
    {
        doc.Ignore("status", "it is written by Flagger's controller, not by people");
        var spec = doc.Map("spec", required: true);
        if (spec is null)
        {
            return null;
        }

        var ns = NamespaceOf(doc);
        var (target, targetAt) = ReadTarget(spec);
        var deadlineSeconds = spec.Long("progressDeadlineSeconds", 1);
        var skipAnalysis = spec.Bool("skipAnalysis") ?? false;
        IgnoreUnusedSpecFields(spec);

        var analysis = spec.Map("analysis");
        var deprecated = spec.Map("canaryAnalysis");
        if (deprecated is not null)
        {
            if (analysis is not null)
            {
                spec.Problems.Error(deprecated.Anchor, "spec.canaryAnalysis and spec.analysis are both set; canaryAnalysis is Flagger's deprecated name for analysis, keep only analysis.");
            }
            else
            {
                spec.Problems.Warning(deprecated.Anchor, "spec.canaryAnalysis is Flagger's deprecated name for spec.analysis; it is read as analysis.");
                analysis = deprecated;
            }
        }

        spec.Finish();
        if (analysis is null)
        {
            spec.Problems.Error(spec.Anchor, "spec.analysis is required: without it Flagger promotes without checks, and GateStream has nothing to gate on.");
            return null;
        }

        var read = ReadAnalysis(analysis);
        if (target is null || read is null)
        {
            return null;
        }

        var (flagger, progression, rules, webhooks) = read.Value;
        var policy = new PolicyDefinition
        {
            Name = header.Name,
            Revision = header.Revision,
            SourcePath = header.SourcePath,
            Form = PolicyForm.Flagger,
            Target = target,
            ObjectType = ObjectType.Application,
            Mode = PolicyMode.Enforce,
            Rules = rules,
            Progression = progression,
            Flagger = flagger with
            {
                ProgressDeadline = deadlineSeconds is { } seconds ? TimeSpan.FromSeconds(Math.Min(seconds, (long)MaxWindow.TotalSeconds)) : FlaggerAnalysisSpec.DefaultProgressDeadline,
                SkipAnalysis = skipAnalysis,
                Namespace = ns,
            },
            Webhooks = webhooks,
        };
        return (policy, targetAt);
    }

    /// <summary>The Canary's namespace, for webhook payloads; the header reader has already checked metadata.</summary>
    private static string NamespaceOf(MapReader doc) =>
        doc.Node("metadata") is YamlMappingNode metadata
        && metadata.Children.TryGetValue(new YamlScalarNode("namespace"), out var node)
        && node is YamlScalarNode { Value: { Length: > 0 } ns }
            ? ns
            : FlaggerAnalysisSpec.DefaultNamespace;

    private static (string? Target, Mark At) ReadTarget(MapReader spec)
    {
        var targetRef = spec.Map("targetRef", required: true, why: "it names the deployment this canary gates");
        if (targetRef is null)
        {
            return (null, spec.Anchor);
        }

        var name = targetRef.String("name", required: true);
        var at = targetRef.At("name");
        targetRef.Allow("apiVersion", "kind");
        targetRef.Finish();
        if (name is not null && !Names.IsValidName(name))
        {
            spec.Problems.Error(at, $"spec.targetRef.name '{name}' is not a deployment name: use {Names.NameRule}.");
            return (null, at);
        }

        return (name, at);
    }

    private static void IgnoreUnusedSpecFields(MapReader spec)
    {
        spec.Ignore("service", "GateStream creates no Services or routes; the controller that follows GateStream's decisions applies the traffic weights");
        spec.Ignore("provider", "traffic is shifted by the controller that follows GateStream's decisions, not through a mesh or ingress provider");
        spec.Allow("metricsServer"); // read with the metrics' queries (FlaggerCanaryReader.Metrics)
        spec.Ignore("autoscalerRef", "GateStream does not manage autoscalers");
        spec.Ignore("ingressRef", "GateStream does not manage ingress objects");
        spec.Ignore("routeRef", "GateStream does not manage route objects");
        spec.Ignore("upstreamRef", "GateStream does not manage upstream objects");
        spec.Ignore("revertOnDeletion", "GateStream does not change Kubernetes objects");
        spec.Ignore("suspend", "to stop gating, remove the policy or pause the gate with an override");
    }

    private static (FlaggerAnalysisSpec, ProgressionSpec, List<RuleSpec>, List<WebhookSpec>)? ReadAnalysis(MapReader analysis)
    {
        var problems = analysis.Problems;
        var errorsBefore = problems.ErrorCount;

        var interval = analysis.Duration("interval", MaxWindow) ?? DefaultInterval;
        if (interval < MinInterval)
        {
            problems.Warning(analysis.At("interval"), $"{analysis.PathOf("interval")} {Durations.Format(interval)} is below Flagger's 10s minimum; GateStream checks every 10s, as Flagger would.");
            interval = MinInterval;
        }

        var threshold = analysis.Long("threshold", 1) is { } written ? (int)Math.Min(written, int.MaxValue) : DefaultThreshold;
        var iterations = analysis.Integer("iterations", 1, MaxIterations) ?? 0;
        var progression = iterations > 0 ? IterationsProgression(analysis, interval) : ReadProgression(analysis, interval);
        var match = ReadMatch(analysis, iterations);

        analysis.Ignore("mirror", "GateStream does not mirror traffic");
        analysis.Ignore("mirrorWeight", "GateStream does not mirror traffic");
        analysis.Ignore("sessionAffinity", "session affinity is a router setting, which GateStream does not configure");
        analysis.Ignore("alerts", "GateStream sends no alerts; every decision is published on its Watch stream and in the decision log");
        analysis.Ignore("primaryReadyThreshold", "GateStream does not watch pod readiness");
        analysis.Ignore("canaryReadyThreshold", "GateStream does not watch pod readiness");

        var rules = ReadMetrics(analysis, interval);
        var webhooks = ReadWebhooks(analysis);
        CheckSomethingGates(analysis, rules, webhooks);
        analysis.Finish();

        return problems.ErrorCount == errorsBefore && progression is not null
            ? (new FlaggerAnalysisSpec(interval, threshold) { Iterations = iterations, Match = match.Count > 0 ? match : Array.Empty<string>() }, progression, rules, webhooks)
            : null;
    }

    private static ProgressionSpec? ReadProgression(MapReader analysis, TimeSpan interval)
    {
        var problems = analysis.Problems;
        var errorsBefore = problems.ErrorCount;
        var maxWeight = analysis.Integer("maxWeight", 1, 100);
        var stepWeight = analysis.Integer("stepWeight", 1, 100);
        var promotion = analysis.Integer("stepWeightPromotion", 1, 100);
        var steps = WeightList.Read(analysis, "stepWeights");

        if (steps is { Count: > 0 })
        {
            if (analysis.KeyNode("stepWeight") is { } sw)
            {
                problems.Warning(sw, $"{analysis.PathOf("stepWeight")} is ignored: stepWeights is set and replaces it, as in Flagger.");
            }

            if (analysis.KeyNode("maxWeight") is { } mw)
            {
                problems.Warning(mw, $"{analysis.PathOf("maxWeight")} is ignored: stepWeights is set, and its last weight is the maximum.");
            }

            return new ProgressionSpec
            {
                StepWeight = steps[0],
                MaxWeight = steps[^1],
                StepWeights = steps,
                StepInterval = interval,
                PromotionStepWeight = promotion ?? 0,
                InitialWeight = 0,
            };
        }

        if (stepWeight is null)
        {
            if ((!analysis.Has("stepWeight") && !analysis.Has("stepWeights")) || problems.ErrorCount == errorsBefore)
            {
                problems.Error(analysis.Anchor, $"{analysis.Path} needs stepWeight (with maxWeight) or stepWeights for a weighted canary, or iterations for blue/green or A/B testing.");
            }

            return null;
        }

        var max = maxWeight ?? DefaultMaxWeight;
        if (stepWeight > max)
        {
            problems.Error(analysis.At("stepWeight"), $"{analysis.PathOf("stepWeight")} {stepWeight} is larger than maxWeight {max}.");
            return null;
        }

        return new ProgressionSpec
        {
            StepWeight = stepWeight.Value,
            MaxWeight = max,
            StepInterval = interval,
            PromotionStepWeight = promotion ?? 0,
            InitialWeight = 0,
        };
    }

    private static List<RuleSpec> ReadMetrics(MapReader analysis, TimeSpan interval)
    {
        var problems = analysis.Problems;
        var rules = new List<RuleSpec>();
        var list = analysis.List("metrics");
        if (list is null)
        {
            return rules; // an analysis may be gated by webhooks alone (CheckSomethingGates)
        }

        var seen = new Dictionary<string, Mark>(StringComparer.Ordinal);
        for (var i = 0; i < list.Children.Count; i++)
        {
            var item = list.Children[i];
            var path = $"{analysis.PathOf("metrics")}[{i}]";
            if (item is not YamlMappingNode map)
            {
                problems.Error(item, $"{path} must be a mapping with name and thresholdRange, got {Scalars.Describe(item)}.");
                continue;
            }

            var metric = new MapReader(map, path, problems);
            var errorsBefore = problems.ErrorCount;
            var rule = ReadMetric(metric, interval);
            metric.Finish();
            if (metric.Node("name") is YamlScalarNode { Value: { Length: > 0 } name } nameNode)
            {
                if (seen.TryGetValue(name, out var first))
                {
                    problems.Error(nameNode, $"metric '{name}' is listed twice (first at line {first.Line}); each metric is checked once per interval.");
                    continue;
                }

                seen.Add(name, nameNode.Start);
            }

            if (rule is not null)
            {
                rules.Add(rule);
            }
            else if (problems.ErrorCount == errorsBefore)
            {
                problems.Error(map, $"{path} could not be read as a metric check.");
            }
        }

        return rules;
    }

    private static RuleSpec? ReadMetric(MapReader metric, TimeSpan analysisInterval)
    {
        var problems = metric.Problems;
        var name = metric.String("name", required: true);
        var window = metric.Duration("interval", MaxWindow) ?? analysisInterval;
        var hasTemplate = metric.Has("templateRef") || metric.Has("templateVariables") || metric.Has("query");
        metric.Allow("templateRef", "templateVariables", "query");

        var range = metric.Map("thresholdRange");
        double? min = range?.Number("min");
        double? max = range?.Number("max");
        range?.Finish();
        var deprecatedThreshold = metric.Number("threshold");
        if (name is null)
        {
            return null;
        }

        MetricQuerySpec? query = null;
        if (!IsComputed(name) && (metric.Has("templateRef") || metric.Has("query")))
        {
            query = ReadQuery(metric, name);
            if (query is null)
            {
                return null;
            }
        }

        var signal = query is not null ? QuerySignal(name) : SignalFor(name, metric, hasTemplate);
        if (signal is null)
        {
            return null;
        }

        var minAt = range?.At("min") ?? metric.Anchor;
        var maxAt = range?.At("max") ?? metric.Anchor;
        if (deprecatedThreshold is { } t)
        {
            // Flagger's deprecated single threshold was a minimum for the success rate and a maximum otherwise.
            var isMin = signal.Kind == SignalKind.SuccessRate;
            var at = metric.At("threshold");
            if (range is not null)
            {
                problems.Error(at, $"{metric.PathOf("threshold")} and thresholdRange are both set; threshold is Flagger's deprecated form, keep only thresholdRange.");
                return null;
            }

            problems.Warning(at, $"{metric.PathOf("threshold")} is Flagger's deprecated form; it is read as thresholdRange.{(isMin ? "min" : "max")}: {Scalars.Fmt(t)}.");
            if (isMin)
            {
                min = t;
                minAt = at;
            }
            else
            {
                max = t;
                maxAt = at;
            }
        }

        if (min is null && max is null)
        {
            problems.Error(range?.Anchor ?? metric.Anchor, $"{metric.Path} ('{name}') needs thresholdRange with min, max or both.");
            return null;
        }

        var errorsBefore = problems.ErrorCount;
        SignalBounds.CheckAbsolute(
            signal,
            min is { } lo ? new SignalBounds.Bound(lo, minAt, $"{metric.Path} thresholdRange.min") : null,
            max is { } hi ? new SignalBounds.Bound(hi, maxAt, $"{metric.Path} thresholdRange.max") : null,
            name,
            problems);
        if (problems.ErrorCount != errorsBefore)
        {
            return null;
        }

        return new RuleSpec
        {
            Name = name,
            Signal = signal,
            Threshold = new ThresholdSpec(ComparisonKind.Absolute, min, max),
            Action = GateAction.Rollback,
            MinSamples = 1,
            // A query's result is read for the check it was taken for: one analysis interval (the metric's interval is
            // the query's own range, rendered into it).
            Window = query is null ? window : analysisInterval,
            Location = new SourceLocation(problems.File, (int)metric.Anchor.Line, (int)metric.Anchor.Column),
            Query = query,
        };
    }

    private static SignalSpec? SignalFor(string name, MapReader metric, bool hasTemplate)
    {
        var problems = metric.Problems;
        var nameAt = metric.At("name");
        SignalSpec? signal = name switch
        {
            "request-success-rate" => SignalSpec.SuccessRate,
            "request-duration" => SignalSpec.LatencyAt(0.99),
            "error-rate" => SignalSpec.ErrorRate,
            _ => null,
        };

        if (signal is null && name.StartsWith(GateStreamPrefix, StringComparison.Ordinal))
        {
            if (!SignalSyntax.TryParse(name[GateStreamPrefix.Length..], out var parsed, out _, out var error))
            {
                problems.Error(nameAt, $"{metric.PathOf("name")} '{name}': {error}");
                return null;
            }

            signal = parsed;
        }

        if (signal is null)
        {
            var hint = Suggestions.Closest(name, BuiltIns) is { } close ? $" Did you mean '{close}'?" : "";
            var template = hasTemplate ? " templateVariables needs a templateRef to render into." : " A custom metric references a MetricTemplate with templateRef.";
            problems.Error(nameAt, $"unknown metric '{name}': Flagger built-ins are request-success-rate, request-duration, error-rate; GateStream signals are written gatestream:<signal>.{template}{hint}");
            return null;
        }

        if (hasTemplate)
        {
            var key = metric.Has("templateRef") ? "templateRef" : metric.Has("templateVariables") ? "templateVariables" : "query";
            problems.Warning(metric.KeyNode(key)!, $"{metric.PathOf(key)} is ignored: GateStream computes '{name}' itself ({signal} in {Unit(signal)}) instead of running a metrics query.");
        }

        return signal;
    }

    private static string Unit(SignalSpec signal) => signal.Unit.Length > 0 ? signal.Unit : "the metric's unit";
}
