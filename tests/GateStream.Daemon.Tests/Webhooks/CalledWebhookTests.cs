using System.Net.Http.Json;
using System.Text.Json;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Webhooks;

/// <summary>Shared steps of the tests where a running daemon calls the webhooks of an imported Flagger Canary.</summary>
internal static class CalledWebhooks
{
    /// <summary>Flagger's shortest interval: each check is 10 s apart, so these tests wait on decisions, up to this long.</summary>
    public static readonly TimeSpan DecisionTimeout = TimeSpan.FromSeconds(90);

    public static async Task<List<V1.Decision>> DecisionsUntilAsync(TestDaemon daemon, Func<List<V1.Decision>, bool> done)
    {
        using var watch = await daemon.WatchAsync(new V1.WatchRequest { FromStart = true });
        return await TestDaemon.CollectAsync(watch, done, DecisionTimeout);
    }

    /// <summary>A load test, as Flagger's loadtester runs one from a pre-rollout hook: requests to the canary until stopped.</summary>
    public static void StartLoad(TestDaemon daemon, string deployment, string version, CancellationToken stop) =>
        _ = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await daemon.PushAsync(EventBatches.Batch(deployment, version, 50));
                await Task.Delay(200, stop).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }, stop);

    public static async Task<JsonElement> GateJsonAsync(TestDaemon daemon, string deployment)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{daemon.HttpPort}") };
        return await http.GetFromJsonAsync<JsonElement>(new Uri($"/api/v1/gates/{deployment}", UriKind.Relative));
    }

    public static V1.Evidence Evidence(V1.Decision decision, string rule) => decision.Evidence.Single(e => e.Rule == rule);
}

