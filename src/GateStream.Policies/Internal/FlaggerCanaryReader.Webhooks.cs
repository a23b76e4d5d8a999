using GateStream.Core.Policies;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace GateStream.Policies.Internal;

internal static partial class FlaggerCanaryReader
{
    public static readonly TimeSpan MaxWebhookTimeout = TimeSpan.FromHours(1);

    /// <summary>More retries than this would hold a check for hours (Flagger's backoff reaches 30 s per wait).</summary>
    public const int MaxWebhookRetries = 100;

    /// <summary>A webhook without a type is a rollout check, as in Flagger.</summary>
    public const WebhookType DefaultWebhookType = WebhookType.Rollout;

    private static readonly (string Name, WebhookType Value)[] WebhookTypes =
        [.. Enum.GetValues<WebhookType>().Select(t => (WebhookSpec.NameOf(t), t))];

    /// <summary>
    /// Webhooks with a url are validated and kept; the daemon calls them as Flagger does. A webhook without a url
    /// (only metadata for some other tool) has nothing to call and is dropped.
    /// </summary>
    private static List<WebhookSpec> ReadWebhooks(MapReader analysis)
    {
        var problems = analysis.Problems;
        var webhooks = new List<WebhookSpec>();
        var list = analysis.List("webhooks");
        if (list is null)
        {
            return webhooks;
        }

        var seen = new Dictionary<string, Mark>(StringComparer.Ordinal);
        for (var i = 0; i < list.Children.Count; i++)
        {
            var item = list.Children[i];
            var path = $"{analysis.PathOf("webhooks")}[{i}]";
            if (item is not YamlMappingNode map)
            {
                problems.Error(item, $"{path} must be a mapping with name, type and url, got {Scalars.Describe(item)}.");
                continue;
            }

            var hook = new MapReader(map, path, problems);
            var errorsBefore = problems.ErrorCount;
            var name = hook.String("name", required: true);
            var typeNode = hook.Node("type");
            var type = DefaultWebhookType;
            if (typeNode is not null && Scalars.TryChoice(typeNode, hook.PathOf("type"), problems, WebhookTypes, out var written))
            {
                type = written;
            }

            var url = hook.String("url");
            var timeout = hook.Duration("timeout", MaxWebhookTimeout) ?? WebhookSpec.DefaultTimeout;
            var retries = hook.Integer("retries", 0, MaxWebhookRetries) ?? 0;
            var disableTls = hook.Bool("disableTLS") ?? false;
            var metadata = hook.StringMap("metadata") ?? new Dictionary<string, string>(StringComparer.Ordinal);
            hook.Ignore("muteAlert", "GateStream sends no alerts");
            hook.Finish();

            if (name is not null)
            {
                if (seen.TryGetValue(name, out var first))
                {
                    problems.Error(hook.At("name"), $"webhook '{name}' is listed twice (first at line {first.Line}); webhook names must be unique.");
                    continue;
                }

                seen.Add(name, hook.At("name"));
            }

            if (url is null)
            {
                if (!hook.Has("url"))
                {
                    problems.Warning(map, $"webhook '{name}' has no url and is ignored: there is nothing to call.");
                }
                else
                {
                    problems.Error(hook.KeyNode("url")!, $"{hook.PathOf("url")} has no value; give the webhook's http or https address, or remove the key.");
                }

                continue;
            }

            if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps) || uri.Host.Length == 0)
            {
                problems.Error(hook.At("url"), $"{hook.PathOf("url")} '{url}' must be an absolute http or https address, e.g. http://flagger-loadtester.test/.");
                continue;
            }

            if (name is null || problems.ErrorCount != errorsBefore)
            {
                continue;
            }

            if (disableTls && uri.Scheme == Uri.UriSchemeHttps)
            {
                problems.Warning(hook.KeyNode("disableTLS")!, $"webhook '{name}': disableTLS is set, so the certificate of {uri.Host} is not verified, as in Flagger.");
            }

            webhooks.Add(new WebhookSpec(name, type, url, timeout, metadata) { Retries = retries, DisableTls = disableTls });
        }

        return webhooks;
    }
}
