using System.Text;
using GateStream.Core.Policies;
using YamlDotNet.RepresentationModel;

namespace GateStream.Policies.Internal;

internal static partial class FlaggerCanaryReader
{
    /// <summary>Flagger's default for a metric's <c>interval</c> (<c>GetMetricInterval</c>), as rendered into <c>{{ interval }}</c>.</summary>
    public const string DefaultMetricInterval = "1m";

    /// <summary>Longest metric name a query rule may have: its signal (<c>provider:name</c>) must fit the ingest's default signal-name limit.</summary>
    public const int MaxQueryMetricNameBytes = 200;

    /// <summary>Flagger's own built-in metrics: it computes them whatever else the metric says, and so does GateStream.</summary>
    private static readonly string[] FlaggerBuiltIns = ["request-success-rate", "request-duration"];

    /// <summary>
    /// Whether a metric that also has a <c>templateRef</c> or <c>query</c> is still computed by GateStream: Flagger's two
    /// built-ins and <c>gatestream:</c> signals. Any other name, <c>error-rate</c> included (not a Flagger built-in:
    /// in Flagger such a metric is its template's query), runs its query.
    /// </summary>
    private static bool IsComputed(string name) =>
        FlaggerBuiltIns.Contains(name) || name.StartsWith(GateStreamPrefix, StringComparison.Ordinal);

    /// <summary>
    /// The signal a query metric's results are recorded under in the canary's series; the loader renames it
    /// <c>provider:name</c> once the template is resolved.
    /// </summary>
    internal static SignalSpec QuerySignal(string name, string provider = "query") =>
        SignalSpec.MetricOf($"{provider}:{name}", MetricAggregation.Last);

    /// <summary>
    /// A custom metric: a <c>templateRef</c> to a <c>MetricTemplate</c> (resolved by the loader across files), or an inline
    /// <c>query</c>, which Flagger runs against the Canary's <c>spec.metricsServer</c>. The query is rendered later, when the
    /// Canary's names and the template are known.
    /// </summary>
    private static MetricQuerySpec? ReadQuery(MapReader metric, string name)
    {
        var problems = metric.Problems;
        var errorsBefore = problems.ErrorCount;
        if (Encoding.UTF8.GetByteCount(name) > MaxQueryMetricNameBytes)
        {
            problems.Error(metric.At("name"), $"{metric.PathOf("name")} is longer than {MaxQueryMetricNameBytes} bytes; a query metric's name names its signal.");
        }

        var variables = metric.StringMap("templateVariables") ?? new Dictionary<string, string>(StringComparer.Ordinal);
        var interval = metric.Node("interval") is YamlScalarNode { Value: { Length: > 0 } written } ? written : DefaultMetricInterval;
        var inline = metric.String("query");
        var reference = metric.Map("templateRef");
        string? template = null;
        if (reference is not null)
        {
            var templateName = reference.String("name", required: true);
            var templateNamespace = reference.String("namespace");
            reference.Finish();
            if (templateName is not null && !IsKubernetesName(templateName))
            {
                problems.Error(reference.At("name"), $"{reference.PathOf("name")} '{templateName}' is not a MetricTemplate name: use {Names.NameRule}.");
            }
            else if (templateNamespace is not null && !IsKubernetesName(templateNamespace))
            {
                problems.Error(reference.At("namespace"), $"{reference.PathOf("namespace")} '{templateNamespace}' is not a namespace name: use {Names.NameRule}.");
            }
            else if (templateName is not null)
            {
                template = templateNamespace is null ? templateName : $"{templateNamespace}/{templateName}";
            }

            if (inline is not null)
            {
                problems.Error(metric.At("query"), $"{metric.Path} ('{name}') has both templateRef and query; Flagger would run both as one check, so write them as two metrics.");
            }
        }
        else if (inline is not null && variables.Count > 0)
        {
            problems.Warning(metric.KeyNode("templateVariables")!, $"{metric.PathOf("templateVariables")} is rendered into the inline query of '{name}' as {{{{ variables.NAME }}}}, as Flagger does.");
        }

        if (problems.ErrorCount != errorsBefore || (template is null && inline is null))
        {
            if (problems.ErrorCount == errorsBefore)
            {
                problems.Error(metric.Anchor, $"{metric.Path} ('{name}') needs templateRef.name or query.");
            }

            return null;
        }

        return new MetricQuerySpec
        {
            // Unresolved: a template without a namespace is looked up in the Canary's; an inline query has no template.
            Template = template ?? "",
            Query = inline ?? "",
            Variables = variables,
            Interval = interval,
        };
    }

    /// <summary>Kubernetes object names (DNS subdomain): the same characters GateStream allows in policy names.</summary>
    private static bool IsKubernetesName(string name) => Names.IsValidName(name);

    /// <summary>
    /// The Canary's names that Flagger renders into a query (<c>toMetricModel</c>): read from the document as written,
    /// since GateStream otherwise ignores <c>service</c>, <c>ingressRef</c>, <c>routeRef</c> and the namespace.
    /// </summary>
    internal static QueryNames NamesOf(YamlMappingNode root, PolicyDefinition policy)
    {
        var spec = Child(root, "spec");
        var target = policy.Target;
        string Or(string? value) => string.IsNullOrEmpty(value) ? target : value;
        return new QueryNames(
            Name: policy.Name,
            Namespace: policy.Flagger?.Namespace ?? FlaggerAnalysisSpec.DefaultNamespace,
            Target: target,
            Service: Or(Text(Child(spec, "service"), "name")),
            Ingress: Or(Text(Child(spec, "ingressRef"), "name")),
            Route: Or(Text(Child(spec, "routeRef"), "name")),
            MetricsServer: Text(spec, "metricsServer"))
        {
            MetricsServerAt = spec is not null && spec.Children.TryGetValue(new YamlScalarNode("metricsServer"), out var server) ? server.Start : null,
        };
    }

    private static YamlMappingNode? Child(YamlMappingNode? map, string key) =>
        map is not null && map.Children.TryGetValue(new YamlScalarNode(key), out var node) ? node as YamlMappingNode : null;

    private static string? Text(YamlMappingNode? map, string key) =>
        map is not null && map.Children.TryGetValue(new YamlScalarNode(key), out var node) && node is YamlScalarNode { Value: { } value } && !Scalars.IsNull(node)
            ? value
            : null;
}

/// <summary>A Canary's names as Flagger's query model has them (<c>MetricTemplateModel</c>), and its metrics server.</summary>
internal sealed record QueryNames(string Name, string Namespace, string Target, string Service, string Ingress, string Route, string? MetricsServer)
{
    /// <summary>Where <c>spec.metricsServer</c> is written, for the warning when no inline query uses it.</summary>
    public YamlDotNet.Core.Mark? MetricsServerAt { get; init; }
}
