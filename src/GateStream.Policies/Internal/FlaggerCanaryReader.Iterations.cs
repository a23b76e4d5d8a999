using System.Text;
using GateStream.Core.Policies;
using YamlDotNet.RepresentationModel;

namespace GateStream.Policies.Internal;

internal static partial class FlaggerCanaryReader
{
    /// <summary>More checks than this is a typo: at Flagger's 10 s minimum interval it is more than a day.</summary>
    public const int MaxIterations = 10_000;

    /// <summary>
    /// Blue/green and A/B testing (<c>analysis.iterations</c>): the weight stays 0 while the iterations are counted, and
    /// the last check promotes to 100 at once. Weighted-canary fields have no meaning here; Flagger ignores them too.
    /// </summary>
    private static ProgressionSpec IterationsProgression(MapReader analysis, TimeSpan interval)
    {
        foreach (var key in (ReadOnlySpan<string>)["stepWeight", "stepWeights", "maxWeight", "stepWeightPromotion"])
        {
            if (analysis.KeyNode(key) is { } node)
            {
                analysis.Problems.Warning(node, $"{analysis.PathOf(key)} is ignored: iterations is set, so this is a blue/green or A/B analysis, as in Flagger, not a weighted canary.");
            }
        }

        analysis.Allow("stepWeight", "stepWeights", "maxWeight", "stepWeightPromotion");
        return new ProgressionSpec
        {
            StepWeight = 100,
            MaxWeight = 100,
            StepInterval = interval,
            InitialWeight = 0,
        };
    }

    /// <summary>
    /// A/B testing's <c>analysis.match</c>: kept as one line per condition, reported with the gate's evidence. The
    /// router applies it; GateStream neither configures nor checks it.
    /// </summary>
    private static List<string> ReadMatch(MapReader analysis, int iterations)
    {
        var problems = analysis.Problems;
        var conditions = new List<string>();
        var list = analysis.List("match");
        if (list is null)
        {
            return conditions;
        }

        for (var i = 0; i < list.Children.Count; i++)
        {
            if (list.Children[i] is not YamlMappingNode condition || condition.Children.Count == 0)
            {
                problems.Error(list.Children[i], $"{analysis.PathOf("match")}[{i}] must be a mapping such as headers: {{ x-canary: {{ exact: insider }} }}, got {Scalars.Describe(list.Children[i])}.");
                continue;
            }

            var line = new StringBuilder();
            Flatten(condition, "", line);
            conditions.Add(line.ToString());
        }

        if (iterations == 0 && conditions.Count > 0)
        {
            problems.Warning(list, $"{analysis.PathOf("match")} is ignored: Flagger runs A/B testing only with iterations; this analysis is a weighted canary.");
            conditions.Clear();
        }

        return conditions;
    }

    // headers: { x-canary: { exact: insider } } -> headers.x-canary.exact=insider
    private static void Flatten(YamlNode node, string prefix, StringBuilder line)
    {
        switch (node)
        {
            case YamlMappingNode map:
                foreach (var (key, value) in map.Children)
                {
                    var name = key is YamlScalarNode { Value: { } k } ? k : "?";
                    Flatten(value, prefix.Length == 0 ? name : $"{prefix}.{name}", line);
                }

                break;
            case YamlSequenceNode seq:
                for (var i = 0; i < seq.Children.Count; i++)
                {
                    Flatten(seq.Children[i], $"{prefix}[{i}]", line);
                }

                break;
            default:
                if (line.Length > 0)
                {
                    line.Append(", ");
                }

                line.Append(prefix).Append('=').Append(node is YamlScalarNode { Value: { } v } ? v : "");
                break;
        }
    }

    /// <summary>
    /// An analysis needs a metric or a webhook: with neither, Flagger promotes without checking anything. Webhooks
    /// alone gate it (rollout, pre-rollout and rollback hooks decide; confirm hooks wait).
    /// </summary>
    private static void CheckSomethingGates(MapReader analysis, List<RuleSpec> rules, List<WebhookSpec> webhooks)
    {
        if (rules.Count > 0 || (analysis.List("metrics") is { Children.Count: > 0 }))
        {
            return;
        }

        if (webhooks.Count == 0)
        {
            var at = analysis.List("metrics")?.Start ?? analysis.Anchor;
            analysis.Problems.Error(at, $"{analysis.Path} needs at least one metric or webhook: with neither, nothing is checked before promotion.");
            return;
        }

        if (webhooks.TrueForAll(h => h.Type is WebhookType.Event or WebhookType.PostRollout))
        {
            analysis.Problems.Warning(analysis.Anchor, $"{analysis.Path} has no metric and only event or post-rollout webhooks, whose answers decide nothing: every check passes and the canary advances at each interval.");
        }
    }
}
