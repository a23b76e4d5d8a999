using GateStream.Core.Policies;
using static GateStream.Policies.Tests.PolicyTestKit;

namespace GateStream.Policies.Tests;

/// <summary>Flagger MetricTemplates beside Canaries: templateRef resolution, rendering, refusals with positions.</summary>
public sealed class MetricTemplateTests : IDisposable
{
    private const string Templates = """
        apiVersion: flagger.app/v1beta1
        kind: MetricTemplate
        metadata:
          name: checkout-latency
          namespace: shop
        spec:
          provider:
            type: prometheus
            address: http://prometheus.monitoring:9090/
            secretRef:
              name: prom-reader
            headers:
              X-Scope-OrgID: [tenant-a]
          query: |
            histogram_quantile(0.95,
              sum(rate(http_server_seconds_bucket{namespace="{{ namespace }}", app="{{ target }}", svc="{{ service }}", route="{{ variables.route }}"}[{{ interval }}])) by (le))
        ---
        apiVersion: flagger.app/v1beta1
        kind: MetricTemplate
        metadata:
          name: db-connections
          namespace: platform
        spec:
          provider:
            type: prometheus
            address: https://prometheus.internal
            insecureSkipVerify: true
          query: max(pool_connections_in_use{canary="{{ name }}", ns="{{- namespace -}}"})
        ---
        apiVersion: flagger.app/v1beta1
        kind: MetricTemplate
        metadata:
          name: dd-errors
          namespace: shop
        spec:
          provider:
            type: datadog
            address: https://api.datadoghq.com
          query: sum:errors{*}
        """;

    private const string Canary = """
        apiVersion: flagger.app/v1beta1
        kind: Canary
        metadata:
          name: checkout
          namespace: shop
        spec:
          targetRef: { apiVersion: apps/v1, kind: Deployment, name: checkout-api }
          service: { name: checkout-svc, port: 80 }
          analysis:
            interval: 30s
            threshold: 3
            stepWeight: 20
            maxWeight: 60
            metrics:
              - name: p95 latency
                templateRef: { name: checkout-latency }
                templateVariables: { route: /pay }
                interval: 2m
                thresholdRange: { max: 0.25 }
              - name: db-connections
                templateRef: { name: db-connections, namespace: platform }
                thresholdRange: { min: 1, max: 80 }
              - name: request-success-rate
                thresholdRange: { min: 99 }
        """;

