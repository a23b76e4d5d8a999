using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using GateStream.Daemon.Tests.Integration;
using YamlDotNet.RepresentationModel;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Http;

/// <summary>
/// The AnalysisTemplate in docs/integrations.md, evaluated as Argo Rollouts' web metric provider evaluates it: GET the
/// URL with the args filled in, a non-2xx answer is an error, take the value at <c>jsonPath</c> as <c>result</c>,
/// success / failure / inconclusive from the two conditions. Run against a real daemon through every gate phase.
/// </summary>
public partial class ArgoWebMetricTests
{
    private enum Measurement
    {
        Successful,
        Failed,
        Inconclusive,
        Error,
    }

    private sealed record WebMetric(string Url, string JsonPath, string SuccessCondition, string FailureCondition);

    private static WebMetric Template()
    {
        var yaml = IntegrationDocs.Section("argo-analysis-template");
        var block = yaml[(yaml.IndexOf("```yaml\n", StringComparison.Ordinal) + 8)..yaml.LastIndexOf("```", StringComparison.Ordinal)];
        var stream = new YamlStream();
        stream.Load(new StringReader(block));
        var root = (YamlMappingNode)stream.Documents[0].RootNode;
        Assert.Equal("AnalysisTemplate", root["kind"].ToString());
        var metric = (YamlMappingNode)((YamlSequenceNode)((YamlMappingNode)root["spec"])["metrics"]).Children.Single();
        var web = (YamlMappingNode)((YamlMappingNode)metric["provider"])["web"];
        return new WebMetric(web["url"].ToString(), web["jsonPath"].ToString(), metric["successCondition"].ToString(), metric["failureCondition"].ToString());
    }

    /// <summary>The subset of Argo's jsonPath the template uses: <c>{$.field.field}</c>.</summary>
    private static JsonElement? Select(JsonElement root, string jsonPath)
    {
        var match = JsonPathSyntax().Match(jsonPath);
        Assert.True(match.Success, $"jsonPath '{jsonPath}' is outside the subset this test evaluates ({{$.a.b}})");
        var node = root;
        foreach (var field in match.Groups[1].Value.Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            if (!node.TryGetProperty(field, out node))
            {
                return null;
            }
        }

        return node;
    }

    /// <summary>The subset of Argo's expression language the template uses: <c>result == "TEXT"</c> joined by <c>||</c>.</summary>
    private static bool Holds(string condition, JsonElement result) =>
        condition.Split("||").Any(term =>
        {
            var match = EqualsSyntax().Match(term.Trim());
            Assert.True(match.Success, $"condition term '{term.Trim()}' is outside the subset this test evaluates (result == \"TEXT\")");
            return result.ValueKind == JsonValueKind.String && result.GetString() == match.Groups[1].Value;
        });

    private static async Task<(Measurement Outcome, string Value)> MeasureAsync(HttpClient http, WebMetric metric, string deployment, string canary)
    {
        var url = new Uri(metric.Url.Replace("{{args.deployment}}", deployment, StringComparison.Ordinal).Replace("{{args.canary}}", canary, StringComparison.Ordinal));
        using var response = await http.GetAsync(url.PathAndQuery);
        var body = await response.Content.ReadAsStringAsync();
        if ((int)response.StatusCode is < 200 or >= 300)
        {
            return (Measurement.Error, body);
        }

        using var json = JsonDocument.Parse(body);
        if (Select(json.RootElement, metric.JsonPath) is not { } result)
        {
            return (Measurement.Error, "no value at " + metric.JsonPath);
        }

        var outcome = Holds(metric.FailureCondition, result) ? Measurement.Failed
            : Holds(metric.SuccessCondition, result) ? Measurement.Successful
            : Measurement.Inconclusive;
        return (outcome, result.GetRawText());
    }

    [Fact]
    public async Task The_documented_analysis_template_reads_each_gate_phase_as_documented()
    {
        var metric = Template();
        Assert.StartsWith("http://", metric.Url, StringComparison.Ordinal);
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"));
        await daemon.StartAsync();
        using var http = HttpApiTests.Client(daemon);

        // Before the gate exists: a 404, which Argo counts as a measurement error.
        Assert.Equal(Measurement.Error, (await MeasureAsync(http, metric, "checkout", "v2")).Outcome);

        await HttpApiTests.StartCheckoutAsync(daemon);
        Assert.Equal((Measurement.Successful, "\"PHASE_PROGRESSING\""), await MeasureAsync(http, metric, "checkout", "v2"));

        async Task OverrideAsync(string kind)
        {
            using var response = await HttpApiTests.OverrideAsync(http, "checkout/v2", $$"""{"kind":"OVERRIDE_KIND_{{kind}}","reason":"argo test"}""");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await OverrideAsync("HOLD");
        Assert.Equal((Measurement.Inconclusive, "\"PHASE_HOLDING\""), await MeasureAsync(http, metric, "checkout", "v2"));
        await OverrideAsync("PAUSE");
        Assert.Equal((Measurement.Inconclusive, "\"PHASE_PAUSED\""), await MeasureAsync(http, metric, "checkout", "v2"));
        await OverrideAsync("RESUME");
        Assert.Equal(Measurement.Successful, (await MeasureAsync(http, metric, "checkout", "v2")).Outcome);
        await OverrideAsync("ROLLBACK");
        Assert.Equal((Measurement.Failed, "\"PHASE_ROLLED_BACK\""), await MeasureAsync(http, metric, "checkout", "v2"));

        // The reason a person reads beside the measurement.
        using var gate = JsonDocument.Parse(await http.GetStringAsync("/api/v1/gates/checkout/v2"));
        Assert.Equal("ACTION_ROLLBACK", gate.RootElement.GetProperty("lastDecision").GetProperty("action").GetString());

        // A canary promoted fully measures successful.
        await daemon.Control.StartRolloutAsync(new V1.StartRolloutRequest { Deployment = "checkout", BaselineVersion = "v1", CanaryVersion = "v3" }, TestDaemon.Bearer());
        using (var full = await HttpApiTests.OverrideAsync(http, "checkout/v3", """{"kind":"OVERRIDE_KIND_PROMOTE_FULL","reason":"argo test"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, full.StatusCode);
        }

        Assert.Equal((Measurement.Successful, "\"PHASE_SUCCEEDED\""), await MeasureAsync(http, metric, "checkout", "v3"));
    }

    [GeneratedRegex(@"^\{\$((?:\.[A-Za-z0-9_]+)*)\}$")]
    private static partial Regex JsonPathSyntax();

    [GeneratedRegex("^result == \"([^\"]*)\"$")]
    private static partial Regex EqualsSyntax();
}
