using GateStream.Core.Policies;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace GateStream.Policies.Internal;

/// <summary>A Flagger <c>MetricTemplate</c> read from a policy file: what a Canary's <c>templateRef</c> resolves to.</summary>
internal sealed record LoadedTemplate(string Namespace, string Name, MetricProviderSpec Provider, string Query, Mark At, Mark TypeAt, string File)
{
    public string Id => $"{Namespace}/{Name}";

    public string Where => $"{File}:{At.Line}:{At.Column}";
}

/// <summary>
/// Reads <c>flagger.app/v1beta1 MetricTemplate</c> documents (<c>spec.provider</c>: type, address, headers, secretRef,
/// insecureSkipVerify; <c>spec.query</c>). Any provider type is read; only a Canary that uses a template whose provider
/// GateStream cannot query is refused, at that Canary's metric.
/// </summary>
internal static class MetricTemplateReader
{
    public const string Kind = "MetricTemplate";

    /// <summary>The namespace of an object that names none, as kubectl would place it.</summary>
    public const string DefaultNamespace = FlaggerAnalysisSpec.DefaultNamespace;

    /// <summary>The providers GateStream runs queries against.</summary>
    public static readonly string[] SupportedProviders = ["prometheus"];

    public static LoadedTemplate? Read(MapReader doc)
    {
        var problems = doc.Problems;
        var errorsBefore = problems.ErrorCount;
        doc.Ignore("status", "it is written by Flagger's controller, not by people");
        var metadata = doc.Map("metadata", required: true);
        var name = metadata?.String("name", required: true);
        var at = metadata?.At("name") ?? doc.Anchor;
        var ns = metadata?.String("namespace") ?? DefaultNamespace;
        metadata?.Allow("labels", "annotations");
        metadata?.Finish();
        if (name is not null && !Names.IsValidName(name))
        {
            problems.Error(at, $"metadata.name '{name}' is not a MetricTemplate name: use {Names.NameRule}.");
        }

        var spec = doc.Map("spec", required: true);
        var provider = spec?.Map("provider", required: true, why: "it says where the query runs");
        var query = spec?.String("query", required: true);
        spec?.Finish();
        var read = provider is null ? null : ReadProvider(provider, ns);
        if (query is not null && string.IsNullOrWhiteSpace(query))
        {
            problems.Error(spec!.At("query"), "spec.query is empty: a MetricTemplate needs the query to run.");
        }

        return problems.ErrorCount == errorsBefore && name is not null && query is not null && read is { } p
            ? new LoadedTemplate(ns, name, p.Spec, query, at, p.TypeAt, problems.File)
            : null;
    }

    private static (MetricProviderSpec Spec, Mark TypeAt)? ReadProvider(MapReader provider, string ns)
    {
        var problems = provider.Problems;
        var errorsBefore = problems.ErrorCount;
        var type = provider.String("type", required: true);
        var typeAt = provider.At("type");
        var address = provider.String("address");
        var insecure = provider.Bool("insecureSkipVerify") ?? false;
        var secret = provider.Map("secretRef");
        var secretName = secret?.String("name", required: true);
        secret?.Finish();
        provider.Ignore("region", "it is read by cloud providers (CloudWatch, Stackdriver), not by Prometheus");
        var headers = ReadHeaders(provider);
        provider.Finish();
        if (type is null || problems.ErrorCount != errorsBefore)
        {
            return null;
        }

        if (SupportedProviders.Contains(type))
        {
            if (address is null)
            {
                problems.Error(provider.Anchor, $"{provider.Path}.address is required: GateStream queries the {type} API at this URL (http or https).");
                return null;
            }

            if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(uri.Query))
            {
                problems.Error(provider.At("address"), $"{provider.PathOf("address")} '{ProblemSink.Token(address)}' is not an http or https URL without a query string.");
                return null;
            }

            if (!string.IsNullOrEmpty(uri.UserInfo))
            {
                problems.Error(provider.At("address"), $"{provider.PathOf("address")} holds credentials; put them in the secret named by secretRef, so they stay out of policy files and logs.");
                return null;
            }
        }

        if (secretName is not null && !Names.IsValidName(secretName))
        {
            problems.Error(secret!.At("name"), $"{secret.PathOf("name")} '{secretName}' is not a secret name: use {Names.NameRule}.");
            return null;
        }

        return (new MetricProviderSpec(type, address ?? "", insecure, secretName, ns) { Headers = headers }, typeAt);
    }

    /// <summary>Go's <c>http.Header</c> as YAML: each name maps to a list of values (a single value is accepted too).</summary>
    private static Dictionary<string, IReadOnlyList<string>> ReadHeaders(MapReader provider)
    {
        var result = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
        var node = provider.Node("headers");
        if (node is null)
        {
            return result;
        }

        var path = provider.PathOf("headers");
        if (node is not YamlMappingNode map)
        {
            provider.Problems.Error(node, $"{path} must be a mapping of header names to lists of values, got {Scalars.Describe(node)}.");
            return result;
        }

        foreach (var (key, value) in map.Children)
        {
            if (key is not YamlScalarNode { Value: { Length: > 0 } name } || name.StartsWith(TrackingParser.DuplicateKeyPrefix, StringComparison.Ordinal))
            {
                continue;
            }

            var values = new List<string>();
            IEnumerable<YamlNode> items = value is YamlSequenceNode list ? list.Children : [value];
            foreach (var item in items)
            {
                if (Scalars.TryString(item, $"{path}.{name}", provider.Problems, out var text))
                {
                    values.Add(text);
                }
            }

            result[name] = values;
        }

        return result;
    }
}
