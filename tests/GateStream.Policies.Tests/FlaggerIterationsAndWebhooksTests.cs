using GateStream.Core.Policies;
using static GateStream.Policies.Tests.PolicyTestKit;

namespace GateStream.Policies.Tests;

/// <summary>Flagger Canaries that used to be refused: iterations (blue/green, A/B) and analyses gated by webhooks alone.</summary>
public sealed class FlaggerIterationsAndWebhooksTests
{
    [Fact]
    public void A_blue_green_analysis_loads_with_its_iterations_and_weight_zero()
    {
        const string yaml = """
            apiVersion: flagger.app/v1beta1
            kind: Canary
            metadata: { name: shop-bg, namespace: shop }
            spec:
              provider: kubernetes
              targetRef: { apiVersion: apps/v1, kind: Deployment, name: shop }
              analysis:
                interval: 30s
                threshold: 3
                iterations: 6
                metrics:
                  - name: request-success-rate
                    thresholdRange: { min: 98.5 }
                webhooks:
                  - name: warm-up
                    type: pre-rollout
                    url: http://traffic-maker.shop/start
                    timeout: 20s
                    retries: 2
                    metadata: { rps: "40" }
            """;

        var result = PolicyLoader.LoadText(yaml, "bg.yaml");

        AssertLoaded(result);
        var policy = result.Policies!.Policies[0];
        Assert.Equal(6, policy.Flagger!.Iterations);
        Assert.True(policy.Flagger.UsesIterations);
        Assert.Empty(policy.Flagger.Match);
        Assert.Equal(3, policy.Flagger.Threshold);
        Assert.Equal("shop", policy.Flagger.Namespace);
        Assert.Equal(0, policy.Progression.InitialWeight);
        var hook = Assert.Single(policy.Webhooks);
        Assert.Equal(WebhookType.PreRollout, hook.Type);
        Assert.Equal(TimeSpan.FromSeconds(20), hook.Timeout);
        Assert.Equal(2, hook.Retries);
        Assert.Equal("40", hook.Metadata["rps"]);
        Assert.DoesNotContain(result.Warnings, w => w.Message.Contains("iterations", StringComparison.Ordinal));
    }

    [Fact]
    public void An_ab_analysis_keeps_its_match_conditions_as_routing_information()
    {
        const string yaml = """
            apiVersion: flagger.app/v1beta1
            kind: Canary
            metadata: { name: shop-ab }
            spec:
              targetRef: { name: shop }
              analysis:
                interval: 1m
                threshold: 2
                iterations: 12
                stepWeight: 10
                match:
                  - headers:
                      x-beta-user:
                        exact: "yes"
                  - headers:
                      cookie:
                        regex: "^(.*?;)?(beta=on)(;.*)?$"
                metrics:
                  - name: request-duration
                    thresholdRange: { max: 400 }
            """;

        var result = PolicyLoader.LoadText(yaml, "ab.yaml");

        AssertLoaded(result);
        var flagger = result.Policies!.Policies[0].Flagger!;
        Assert.Equal(12, flagger.Iterations);
        Assert.Equal(["headers.x-beta-user.exact=yes", "headers.cookie.regex=^(.*?;)?(beta=on)(;.*)?$"], flagger.Match);
        Assert.Equal(FlaggerAnalysisSpec.DefaultNamespace, flagger.Namespace);
        WarningAt(result, At(yaml, 10, "stepWeight"), "stepWeight is ignored: iterations is set");
    }

    [Fact]
    public void Match_without_iterations_is_ignored_as_flagger_ignores_it()
    {
        const string yaml = """
            apiVersion: flagger.app/v1beta1
            kind: Canary
            metadata: { name: weighted }
            spec:
              targetRef: { name: shop }
              analysis:
                stepWeight: 20
                match:
                  - headers: { x-canary: { exact: insider } }
                metrics:
                  - name: error-rate
                    thresholdRange: { max: 0.01 }
            """;

        var result = PolicyLoader.LoadText(yaml, "weighted.yaml");

        AssertLoaded(result);
        Assert.Empty(result.Policies!.Policies[0].Flagger!.Match);
        WarningAt(result, At(yaml, 9, "- headers"), "Flagger runs A/B testing only with iterations");
    }

    [Fact]
    public void An_analysis_gated_by_webhooks_alone_loads()
    {
        const string yaml = """
            apiVersion: flagger.app/v1beta1
            kind: Canary
            metadata: { name: api-hooks }
            spec:
              targetRef: { name: api }
              analysis:
                interval: 15s
                threshold: 2
                stepWeight: 25
                webhooks:
                  - name: approve-start
                    type: confirm-rollout
                    url: http://approvals.ops/api
                  - name: smoke
                    url: http://smoke.ops/run
                    disableTLS: true
                  - name: abort
                    type: rollback
                    url: https://abort.ops/api
            """;

        var result = PolicyLoader.LoadText(yaml, "hooks.yaml");

        AssertLoaded(result);
        var policy = result.Policies!.Policies[0];
        Assert.Empty(policy.Rules);
        Assert.Equal([WebhookType.ConfirmRollout, WebhookType.Rollout, WebhookType.Rollback], policy.Webhooks.Select(h => h.Type));
        Assert.True(policy.Webhooks[1].DisableTls);
        Assert.Empty(result.Warnings); // disableTLS over http verifies nothing anyway
    }

    [Fact]
    public void An_analysis_with_neither_metrics_nor_webhooks_is_refused_and_one_with_only_event_hooks_warns()
    {
        const string empty = """
            apiVersion: flagger.app/v1beta1
            kind: Canary
            metadata: { name: nothing }
            spec:
              targetRef: { name: api }
              analysis:
                stepWeight: 25
                metrics: []
            """;
        const string events = """
            apiVersion: flagger.app/v1beta1
            kind: Canary
            metadata: { name: events-only }
            spec:
              targetRef: { name: api }
              analysis:
                stepWeight: 25
                webhooks:
                  - { name: tell, type: event, url: "http://events.ops/" }
            """;

        var refused = PolicyLoader.LoadText(empty, "nothing.yaml");
        var loaded = PolicyLoader.LoadText(events, "events.yaml");

        Assert.Contains("needs at least one metric or webhook", Assert.Single(refused.Errors).Message, StringComparison.Ordinal);
        AssertLoaded(loaded);
        Assert.Contains(loaded.Warnings, w => w.Message.Contains("decide nothing", StringComparison.Ordinal));
    }

    [Fact]
    public void Bad_iterations_and_retries_are_reported_where_they_are()
    {
        const string yaml = """
            apiVersion: flagger.app/v1beta1
            kind: Canary
            metadata: { name: bad }
            spec:
              targetRef: { name: api }
              analysis:
                iterations: 0
                match: [ "x-canary" ]
                webhooks:
                  - name: smoke
                    url: http://smoke.ops/run
                    retries: -1
            """;

        var result = PolicyLoader.LoadText(yaml, "bad.yaml");

        Assert.False(result.Success);
        ErrorAt(result, At(yaml, 7, "0"), "iterations");
        ErrorAt(result, At(yaml, 8, "\"x-canary\""), "must be a mapping");
        ErrorAt(result, At(yaml, 12, "-1"), "retries");
    }
}