/// <summary>
/// A weighted canary with every gating hook type and a load test: confirm-rollout, a pre-rollout hook that starts the
/// canary's traffic, rollout, confirm-traffic-increase (refusing once), confirm-promotion, event and post-rollout.
/// </summary>
public sealed class WeightedCanaryWebhookTests
{
    [Fact]
    public async Task Every_hook_type_is_called_with_flaggers_payload_and_gates_as_flagger_does()
    {
        await using var hooks = await HookReceiver.StartAsync();
        using var stop = new CancellationTokenSource();
        var yaml = $$"""
            apiVersion: flagger.app/v1beta1
            kind: Canary
            metadata: { name: storefront, namespace: shop }
            spec:
              targetRef: { name: storefront }
              analysis:
                interval: 10s
                threshold: 2
                stepWeight: 50
                maxWeight: 50
                metrics:
                  - name: request-success-rate
                    thresholdRange: { min: 99 }
                webhooks:
                  - { name: approve, type: confirm-rollout, url: "{{hooks.Url}}/approve" }
                  - name: load-test
                    type: pre-rollout
                    url: {{hooks.Url}}/load
                    metadata: { cmd: "push 50 requests every 200ms" }
                  - { name: smoke, url: "{{hooks.Url}}/smoke" }
                  - { name: ramp, type: confirm-traffic-increase, url: "{{hooks.Url}}/ramp" }
                  - { name: promote, type: confirm-promotion, url: "{{hooks.Url}}/promote" }
                  - { name: notify, type: event, url: "{{hooks.Url}}/events", metadata: { channel: deploys } }
                  - { name: cleanup, type: post-rollout, url: "{{hooks.Url}}/done" }
            """;
        await using var daemon = await TestDaemon.StartAsync(yaml);
        hooks.On("/load", _ =>
        {
            CalledWebhooks.StartLoad(daemon, "storefront", "v2", stop.Token);
            return 200;
        });
        hooks.On("/ramp", r => hooks.To("/ramp").Count == 1 ? 403 : 200); // refuses the first time
        try
        {
            await daemon.StartRolloutAsync("storefront");
            var decisions = await CalledWebhooks.DecisionsUntilAsync(daemon, d => d.Any(x => x.Phase == V1.Phase.Succeeded || x.Phase == V1.Phase.RolledBack));

            // Step to 50 after pre-rollout (no analysis), hold while ramp refuses (not a failed check), then promote.
            Assert.Equal(
                [(V1.Action.Promote, 50u), (V1.Action.Hold, 50u), (V1.Action.Promote, 100u)],
                decisions.Select(d => (d.Action, d.Weight)));
            Assert.Contains("pre-rollout webhooks passed", decisions[0].Reason, StringComparison.Ordinal);
            Assert.Contains("Webhook 'ramp' (confirm-traffic-increase) answered 403", decisions[1].Reason, StringComparison.Ordinal);
            Assert.Contains("not a failed check", decisions[1].Reason, StringComparison.Ordinal);
            Assert.Contains("webhooks approved", decisions[2].Reason, StringComparison.Ordinal);

            // Evidence: each hook's latest answer on the decision it affected.
            var ramp = CalledWebhooks.Evidence(decisions[1], "ramp");
            Assert.Equal("webhook:confirm-traffic-increase", ramp.Signal);
            Assert.Equal(V1.RuleStatus.Firing, ramp.Status);
            Assert.Equal(403, ramp.Observed);
            Assert.Equal("HTTP status", ramp.Unit);
            Assert.Equal(1ul, ramp.Samples);
            Assert.Contains($"POST {hooks.Url}/ramp answered 403", ramp.Comparison, StringComparison.Ordinal);
            var load = CalledWebhooks.Evidence(decisions[0], "load-test");
            Assert.Equal((V1.RuleStatus.Passing, 200.0), (load.Status, load.Observed));
            Assert.Equal(V1.RuleStatus.Passing, CalledWebhooks.Evidence(decisions[2], "promote").Status);
            Assert.Equal(200, CalledWebhooks.Evidence(decisions[2], "ramp").Observed);

            // Calls, in Flagger's order: approve and load-test once, smoke at each analysed check, ramp twice, promote once.
            Assert.Single(hooks.To("/approve"));
            Assert.Single(hooks.To("/load"));
            Assert.Equal(2, hooks.To("/smoke").Count);
            Assert.Equal(2, hooks.To("/ramp").Count);
            Assert.Single(hooks.To("/promote"));
            Assert.True(hooks.To("/load")[0].At <= hooks.To("/smoke")[0].At);

            // Flagger's payload: name, namespace, phase, checksum (one per rollout), the hook's metadata.
            var all = hooks.Requests;
            Assert.All(all, r =>
            {
                Assert.Equal("application/json", r.ContentType);
                Assert.Equal("storefront", r.Body.GetProperty("name").GetString());
                Assert.Equal("shop", r.Body.GetProperty("namespace").GetString());
            });
            Assert.Single(all.Select(r => r.Body.GetProperty("checksum").GetString()).Distinct());
            Assert.Equal("Initialized", hooks.To("/approve")[0].Phase);
            Assert.Equal("Progressing", hooks.To("/load")[0].Phase);
            Assert.Equal("push 50 requests every 200ms", hooks.To("/load")[0].Metadata("cmd"));
            Assert.False(hooks.To("/smoke")[0].Body.TryGetProperty("metadata", out _)); // omitted when empty, as Go's omitempty

            // Fire and forget: an event per decision (Flagger's event metadata, the hook's beside it), post-rollout once done.
            await Eventually.Until(() => hooks.To("/events").Count == 3 && hooks.To("/done").Count == 1);
            var events = hooks.To("/events").OrderBy(e => long.Parse(e.Metadata("timestamp")!, System.Globalization.CultureInfo.InvariantCulture)).ToList();
            Assert.Equal(decisions.Select(d => d.Reason), events.Select(e => e.Metadata("eventMessage")));
            Assert.Equal(["Normal", "Warning", "Normal"], events.Select(e => e.Metadata("eventType")));
            Assert.All(events, e => Assert.Equal("deploys", e.Metadata("channel")));
            Assert.Equal("Succeeded", hooks.To("/done")[0].Phase);
            await Eventually.Until(async () =>
            {
                var rules = (await CalledWebhooks.GateJsonAsync(daemon, "storefront")).GetProperty("rules").EnumerateArray();
                return rules.Any(r => r.GetProperty("rule").GetString() == "cleanup" && r.GetProperty("status").GetString() == "RULE_STATUS_PASSING");
            });
        }
        finally
        {
            await stop.CancelAsync();
        }
    }
}