    private readonly string _directory = Directory.CreateTempSubdirectory("gatestream-templates-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void A_templateRef_resolves_across_files_and_renders_as_Flagger_does()
    {
        File.WriteAllText(Path.Combine(_directory, "canary.yaml"), Canary);
        File.WriteAllText(Path.Combine(_directory, "templates.yaml"), Templates);

        var result = PolicyLoader.LoadDirectory(_directory);

        AssertLoaded(result);
        var policy = Assert.Single(result.Policies!.Policies);
        var latency = policy.Rules.Single(r => r.Name == "p95 latency");
        var query = Assert.IsType<MetricQuerySpec>(latency.Query);
        Assert.Equal("shop/checkout-latency", query.Template);
        Assert.Equal(
            "histogram_quantile(0.95, sum(rate(http_server_seconds_bucket{namespace=\"shop\", app=\"checkout-api\", svc=\"checkout-svc\", route=\"/pay\"}[2m])) by (le)) ",
            query.Query);
        Assert.Equal("prometheus", query.Provider!.Type);
        Assert.Equal("http://prometheus.monitoring:9090/", query.Provider.Address);
        Assert.Equal("prom-reader", query.Provider.SecretName);
        Assert.Equal("shop", query.Provider.SecretNamespace);
        Assert.Equal(["tenant-a"], query.Provider.Headers["X-Scope-OrgID"]);
        Assert.Equal(SignalSpec.MetricOf("prometheus:p95 latency", MetricAggregation.Last), latency.Signal);
        Assert.Equal(new ThresholdSpec(ComparisonKind.Absolute, null, 0.25), latency.Threshold);
        Assert.Equal(GateAction.Rollback, latency.Action);
        // A query's result counts for one check: the window is the analysis interval, not the query's range.
        Assert.Equal(TimeSpan.FromSeconds(30), latency.Window);

        var connections = policy.Rules.Single(r => r.Name == "db-connections").Query!;
        Assert.Equal("platform/db-connections", connections.Template);
        Assert.Equal("max(pool_connections_in_use{canary=\"checkout\", ns=\"shop\"})", connections.Query);
        Assert.True(connections.Provider!.InsecureSkipVerify);
        Assert.Null(policy.Rules.Single(r => r.Name == "request-success-rate").Query);

        // The unreferenced Datadog template is kept out of the way with a warning naming its provider.
        WarningAt(result, At(Templates, LineOf(Templates, "type: datadog"), "datadog"), "provider 'datadog', which GateStream does not query");
    }

    [Fact]
    public void An_unresolved_templateRef_is_an_error_at_the_metric()
    {
        var yaml = Canary.Replace("name: checkout-latency }", "name: checkout-latency, namespace: other }", StringComparison.Ordinal) + "\n---\n" + Templates;

        var result = PolicyLoader.LoadText(yaml, "shop.yaml");

        Assert.False(result.Success);
        var error = ErrorAt(result, At(yaml, 15, "name: p95 latency"), "references MetricTemplate 'other/checkout-latency', which no policy file defines");
        Assert.Contains("shop/checkout-latency", error.Message, StringComparison.Ordinal);
        Assert.Single(result.Errors);
    }

    [Fact]
    public void A_template_of_another_provider_is_refused_naming_the_provider_and_where_it_is()
    {
        var yaml = Canary.Replace("name: checkout-latency }", "name: dd-errors }", StringComparison.Ordinal) + "\n---\n" + Templates;

        var result = PolicyLoader.LoadText(yaml, "shop.yaml");

        var error = ErrorAt(result, At(yaml, 15, "name: p95 latency"), "uses MetricTemplate 'shop/dd-errors'");
        var typeLine = LineOf(yaml, "type: datadog");
        Assert.Contains($"(shop.yaml:{typeLine}:", error.Message, StringComparison.Ordinal);
        Assert.Contains("provider 'datadog'; GateStream runs prometheus queries only", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_variable_the_metric_does_not_give_is_an_error_as_Flagger_missingkey()
    {
        var yaml = Canary.Replace("templateVariables: { route: /pay }", "templateVariables: { path: /pay }", StringComparison.Ordinal) + "\n---\n" + Templates;

        var result = PolicyLoader.LoadText(yaml, "shop.yaml");

        var error = ErrorAt(result, At(yaml, 15, "name: p95 latency"), "cannot be rendered");
        Assert.Contains("templateVariables has no 'route' (it has path)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_unknown_template_function_is_an_error_at_load()
    {
        var yaml = Canary + "\n---\n" + Templates.Replace("{{ interval }}", "{{ pod }}", StringComparison.Ordinal);

        var result = PolicyLoader.LoadText(yaml, "shop.yaml");

        ErrorAt(result, At(yaml, 15, "name: p95 latency"), "function 'pod' is not defined");
    }

    [Fact]
    public void A_prometheus_template_needs_an_address_without_credentials()
    {
        const string yaml = """
            apiVersion: flagger.app/v1beta1
            kind: MetricTemplate
            metadata: { name: a }
            spec:
              provider: { type: prometheus }
              query: up
            ---
            apiVersion: flagger.app/v1beta1
            kind: MetricTemplate
            metadata: { name: b }
            spec:
              provider: { type: prometheus, address: "http://admin:secret@prom:9090" }
              query: up
            """;

        var result = PolicyLoader.LoadText(yaml, "t.yaml");

        ErrorAt(result, At(yaml, 5, "provider"), "spec.provider.address is required");
        var credentials = ErrorAt(result, At(yaml, 12, "\"http://admin"), "holds credentials");
        Assert.DoesNotContain("secret", credentials.Message.Replace("secretRef", "", StringComparison.Ordinal).Replace("the secret", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void An_inline_query_runs_against_the_canarys_metrics_server()
    {
        const string yaml = """
            apiVersion: flagger.app/v1beta1
            kind: Canary
            metadata: { name: web }
            spec:
              targetRef: { kind: Deployment, name: web }
              metricsServer: http://prometheus:9090
              analysis:
                interval: 1m
                stepWeight: 10
                metrics:
                  - name: queue depth
                    query: max(queue_depth{app="{{ target }}", ns="{{ namespace }}"})
                    thresholdRange: { max: 100 }
            """;

        var result = PolicyLoader.LoadText(yaml, "web.yaml");

        AssertLoaded(result);
        var query = Assert.Single(result.Policies!.Policies).Rules.Single().Query!;
        Assert.Equal("", query.Template);
        Assert.Equal("max(queue_depth{app=\"web\", ns=\"default\"})", query.Query);
        Assert.Equal("http://prometheus:9090", query.Provider!.Address);

        Assert.DoesNotContain(result.Warnings, w => w.Message.Contains("metricsServer", StringComparison.Ordinal));
        var unused = PolicyLoader.LoadText(yaml.Replace("- name: queue depth\n        query: max(queue_depth{app=\"{{ target }}\", ns=\"{{ namespace }}\"})", "- name: request-success-rate", StringComparison.Ordinal).Replace("max: 100", "min: 99", StringComparison.Ordinal), "web.yaml");
        AssertLoaded(unused);
        WarningAt(unused, At(yaml, 6, "http://prometheus"), "spec.metricsServer is not used: only a metric with an inline query runs against it");

        var without = PolicyLoader.LoadText(yaml.Replace("  metricsServer: http://prometheus:9090\n", "", StringComparison.Ordinal), "web.yaml");
        Assert.False(without.Success);
        Assert.Contains(without.Errors, e => e.Message.Contains("set spec.metricsServer", StringComparison.Ordinal));
    }

    [Fact]
    public void A_metric_with_both_templateRef_and_query_is_refused()
    {
        var yaml = Canary.Replace("templateVariables: { route: /pay }", "query: up", StringComparison.Ordinal) + "\n---\n" + Templates;

        var result = PolicyLoader.LoadText(yaml, "shop.yaml");

        ErrorAt(result, At(yaml, 17, "up"), "has both templateRef and query");
    }

    [Fact]
    public void Two_templates_of_one_name_in_one_namespace_are_refused()
    {
        var yaml = Templates + "\n---\n" + Templates.Split("---")[1].TrimStart('\n', '\r');

        var result = PolicyLoader.LoadText(yaml, "t.yaml");

        Assert.Contains(result.Errors, e => e.Message.Contains("MetricTemplate 'platform/db-connections' is already defined at t.yaml:", StringComparison.Ordinal));
    }

    [Fact]
    public void Error_rate_with_a_templateRef_is_its_template_as_in_Flagger_and_the_Flagger_built_ins_stay_computed()
    {
        var yaml = Canary.Replace("- name: p95 latency", "- name: error-rate", StringComparison.Ordinal)
            .Replace("- name: request-success-rate\n", "- name: request-success-rate\n        templateRef: { name: db-connections, namespace: platform }\n", StringComparison.Ordinal)
            + "\n---\n" + Templates;

        var result = PolicyLoader.LoadText(yaml, "shop.yaml");

        AssertLoaded(result);
        var rules = Assert.Single(result.Policies!.Policies).Rules;
        // Flagger has no error-rate built-in: with a templateRef the metric is the template's query, in its own unit.
        Assert.Equal("shop/checkout-latency", rules.Single(r => r.Name == "error-rate").Query!.Template);
        Assert.Null(rules.Single(r => r.Name == "request-success-rate").Query);
        WarningAt(result, At(yaml, LineOf(yaml, "- name: request-success-rate") + 1, "templateRef"), "GateStream computes 'request-success-rate' itself");
    }

    [Fact]
    public void The_example_in_docs_policies_loads_as_documented()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "GateStream.sln")))
        {
            dir = dir.Parent;
        }

        var doc = File.ReadAllText(Path.Combine(dir!.FullName, "docs", "policies.md"));
        var section = doc[doc.IndexOf("### MetricTemplate queries", StringComparison.Ordinal)..];
        var start = section.IndexOf("```yaml\n", StringComparison.Ordinal) + "```yaml\n".Length;
        var yaml = section[start..section.IndexOf("```", start, StringComparison.Ordinal)];

        var result = PolicyLoader.LoadText(yaml, "payments.yaml");

        AssertLoaded(result);
        var query = Assert.Single(result.Policies!.Policies).Rules.Single().Query!;
        Assert.Equal("apps/db-connections", query.Template);
        Assert.Equal("max(db_connections_in_use{app=\"payments\", namespace=\"apps\"})", query.Query);
    }

    private static int LineOf(string yaml, string text) =>
        yaml.Split('\n').ToList().FindIndex(l => l.Contains(text, StringComparison.Ordinal)) + 1;
}
