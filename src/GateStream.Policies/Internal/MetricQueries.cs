using GateStream.Core.Policies;
using YamlDotNet.Core;

namespace GateStream.Policies.Internal;

/// <summary>
/// Completes the query metrics of Flagger Canaries once every file is read: a <c>templateRef</c> resolves against the
/// <c>MetricTemplate</c> documents of the whole set (its namespace, else the Canary's), the provider must be one GateStream
/// queries, and the query is rendered with the Canary's names as Flagger renders it. Every failure is an error at the
/// Canary's metric that names the template and where it was written.
/// </summary>
internal static class MetricQueries
{
    public static List<LoadedPolicy> Resolve(List<LoadedPolicy> policies, IReadOnlyList<LoadedTemplate> templates, IReadOnlyList<ProblemSink> sinks)
    {
        var byId = new Dictionary<string, LoadedTemplate>(StringComparer.Ordinal);
        var used = new HashSet<string>(StringComparer.Ordinal);
        foreach (var template in templates)
        {
            if (!byId.TryAdd(template.Id, template))
            {
                SinkOf(sinks, template.File)?.Error(template.At, $"MetricTemplate '{template.Id}' is already defined at {byId[template.Id].Where}; a namespace holds one template of a name.");
            }
        }

        var resolved = new List<LoadedPolicy>(policies.Count);
        foreach (var loaded in policies)
        {
            var policy = loaded.Policy;
            if (loaded.QueryNames is { MetricsServerAt: { } serverAt } && !policy.Rules.Any(r => r.Query is { Template.Length: 0 }))
            {
                SinkOf(sinks, policy.SourcePath)?.Warning(serverAt, "spec.metricsServer is not used: only a metric with an inline query runs against it; GateStream computes the built-in metrics from the requests and samples it ingests.");
            }

            if (loaded.QueryNames is not { } names || !policy.Rules.Any(r => r.Query is not null))
            {
                resolved.Add(loaded);
                continue;
            }

            var sink = SinkOf(sinks, policy.SourcePath)!;
            var rules = new List<RuleSpec>(policy.Rules.Count);
            foreach (var rule in policy.Rules)
            {
                rules.Add(rule.Query is { } query ? Complete(rule, query, names, byId, used, sink) ?? rule : rule);
            }

            resolved.Add(loaded with { Policy = policy with { Rules = rules } });
        }

        foreach (var template in byId.Values)
        {
            if (!used.Contains(template.Id) && !MetricTemplateReader.SupportedProviders.Contains(template.Provider.Type))
            {
                SinkOf(sinks, template.File)?.Warning(template.TypeAt, $"MetricTemplate '{template.Id}' uses provider '{template.Provider.Type}', which GateStream does not query (it queries {string.Join(", ", MetricTemplateReader.SupportedProviders)}); a Canary that references it is refused.");
            }
        }

        return resolved;
    }

    private static RuleSpec? Complete(RuleSpec rule, MetricQuerySpec query, QueryNames names, Dictionary<string, LoadedTemplate> templates, HashSet<string> used, ProblemSink sink)
    {
        var at = rule.Location is { } l ? new Mark(0, l.Line, l.Column) : Mark.Empty;
        string text;
        string id;
        MetricProviderSpec provider;
        var what = $"metric '{rule.Name}'";
        if (query.Template.Length == 0)
        {
            // Inline PromQL: Flagger runs it with the Canary's metrics server.
            if (string.IsNullOrEmpty(names.MetricsServer) || !Uri.TryCreate(names.MetricsServer, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(uri.UserInfo))
            {
                sink.Error(at, $"{what} has an inline query, which Flagger runs against the Canary's spec.metricsServer; set spec.metricsServer to the Prometheus URL (http or https, no credentials), or move the query into a MetricTemplate.");
                return null;
            }

            id = "";
            text = query.Query;
            provider = new MetricProviderSpec("prometheus", names.MetricsServer, false, null, names.Namespace);
        }
        else
        {
            id = query.Template.Contains('/', StringComparison.Ordinal) ? query.Template : $"{names.Namespace}/{query.Template}";
            if (!templates.TryGetValue(id, out var template))
            {
                var known = templates.Count == 0 ? "the policy files define no MetricTemplate" : $"defined: {string.Join(", ", templates.Keys.Order(StringComparer.Ordinal).Take(10))}";
                sink.Error(at, $"{what} references MetricTemplate '{id}', which no policy file defines ({known}); put the MetricTemplate document in the policy directory beside the Canary.");
                return null;
            }

            used.Add(id);
            if (!MetricTemplateReader.SupportedProviders.Contains(template.Provider.Type))
            {
                sink.Error(at, $"{what} uses MetricTemplate '{id}' ({template.File}:{template.TypeAt.Line}:{template.TypeAt.Column}) with provider '{ProblemSink.Token(template.Provider.Type)}'; GateStream runs {string.Join(", ", MetricTemplateReader.SupportedProviders)} queries only.");
                return null;
            }

            text = template.Query;
            provider = template.Provider;
        }

        if (!QueryTemplate.TryRender(text, names, query.Interval, query.Variables, out var rendered, out var error))
        {
            sink.Error(at, $"{what}: the query{(id.Length > 0 ? $" of MetricTemplate '{id}'" : "")} cannot be rendered: {error}");
            return null;
        }

        return rule with
        {
            Signal = FlaggerCanaryReader.QuerySignal(rule.Name, provider.Type),
            Query = query with { Template = id, Query = rendered, Provider = provider },
        };
    }

    private static ProblemSink? SinkOf(IReadOnlyList<ProblemSink> sinks, string file)
    {
        foreach (var sink in sinks)
        {
            if (string.Equals(sink.File, file, StringComparison.Ordinal))
            {
                return sink;
            }
        }

        return null;
    }
}