/// <summary>Rollout hooks with retries and a timeout, and a rollback hook, against a running daemon.</summary>
public sealed class RollbackAndRetryWebhookTests
{
    [Fact]
    public async Task Retries_recover_a_flaky_hook_a_timeout_is_a_failed_check_and_a_rollback_hook_rolls_back()
    {
        await using var hooks = await HookReceiver.StartAsync();
        var yaml = $$"""
            apiVersion: flagger.app/v1beta1
            kind: Canary
            metadata: { name: payments }
            spec:
              targetRef: { name: payments }
              analysis:
                interval: 10s
                threshold: 2
                stepWeight: 20
                webhooks:
                  - { name: flaky, type: rollout, url: "{{hooks.Url}}/flaky", retries: 2 }
                  - { name: slow, type: rollout, url: "{{hooks.Url}}/slow", timeout: 1s }
                  - { name: abort, type: rollback, url: "{{hooks.Url}}/abort" }
            """;
        await using var daemon = await TestDaemon.StartAsync(yaml);
        hooks.On("/flaky", r => hooks.To("/flaky").Count <= 2 ? 503 : 200);
        hooks.On("/slow", async (_, cancel) =>
        {
            await Task.Delay(Timeout.Infinite, cancel).ContinueWith(_ => { }, TaskScheduler.Default); // never answers in time
            return 200;
        });
        var abort = false;
        hooks.On("/abort", _ => Volatile.Read(ref abort) ? 200 : 404);

        await daemon.StartRolloutAsync("payments");
        var decisions = await CalledWebhooks.DecisionsUntilAsync(daemon, d => d.Count == 2);
        Volatile.Write(ref abort, true);
        decisions = await CalledWebhooks.DecisionsUntilAsync(daemon, d => d.Count == 3);

        Assert.Equal([(V1.Action.Promote, 20u), (V1.Action.Hold, 20u), (V1.Action.Rollback, 0u)], decisions.Select(d => (d.Action, d.Weight)));

        // The flaky hook answered 503 twice, then 200 on its third attempt (1 s and 2 s apart, as Flagger's backoff).
        var flakyCalls = hooks.To("/flaky");
        Assert.Equal(3, flakyCalls.Count);
        Assert.True(flakyCalls[2].At - flakyCalls[1].At >= TimeSpan.FromSeconds(1.5), "the second retry waits 2 s");
        var flaky = CalledWebhooks.Evidence(decisions[1], "flaky");
        Assert.Equal((V1.RuleStatus.Passing, 200.0, 3ul), (flaky.Status, flaky.Observed, flaky.Samples));

        // The slow hook timed out: no status, a failed check (1 of 2), holding.
        var slow = CalledWebhooks.Evidence(decisions[1], "slow");
        Assert.Equal(V1.RuleStatus.Firing, slow.Status);
        Assert.False(slow.HasObserved);
        Assert.Contains("no answer within the timeout (1s)", slow.Comparison, StringComparison.Ordinal);
        Assert.Contains("Webhook 'slow' (rollout) failed after 1 attempt", decisions[1].Reason, StringComparison.Ordinal);
        Assert.Contains("failed checks 1 of 2", decisions[1].Reason, StringComparison.Ordinal);

        // The rollback hook said 404 (no rollback) until it said 200: rolled back at once, whatever the threshold.
        Assert.Contains("Webhook 'abort' (rollback) answered 200", decisions[2].Reason, StringComparison.Ordinal);
        Assert.Equal(V1.RuleStatus.Firing, CalledWebhooks.Evidence(decisions[2], "abort").Status);
        Assert.True(hooks.To("/abort").Count >= 3);
        Assert.Equal("Progressing", hooks.To("/abort")[^1].Phase);
        var metrics = await daemon.MetricsTextAsync();
        Assert.Equal(1, MetricsText.Value(metrics, "gatestream_webhook_calls_total{type=\"rollout\",outcome=\"success\"}")); // flaky, after its retries
        Assert.Equal(1, MetricsText.Value(metrics, "gatestream_webhook_calls_total{type=\"rollout\",outcome=\"error\"}")); // slow
        Assert.Equal(1, MetricsText.Value(metrics, "gatestream_webhook_calls_total{type=\"rollback\",outcome=\"success\"}"));
        Assert.True(MetricsText.Value(metrics, "gatestream_webhook_calls_total{type=\"rollback\",outcome=\"failure\"}") >= 2);
    }
}

