using GateStream.Core.Policies;
using static GateStream.Policies.Tests.PolicyTestKit;

namespace GateStream.Policies.Tests;

public class FlaggerCanaryTests
{
    private const string File = "api-deployment.yaml";

    [Fact]
    public void The_articles_canary_loads_as_a_Flagger_policy()
    {
        var yaml = Fixture("article-canary.yaml");

        var result = PolicyLoader.LoadText(yaml, File);

        AssertLoaded(result);
        var policy = Assert.Single(result.Policies!.Policies);
        Assert.Equal("api-deployment", policy.Name);
        Assert.Equal("api", policy.Target);
        Assert.Equal(PolicyForm.Flagger, policy.Form);
        Assert.Equal(ObjectType.Application, policy.ObjectType);
        Assert.Equal(PolicyMode.Enforce, policy.Mode);
        Assert.Equal(File, policy.SourcePath);
        Assert.Matches("^[0-9a-f]{12}$", policy.Revision);
        Assert.Equal(new FlaggerAnalysisSpec(TimeSpan.FromMinutes(1), 5), policy.Flagger);

        var progression = policy.Progression;
        Assert.Equal(10, progression.StepWeight);
        Assert.Equal(50, progression.MaxWeight);
        Assert.Equal(TimeSpan.FromMinutes(1), progression.StepInterval);
        Assert.Equal(0, progression.InitialWeight);
        Assert.Empty(progression.StepWeights);
        Assert.Equal(0, progression.PromotionStepWeight);

        Assert.Collection(
            policy.Rules,
            errorRate =>
            {
                Assert.Equal("error-rate", errorRate.Name);
                Assert.Equal(SignalSpec.ErrorRate, errorRate.Signal);
                Assert.Equal(new ThresholdSpec(ComparisonKind.Absolute, null, 0.05), errorRate.Threshold);
                Assert.Equal(GateAction.Rollback, errorRate.Action);
                Assert.Equal(1, errorRate.MinSamples);
                Assert.Equal(TimeSpan.FromMinutes(2), errorRate.Window);
                Assert.Equal(TimeSpan.Zero, errorRate.For);
                Assert.Null(errorRate.Confidence);
                Assert.Equal(new SourceLocation(File, 18, 7), errorRate.Location);
            },
            duration =>
            {
                Assert.Equal("request-duration", duration.Name);
                Assert.Equal(SignalSpec.LatencyAt(0.99), duration.Signal);
                Assert.Equal("ms", duration.Signal.Unit);
                Assert.Equal(new ThresholdSpec(ComparisonKind.Absolute, null, 0.5), duration.Threshold);
                Assert.Equal(GateAction.Rollback, duration.Action);
                Assert.Equal(TimeSpan.FromMinutes(2), duration.Window);
                Assert.Equal(new SourceLocation(File, 22, 7), duration.Location);
            });

        // The rollback-on-failure webhook has no url: nothing to call, so nothing is kept.
        Assert.Empty(policy.Webhooks);
    }

    [Fact]
    public void The_articles_canary_warns_about_what_it_ignores_and_the_suspicious_latency_unit()
    {
        var yaml = Fixture("article-canary.yaml");

        var result = PolicyLoader.LoadText(yaml, File);

        Assert.Equal(3, result.Warnings.Count);
        WarningAt(result, At(yaml, 10, "service"), "spec.service is ignored");
        var latency = WarningAt(result, At(yaml, 24, "0.5"), "milliseconds");
        Assert.Contains("0.5 ms", latency.Message, StringComparison.Ordinal);
        Assert.Contains("write 500", latency.Message, StringComparison.Ordinal);
        var webhook = WarningAt(result, At(yaml, 27, "name: rollback-on-failure"), "'rollback-on-failure' has no url and is ignored");
        Assert.Contains("nothing to call", webhook.Message, StringComparison.Ordinal);
        Assert.Equal($"{File}:10:3: warning: {result.Warnings[0].Message}", result.Warnings[0].ToString());
    }

