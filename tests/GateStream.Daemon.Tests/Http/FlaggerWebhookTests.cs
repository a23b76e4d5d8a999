using System.Net;
using System.Text;
using System.Text.Json;
using GateStream.Daemon.Tests.Integration;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Http;

/// <summary>
/// <c>POST /flagger/{hook}</c> with Flagger's exact webhook payload (fluxcd/flagger CanaryWebhookPayload: name,
/// namespace, phase, checksum, metadata; the event hook's metadata as Flagger fills it), against a running daemon.
/// The status table in docs/integrations.md is checked cell by cell.
/// </summary>
public class FlaggerWebhookTests
{
    private static readonly string[] Phases = ["no gate yet", "progressing", "holding", "paused", "succeeded", "rolled back"];

    /// <summary>The payload as Flagger's CallWebhook marshals it (Go's encoding/json of CanaryWebhookPayload).</summary>
    private static string Payload(string name, string checksum, string phase = "Progressing", IReadOnlyDictionary<string, string>? metadata = null) =>
        JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["name"] = name,
            ["namespace"] = "test",
            ["phase"] = phase,
            ["checksum"] = checksum,
            ["metadata"] = metadata,
        }.Where(kv => kv.Value is not null).ToDictionary());

    private static async Task<(HttpStatusCode Status, string Body)> HookAsync(HttpClient http, string hook, string payload)
    {
        using var content = new StringContent(payload, Encoding.UTF8, "application/json");
        using var response = await http.PostAsync($"/flagger/{hook}", content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>The documented table: hook -> phase -> status.</summary>
    private static Dictionary<string, Dictionary<string, int>> Table()
    {
        var rows = IntegrationDocs.Section("flagger-hooks").Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var header = rows[0].Trim('|').Split('|').Select(c => c.Trim()).ToArray();
        Assert.Equal(["hook", .. Phases], header);
        return rows.Skip(2).Select(r => r.Trim('|').Split('|').Select(c => c.Trim()).ToArray())
            .ToDictionary(cells => cells[0].Trim('`'), cells => Phases.Select((p, i) => (p, int.Parse(cells[i + 1], System.Globalization.CultureInfo.InvariantCulture))).ToDictionary());
    }

    [Fact]
    public async Task Every_hook_answers_each_gate_phase_as_the_documented_table_says()
    {
        var table = Table();
        Assert.Equal(["confirm-rollout", "pre-rollout", "rollout", "confirm-traffic-increase", "confirm-promotion", "post-rollout", "rollback", "event"],
            table.Keys.OrderBy(k => Array.IndexOf(["confirm-rollout", "pre-rollout", "rollout", "confirm-traffic-increase", "confirm-promotion", "post-rollout", "rollback", "event"], k)));
        await using var daemon = new TestDaemon(TestPolicies.Fast(target: "app-*", stepInterval: "1h"));
        await daemon.StartAsync();
        using var http = HttpApiTests.Client(daemon);
        var bearer = TestDaemon.Bearer();

        // One deployment per phase. Flagger's first hook of a rollout comes before its gate exists.
        var deployments = Phases.ToDictionary(p => p, p => "app-" + p.Replace(' ', '-'));
        foreach (var deployment in deployments.Values)
        {
            Assert.Equal(HttpStatusCode.OK, (await HookAsync(http, "confirm-rollout", Payload(deployment, "rev-1"))).Status);
        }

        foreach (var (phase, deployment) in deployments.Where(kv => kv.Key != "no gate yet"))
        {
            await daemon.Control.StartRolloutAsync(new V1.StartRolloutRequest { Deployment = deployment, BaselineVersion = "v1", CanaryVersion = "v2" }, bearer);
            V1.OverrideKind? kind = phase switch
            {
                "holding" => V1.OverrideKind.Hold,
                "paused" => V1.OverrideKind.Pause,
                "succeeded" => V1.OverrideKind.PromoteFull,
                "rolled back" => V1.OverrideKind.Rollback,
                _ => null,
            };
            if (kind is { } k)
            {
                await daemon.Control.OverrideAsync(new V1.OverrideRequest { Gate = $"{deployment}/v2", Kind = k, Reason = "flagger test" }, bearer);
            }
        }

        var mismatches = new List<string>();
        foreach (var (hook, expected) in table)
        {
            foreach (var (phase, deployment) in deployments)
            {
                var payload = hook == "event"
                    ? Payload(deployment, "rev-1", metadata: new Dictionary<string, string> { ["eventMessage"] = "Advance podinfo.test canary weight 10", ["eventType"] = "Normal", ["timestamp"] = "1764800000000" })
                    : Payload(deployment, "rev-1");
                var (status, body) = await HookAsync(http, hook, payload);
                if ((int)status != expected[phase])
                {
                    mismatches.Add($"{hook} / {phase}: {(int)status} {body.Trim()} (documented {expected[phase]})");
                }
                else if (status != HttpStatusCode.OK)
                {
                    Assert.Contains(phase == "no gate yet" ? "no gate" : $"{deployment}/v2", body, StringComparison.Ordinal);
                }
            }
        }

        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    [Fact]
    public async Task A_rollback_answers_for_its_own_rollout_only_and_survives_a_restart()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(target: "podinfo", stepInterval: "1h"));
        await daemon.StartAsync();
        var metadata = new Dictionary<string, string> { ["deployment"] = "podinfo" };
        using (var http = HttpApiTests.Client(daemon))
        {
            // The Canary is named differently from the deployment its telemetry reports: metadata.deployment maps it.
            Assert.Equal(HttpStatusCode.OK, (await HookAsync(http, "pre-rollout", Payload("podinfo-canary", "rev-1", metadata: metadata))).Status);
            await daemon.Control.StartRolloutAsync(new V1.StartRolloutRequest { Deployment = "podinfo", BaselineVersion = "v1", CanaryVersion = "v2" }, TestDaemon.Bearer());
            var (noYet, why) = await HookAsync(http, "rollback", Payload("podinfo-canary", "rev-1", metadata: metadata));
            Assert.Equal(HttpStatusCode.PreconditionFailed, noYet);
            Assert.Contains("podinfo/v2 is progressing", why, StringComparison.Ordinal);
            await daemon.Control.OverrideAsync(new V1.OverrideRequest { Gate = "podinfo/v2", Kind = V1.OverrideKind.Rollback, Reason = "errors" }, TestDaemon.Bearer());
            Assert.Equal(HttpStatusCode.OK, (await HookAsync(http, "rollback", Payload("podinfo-canary", "rev-1", metadata: metadata))).Status);
        }

        // After a restart the same rollout still sees its rollback.
        await daemon.StopAsync();
        await daemon.StartAsync();
        using (var http = HttpApiTests.Client(daemon))
        {
            Assert.Equal(HttpStatusCode.OK, (await HookAsync(http, "rollback", Payload("podinfo-canary", "rev-1", phase: "Progressing", metadata: metadata))).Status);
            Assert.Equal(HttpStatusCode.PreconditionFailed, (await HookAsync(http, "rollout", Payload("podinfo-canary", "rev-1", metadata: metadata))).Status);

            // The next revision of the Canary is a new rollout: the old gate's rollback is not its own.
            var (next, body) = await HookAsync(http, "rollback", Payload("podinfo-canary", "rev-2", metadata: metadata));
            Assert.Equal(HttpStatusCode.PreconditionFailed, next);
            Assert.Contains("no gate for this rollout yet", body, StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, (await HookAsync(http, "rollout", Payload("podinfo-canary", "rev-2", metadata: metadata))).Status);
        }
    }

    [Fact]
    public async Task Bad_payloads_and_unknown_hooks_get_problem_bodies()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast());
        await daemon.StartAsync();
        using var http = HttpApiTests.Client(daemon);

        var (unknown, unknownBody) = await HookAsync(http, "pre-promotion", Payload("podinfo", "c"));
        Assert.Equal(HttpStatusCode.NotFound, unknown);
        Assert.Contains("confirm-traffic-increase", unknownBody, StringComparison.Ordinal);
        foreach (var bad in new[] { "", "not json", "[]", """{"namespace":"test"}""", """{"name":"podinfo","namespace":"test","metadata":"x"}""" })
        {
            var (status, body) = await HookAsync(http, "rollout", bad);
            Assert.True(status == HttpStatusCode.BadRequest, $"'{bad}': {status} {body}");
            using var problem = JsonDocument.Parse(body);
            Assert.False(string.IsNullOrEmpty(problem.RootElement.GetProperty("detail").GetString()));
        }

        // Counted as undecodable input of the flagger source.
        Assert.Contains("gatestream_decode_errors_total{source=\"flagger\"} 5", await http.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }
}