/// <summary>Blue/green: iterations with a pre-rollout load test, weight 0 until promotion.</summary>
public sealed class BlueGreenWebhookTests
{
    [Fact]
    public async Task A_blue_green_canary_counts_its_iterations_on_load_test_traffic_then_promotes()
    {
        await using var hooks = await HookReceiver.StartAsync();
        using var stop = new CancellationTokenSource();
        var yaml = $$"""
            apiVersion: flagger.app/v1beta1
            kind: Canary
            metadata: { name: catalog }
            spec:
              provider: kubernetes
              targetRef: { name: catalog }
              analysis:
                interval: 10s
                threshold: 1
                iterations: 2
                metrics:
                  - name: request-success-rate
                    thresholdRange: { min: 99 }
                webhooks:
                  - { name: load-test, type: pre-rollout, url: "{{hooks.Url}}/load" }
                  - { name: go, type: confirm-promotion, url: "{{hooks.Url}}/go" }
            """;
        await using var daemon = await TestDaemon.StartAsync(yaml);
        hooks.On("/load", _ =>
        {
            CalledWebhooks.StartLoad(daemon, "catalog", "v2", stop.Token);
            return 202; // Flagger counts 202 as success too
        });
        try
        {
            await daemon.StartRolloutAsync("catalog");

            // Iteration 1 starts the load test; no decision, weight 0, the iterations are evidence.
            await Eventually.Until(() => hooks.To("/load").Count == 1, CalledWebhooks.DecisionTimeout);
            await Eventually.Until(async () =>
            {
                var gate = await CalledWebhooks.GateJsonAsync(daemon, "catalog");
                return gate.GetProperty("rules").EnumerateArray().Any(r => r.GetProperty("rule").GetString() == "iterations" && r.GetProperty("observed").GetDouble() == 1);
            });
            var view = await CalledWebhooks.GateJsonAsync(daemon, "catalog");
            Assert.Equal(0, view.GetProperty("weight").GetInt32());
            var iterations = view.GetProperty("rules").EnumerateArray().Single(r => r.GetProperty("rule").GetString() == "iterations");
            Assert.Equal(2, iterations.GetProperty("threshold").GetDouble());
            Assert.Contains("blue/green", iterations.GetProperty("comparison").GetString(), StringComparison.Ordinal);

            var decisions = await CalledWebhooks.DecisionsUntilAsync(daemon, d => d.Count >= 1);
            var promoted = Assert.Single(decisions);
            Assert.Equal((V1.Action.Promote, 100u, V1.Phase.Succeeded), (promoted.Action, promoted.Weight, promoted.Phase));
            Assert.Contains("all 2 iterations", promoted.Reason, StringComparison.Ordinal);
            var counted = CalledWebhooks.Evidence(promoted, "iterations");
            Assert.Equal(2, counted.Observed);
            Assert.Equal(202, CalledWebhooks.Evidence(promoted, "load-test").Observed);
            Assert.True(CalledWebhooks.Evidence(promoted, "request-success-rate").Samples > 0, "the load test's traffic was analysed");
            Assert.Single(hooks.To("/go"));
        }
        finally
        {
            await stop.CancelAsync();
        }
    }
}

/// <summary>A/B testing gated by webhooks alone: match reported, confirm-rollout waited on, a failing rollout hook rolls back.</summary>
public sealed class AbTestingWebhookTests
{
    [Fact]
    public async Task An_ab_canary_gated_by_webhooks_alone_reports_its_match_waits_for_approval_and_rolls_back_on_a_failed_hook()
    {
        await using var hooks = await HookReceiver.StartAsync();
        var yaml = $$"""
            apiVersion: flagger.app/v1beta1
            kind: Canary
            metadata: { name: search-ab }
            spec:
              targetRef: { name: search }
              analysis:
                interval: 10s
                threshold: 1
                iterations: 5
                match:
                  - headers: { x-beta: { exact: "on" } }
                webhooks:
                  - { name: gate, type: confirm-rollout, url: "{{hooks.Url}}/gate" }
                  - { name: acceptance, type: rollout, url: "{{hooks.Url}}/acceptance" }
            """;
        await using var daemon = await TestDaemon.StartAsync(yaml);
        hooks.On("/gate", r => hooks.To("/gate").Count == 1 ? 409 : 200);
        hooks.On("/acceptance", 500);

        await daemon.StartRolloutAsync("search");
        var decisions = await CalledWebhooks.DecisionsUntilAsync(daemon, d => d.Count == 3);

        Assert.Equal([V1.Action.Hold, V1.Action.Resume, V1.Action.Rollback], decisions.Select(d => d.Action));
        Assert.Contains("waiting for approval to start the rollout", decisions[0].Reason, StringComparison.Ordinal);
        Assert.Equal(["Initialized", "Waiting"], hooks.To("/gate").Select(r => r.Phase));
        Assert.Contains("Rollout approved; iteration 1 of 5", decisions[1].Reason, StringComparison.Ordinal);
        Assert.Contains("Webhook 'acceptance' (rollout) answered 500", decisions[2].Reason, StringComparison.Ordinal);
        Assert.Contains("failed checks 1 of 1", decisions[2].Reason, StringComparison.Ordinal);

        // The A/B match is reported, not enforced.
        var iterations = CalledWebhooks.Evidence(decisions[2], "iterations");
        Assert.Contains("requests matching headers.x-beta.exact=on go to the canary", iterations.Comparison, StringComparison.Ordinal);
        Assert.Contains("not enforced by GateStream", iterations.Comparison, StringComparison.Ordinal);
        Assert.Equal(1, iterations.Observed);
        Assert.Equal(0u, decisions[1].Weight);
    }
}