    [Fact]
    public void Analysis_defaults_follow_Flagger()
    {
        const string yaml = """
            apiVersion: flagger.app/v1beta1
            kind: Canary
            metadata:
              name: defaults
            spec:
              targetRef: { name: web }
              analysis:
                stepWeight: 20
                metrics:
                  - name: request-success-rate
                    thresholdRange: { min: 99 }
            """;

        var result = PolicyLoader.LoadText(yaml, "defaults.yaml");

        AssertLoaded(result);
        Assert.Empty(result.Warnings);
        var policy = result.Policies!.Policies[0];
        Assert.Equal(new FlaggerAnalysisSpec(TimeSpan.FromSeconds(60), 1), policy.Flagger);
        Assert.Equal(100, policy.Progression.MaxWeight);
        var rule = Assert.Single(policy.Rules);
        Assert.Equal(SignalSpec.SuccessRate, rule.Signal);
        Assert.Equal(new ThresholdSpec(ComparisonKind.Absolute, 99, null), rule.Threshold);
        Assert.Equal(TimeSpan.FromSeconds(60), rule.Window);
    }

    [Fact]
    public void Step_weights_promotion_steps_gatestream_signals_and_webhooks_with_a_url_are_kept()
    {
        const string yaml = """
            apiVersion: flagger.app/v1beta1
            kind: Canary
            metadata:
              name: podinfo
              namespace: test
            spec:
              provider: istio
              targetRef:
                apiVersion: apps/v1
                kind: Deployment
                name: podinfo
              progressDeadlineSeconds: 60
              analysis:
                interval: 30s
                threshold: 10
                stepWeights: [1, 5, 10, 25, 50]
                stepWeightPromotion: 25
                metrics:
                  - name: gatestream:latency-p95
                    thresholdRange: { max: 250 }
                    interval: 1m30s
                  - name: gatestream:metric:queue_depth(max)
                    thresholdRange: { max: 1000 }
                webhooks:
                  - name: load-test
                    url: http://flagger-loadtester.test/
                    timeout: 5s
                    metadata:
                      cmd: "hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/"
                  - name: gate
                    type: confirm-promotion
                    url: https://gate.example.com/approve
            """;

        var result = PolicyLoader.LoadText(yaml, "podinfo.yaml");

        AssertLoaded(result);
        var policy = result.Policies!.Policies[0];
        Assert.Equal([1, 5, 10, 25, 50], policy.Progression.StepWeights);
        Assert.Equal(50, policy.Progression.MaxWeight);
        Assert.Equal(25, policy.Progression.PromotionStepWeight);
        Assert.Equal(TimeSpan.FromSeconds(30), policy.Progression.StepInterval);
        Assert.Equal(SignalSpec.LatencyAt(0.95), policy.Rules[0].Signal);
        Assert.Equal(TimeSpan.FromSeconds(90), policy.Rules[0].Window);
        Assert.Equal(SignalSpec.MetricOf("queue_depth", MetricAggregation.Max), policy.Rules[1].Signal);
        Assert.Equal(TimeSpan.FromSeconds(30), policy.Rules[1].Window);

        Assert.Collection(
            policy.Webhooks,
            load =>
            {
                Assert.Equal("load-test", load.Name);
                Assert.Equal(WebhookType.Rollout, load.Type);
                Assert.Equal("http://flagger-loadtester.test/", load.Url);
                Assert.Equal(TimeSpan.FromSeconds(5), load.Timeout);
                Assert.Equal("hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/", load.Metadata["cmd"]);
            },
            gate =>
            {
                Assert.Equal(WebhookType.ConfirmPromotion, gate.Type);
                Assert.Equal(TimeSpan.FromSeconds(10), gate.Timeout); // Flagger's default
                Assert.Equal(0, gate.Retries);
                Assert.Empty(gate.Metadata);
            });

        // Ignored fields are said out loud; webhooks are called, so they need no warning.
        // A Canary's namespace is read: its MetricTemplate references resolve in it.
        Assert.DoesNotContain(result.Warnings, w => w.Message.StartsWith("metadata.namespace", StringComparison.Ordinal));
        Assert.Contains(result.Warnings, w => w.Message.StartsWith("spec.provider is ignored", StringComparison.Ordinal));
        Assert.DoesNotContain(result.Warnings, w => w.Message.Contains("progressDeadlineSeconds", StringComparison.Ordinal));
        Assert.Equal(TimeSpan.FromSeconds(60), policy.Flagger!.ProgressDeadline);
        Assert.False(policy.Flagger.SkipAnalysis);
        Assert.DoesNotContain(result.Warnings, w => w.Message.Contains("webhook", StringComparison.OrdinalIgnoreCase));
        Assert.Equal("test", policy.Flagger.Namespace);
    }

    [Fact]
    public void A_bad_canary_reports_every_problem_where_it_is()
    {
        const string yaml = """
            apiVersion: flagger.app/v1beta1
            kind: Canary
            metadata:
              name: broken
            spec:
              targetRef:
                kind: Deployment
              analysis:
                interval: 1 minute
                treshold: 5
                maxWeight: 30
                stepWeight: 40
                metrics:
                  - name: request-sucess-rate
                    thresholdRange: { min: 99 }
                  - name: error-rate
                    thresholdRange: { max: 5 }
                  - name: latency
                    templateRef: { name: latency, namespace: flagger }
                    thresholdRange: { max: 500 }
                webhooks:
                  - name: smoke
                    type: pre-rolout
                    url: ftp://tests.example.com/
            """;

        var result = PolicyLoader.LoadText(yaml, "broken.yaml");

        Assert.False(result.Success);
        Assert.Null(result.Policies);
        ErrorAt(result, At(yaml, 6, "targetRef"), "spec.targetRef.name is required");
        ErrorAt(result, At(yaml, 9, "1 minute"), "spec.analysis.interval '1 minute' has an unknown unit");
        ErrorAt(result, At(yaml, 10, "treshold"), "unknown key 'treshold' in spec.analysis; did you mean 'threshold'?");
        ErrorAt(result, At(yaml, 12, "40"), "stepWeight 40 is larger than maxWeight 30");
        ErrorAt(result, At(yaml, 14, "request-sucess-rate"), "unknown metric 'request-sucess-rate'");
        ErrorAt(result, At(yaml, 14, "request-sucess-rate"), "Did you mean 'request-success-rate'?");
        ErrorAt(result, At(yaml, 17, "5"), "error-rate, which is a ratio from 0 to 1; for 5% write 0.05");
        ErrorAt(result, At(yaml, 23, "pre-rolout"), "did you mean 'pre-rollout'?");
        ErrorAt(result, At(yaml, 24, "ftp://"), "must be an absolute http or https address");
        // The templateRef metric (line 18) is read; it would be resolved against the MetricTemplates once the Canary has no errors.
        Assert.Equal(8, result.Errors.Count);
    }

    [Fact]
    public void Success_rate_written_as_a_ratio_warns()
    {
        const string yaml = """
            apiVersion: flagger.app/v1beta1
            kind: Canary
            metadata: { name: ratio }
            spec:
              targetRef: { name: web }
              analysis:
                stepWeight: 10
                metrics:
                  - name: request-success-rate
                    thresholdRange: { min: 0.99 }
            """;

        var result = PolicyLoader.LoadText(yaml, "ratio.yaml");

        AssertLoaded(result);
        var warning = WarningAt(result, At(yaml, 10, "0.99"), "percent");
        Assert.Contains("write 99", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_canary_with_neither_step_weights_nor_iterations_is_refused()
    {
        const string yaml = """
            apiVersion: flagger.app/v1beta1
            kind: Canary
            metadata: { name: nosteps }
            spec:
              targetRef: { name: web }
              analysis:
                interval: 1m
                metrics:
                  - name: request-success-rate
                    thresholdRange: { min: 99 }
            """;

        var result = PolicyLoader.LoadText(yaml, "nosteps.yaml");

        Assert.False(result.Success);
        Assert.Contains("needs stepWeight (with maxWeight) or stepWeights for a weighted canary, or iterations", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }
}
