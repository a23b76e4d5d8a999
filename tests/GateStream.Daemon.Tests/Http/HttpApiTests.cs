using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using GateStream.Daemon.Tests.Integration;
using Google.Protobuf;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Http;

/// <summary>
/// The JSON API on the daemon's HTTP listener, over real loopback sockets: gate reads, the decision log as pages and
/// as server-sent events, authenticated overrides, errors, and the OpenAPI document. Answers are checked by parsing
/// them back into the gRPC messages, and against what the gRPC services answer for the same state.
/// </summary>
public class HttpApiTests
{
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default);

    internal static HttpClient Client(TestDaemon daemon) => new() { BaseAddress = new Uri($"http://127.0.0.1:{daemon.HttpPort}"), Timeout = TimeSpan.FromSeconds(30) };

    internal static async Task<V1.Gate> StartCheckoutAsync(TestDaemon daemon) =>
        await daemon.Control.StartRolloutAsync(new V1.StartRolloutRequest { Deployment = "checkout", BaselineVersion = "v1", CanaryVersion = "v2" }, TestDaemon.Bearer());

    internal static async Task<HttpResponseMessage> OverrideAsync(HttpClient http, string gatePath, string body, string? token = TestDaemon.Token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/v1/gates/{gatePath}/override")
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return await http.SendAsync(request);
    }

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"expected {expected}, got {response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(body);
        return json.RootElement.Clone();
    }

    [Fact]
    public async Task Gate_reads_answer_what_the_grpc_service_answers_in_the_proto_json_mapping()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"));
        await daemon.StartAsync();
        using var http = Client(daemon);
        await StartCheckoutAsync(daemon);

        var listJson = await http.GetStringAsync("/api/v1/gates");
        var list = Parser.Parse<V1.ListGatesResponse>(listJson);
        Assert.Equal(await daemon.Decisions.ListGatesAsync(new V1.ListGatesRequest()), list);
        Assert.Equal("checkout/v2", Assert.Single(list.Gates).Id);
        Assert.Empty(Parser.Parse<V1.ListGatesResponse>(await http.GetStringAsync("/api/v1/gates?deployment=other")).Gates);

        // One gate: field names as the proto's JSON mapping names them, defaults written, rules with their evidence.
        var one = await http.GetStringAsync("/api/v1/gates/checkout/v2");
        using (var json = JsonDocument.Parse(one))
        {
            var root = json.RootElement;
            Assert.Equal("PHASE_PROGRESSING", root.GetProperty("phase").GetString());
            Assert.Equal(25, root.GetProperty("weight").GetInt32());
            Assert.Equal("0", root.GetProperty("lastDecisionSequence").GetString()); // uint64 as a string, as the mapping says
            var rule = Assert.Single(root.GetProperty("rules").EnumerateArray());
            Assert.Equal("errors", rule.GetProperty("rule").GetString());
            Assert.Equal("RULE_STATUS_INSUFFICIENT_EVIDENCE", rule.GetProperty("status").GetString());
            Assert.False(root.TryGetProperty("lastDecision", out _)); // no decision yet
        }

        var viaGrpc = await daemon.Decisions.GetGateAsync(new V1.GetGateRequest { Gate = "checkout/v2" });
        var viaHttp = Parser.Parse<V1.Gate>(one);
        Assert.Equal(viaGrpc.Id, viaHttp.Id);
        Assert.Equal(viaGrpc.Rules.Select(r => r.Rule), viaHttp.Rules.Select(r => r.Rule));

        // After an override the gate carries it as its last decision; the deployment's current gate is the same gate.
        using (var paused = await OverrideAsync(http, "checkout/v2", """{"kind":"OVERRIDE_KIND_PAUSE","reason":"looking into it"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, paused.StatusCode);
            var decision = Parser.Parse<V1.Decision>(await paused.Content.ReadAsStringAsync());
            Assert.Equal(V1.Action.Pause, decision.Action);
            Assert.Equal("alice", decision.Override.Actor);
        }

        var current = Parser.Parse<V1.Gate>(await http.GetStringAsync("/api/v1/gates/checkout"));
        Assert.Equal("checkout/v2", current.Id);
        Assert.Equal(V1.Phase.Paused, current.Phase);
        Assert.Equal(V1.Action.Pause, current.LastDecision.Action);
        Assert.Equal("looking into it", current.LastDecision.Override.Reason);
        Assert.Equal(current.LastDecisionSequence, current.LastDecision.Sequence);

        // A finished gate stays the deployment's current one while the daemon holds it.
        using (var rolledBack = await OverrideAsync(http, "checkout/v2", """{"kind":"OVERRIDE_KIND_ROLLBACK","reason":"bad"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, rolledBack.StatusCode);
        }

        Assert.Equal(V1.Phase.RolledBack, Parser.Parse<V1.Gate>(await http.GetStringAsync("/api/v1/gates/checkout")).Phase);
        Assert.Empty(Parser.Parse<V1.ListGatesResponse>(await http.GetStringAsync("/api/v1/gates")).Gates);
        Assert.Single(Parser.Parse<V1.ListGatesResponse>(await http.GetStringAsync("/api/v1/gates?includeFinished=true")).Gates);

        // Not found: a problem body naming what is missing.
        var noDeployment = await ProblemAsync(await http.GetAsync("/api/v1/gates/payments"), HttpStatusCode.NotFound);
        Assert.Contains("'payments'", noDeployment.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var noGate = await ProblemAsync(await http.GetAsync("/api/v1/gates/checkout/v9"), HttpStatusCode.NotFound);
        Assert.Contains("'checkout/v9'", noGate.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var badFlag = await ProblemAsync(await http.GetAsync("/api/v1/gates?includeFinished=perhaps"), HttpStatusCode.BadRequest);
        Assert.Contains("includeFinished", badFlag.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Overrides_need_a_token_and_get_the_control_apis_statuses()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"));
        await daemon.StartAsync();
        using var http = Client(daemon);
        await StartCheckoutAsync(daemon);
        const string pause = """{"kind":"OVERRIDE_KIND_PAUSE","reason":"r"}""";

        using (var missing = await OverrideAsync(http, "checkout/v2", pause, token: null))
        {
            await ProblemAsync(missing, HttpStatusCode.Unauthorized);
            Assert.Equal("Bearer", missing.Headers.WwwAuthenticate.Single().Scheme);
        }

        using (var wrong = await OverrideAsync(http, "checkout/v2", pause, token: "not-the-token"))
        {
            var problem = await ProblemAsync(wrong, HttpStatusCode.Unauthorized);
            Assert.Contains("not valid", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        // Nothing was applied by the refused calls.
        Assert.Equal(V1.Phase.Progressing, (await daemon.Decisions.GetGateAsync(new V1.GetGateRequest { Gate = "checkout/v2" })).Phase);

        var notJson = await ProblemAsync(await OverrideAsync(http, "checkout/v2", "{kind: pause"), HttpStatusCode.BadRequest);
        Assert.StartsWith("body:", notJson.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var badKind = await ProblemAsync(await OverrideAsync(http, "checkout/v2", """{"kind":"OVERRIDE_KIND_NAP","reason":"r"}"""), HttpStatusCode.BadRequest);
        Assert.Contains("OverrideKind", badKind.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var noReason = await ProblemAsync(await OverrideAsync(http, "checkout/v2", """{"kind":"OVERRIDE_KIND_PAUSE"}"""), HttpStatusCode.BadRequest);
        Assert.Contains("reason", noReason.GetProperty("detail").GetString(), StringComparison.Ordinal);
        var otherGate = await ProblemAsync(await OverrideAsync(http, "checkout/v2", """{"gate":"checkout/v3","kind":"OVERRIDE_KIND_PAUSE","reason":"r"}"""), HttpStatusCode.BadRequest);
        Assert.Contains("checkout/v3", otherGate.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await ProblemAsync(await OverrideAsync(http, "checkout/v9", pause), HttpStatusCode.NotFound);
        var notPaused = await ProblemAsync(await OverrideAsync(http, "checkout/v2", """{"kind":"OVERRIDE_KIND_RESUME","reason":"r"}"""), HttpStatusCode.Conflict);
        Assert.Contains("progressing", notPaused.GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);

        // A good one is a decision like any other: in the log, and on the gRPC stream from the start.
        using (var ok = await OverrideAsync(http, "checkout/v2", """{"kind":"OVERRIDE_KIND_SUPPRESS_RULE","rule":"errors","duration":"60s","reason":"noisy"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using var watch = await daemon.WatchAsync(new V1.WatchRequest { FromStart = true });
        Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Equal(V1.OverrideKind.SuppressRule, watch.ResponseStream.Current.Override.Kind);
        Assert.Equal("alice", watch.ResponseStream.Current.Override.Actor);
    }

    [Fact]
    public async Task Without_a_tokens_file_overrides_are_forbidden()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"), new Dictionary<string, string?> { ["GateStream:Control:TokensFile"] = "" });
        await daemon.StartAsync();
        using var http = Client(daemon);
        var problem = await ProblemAsync(await OverrideAsync(http, "checkout/v2", """{"kind":"OVERRIDE_KIND_PAUSE","reason":"r"}"""), HttpStatusCode.Forbidden);
        Assert.Contains("TokensFile", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Decision_pages_read_the_log_and_bad_positions_are_named()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"));
        await daemon.StartAsync();
        using var http = Client(daemon);
        await StartCheckoutAsync(daemon);
        foreach (var kind in new[] { "PAUSE", "RESUME", "HOLD", "RESUME" })
        {
            using var response = await OverrideAsync(http, "checkout/v2", $$"""{"kind":"OVERRIDE_KIND_{{kind}}","reason":"step"}""");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var all = Parser.Parse<V1.DecisionPage>(await http.GetStringAsync("/api/v1/decisions"));
        Assert.Equal([1ul, 2, 3, 4], all.Decisions.Select(d => d.Sequence));
        Assert.Equal(4ul, all.LastSequence);
        Assert.Equal(4ul, all.NextFrom);

        // Paging: two at a time, from where the previous page stopped.
        var first = Parser.Parse<V1.DecisionPage>(await http.GetStringAsync("/api/v1/decisions?from=0&limit=2"));
        Assert.Equal([1ul, 2], first.Decisions.Select(d => d.Sequence));
        var second = Parser.Parse<V1.DecisionPage>(await http.GetStringAsync($"/api/v1/decisions?from={first.NextFrom}&limit=2"));
        Assert.Equal([3ul, 4], second.Decisions.Select(d => d.Sequence));
        Assert.Empty(Parser.Parse<V1.DecisionPage>(await http.GetStringAsync("/api/v1/decisions?from=4")).Decisions);
        Assert.Empty(Parser.Parse<V1.DecisionPage>(await http.GetStringAsync("/api/v1/decisions?deployment=payments")).Decisions);
        Assert.Equal(4, Parser.Parse<V1.DecisionPage>(await http.GetStringAsync("/api/v1/decisions?gate=checkout/v2")).Decisions.Count);

        // The same decisions as the gRPC stream's replay.
        using var watch = await daemon.WatchAsync(new V1.WatchRequest { FromStart = true });
        foreach (var expected in all.Decisions)
        {
            Assert.True(await watch.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Equal(expected, watch.ResponseStream.Current);
        }

        var past = await ProblemAsync(await http.GetAsync("/api/v1/decisions?from=99"), HttpStatusCode.BadRequest);
        Assert.Contains("past the last decision (4)", past.GetProperty("detail").GetString(), StringComparison.Ordinal);
        await ProblemAsync(await http.GetAsync("/api/v1/decisions?from=-1"), HttpStatusCode.BadRequest);
        var limit = await ProblemAsync(await http.GetAsync("/api/v1/decisions?limit=5000"), HttpStatusCode.BadRequest);
        Assert.Contains("limit", limit.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_event_stream_resumes_after_last_event_id_then_follows_live_decisions()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"));
        await daemon.StartAsync();
        using var http = Client(daemon);
        http.Timeout = System.Threading.Timeout.InfiniteTimeSpan;
        await StartCheckoutAsync(daemon);
        foreach (var kind in new[] { "PAUSE", "RESUME", "HOLD" })
        {
            using var response = await OverrideAsync(http, "checkout/v2", $$"""{"kind":"OVERRIDE_KIND_{{kind}}","reason":"step"}""");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/decisions?from=0");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        request.Headers.Add("Last-Event-ID", "1"); // wins over from=0, as a reconnecting EventSource sends it
        using var stream = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, stream.StatusCode);
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync(timeout.Token));
        var events = new ServerSentEvents(reader);

        Assert.StartsWith(": live after 3", await reader.ReadLineAsync(timeout.Token), StringComparison.Ordinal);
        var caughtUp = new[] { await events.NextAsync(timeout.Token), await events.NextAsync(timeout.Token) };
        Assert.Equal(["2", "3"], caughtUp.Select(e => e.Id));
        Assert.All(caughtUp, e => Assert.Equal("decision", e.Type));
        Assert.Equal(V1.Action.Resume, Parser.Parse<V1.Decision>(caughtUp[0].Data).Action);

        // Live: the subscription was made before the first line, so a decision taken now is the next event.
        using (var resume = await OverrideAsync(http, "checkout/v2", """{"kind":"OVERRIDE_KIND_RESUME","reason":"live"}"""))
        {
            Assert.Equal(HttpStatusCode.OK, resume.StatusCode);
        }

        var live = await events.NextAsync(timeout.Token);
        Assert.Equal("4", live.Id);
        Assert.Equal("live", Parser.Parse<V1.Decision>(live.Data).Override.Reason);

        // The same stream under its own path; a bad resume position is refused before the stream starts.
        await ProblemAsync(await http.GetAsync("/api/v1/decisions/stream?from=50", timeout.Token), HttpStatusCode.BadRequest);
        using var badId = new HttpRequestMessage(HttpMethod.Get, "/api/v1/decisions/stream");
        badId.Headers.Add("Last-Event-ID", "abc");
        await ProblemAsync(await http.SendAsync(badId, timeout.Token), HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task The_openapi_document_lists_every_endpoint()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast());
        await daemon.StartAsync();
        using var http = Client(daemon);
        using var document = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths");
        foreach (var path in new[] { "/api/v1/gates", "/api/v1/gates/{deployment}", "/api/v1/gates/{deployment}/{canary}", "/api/v1/decisions",
            "/api/v1/decisions/stream", "/api/v1/gates/{deployment}/{canary}/override", "/api/v1/gates/{deployment}/{canary}/history",
            "/api/v1/gates/{deployment}/{canary}/history/stream" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"{path} missing from the OpenAPI document");
        }

        var post = paths.GetProperty("/api/v1/gates/{deployment}/{canary}/override").GetProperty("post");
        Assert.True(post.TryGetProperty("requestBody", out _));
        Assert.True(post.GetProperty("responses").TryGetProperty("409", out _));
        Assert.True(paths.TryGetProperty("/flagger/{hook}", out _));

        // Services the handlers take are resolved from the container, not documented as parameters or bodies.
        var text = document.RootElement.GetRawText();
        Assert.DoesNotContain("EngineHost", text, StringComparison.Ordinal);
        Assert.DoesNotContain("ControlTokens", text, StringComparison.Ordinal);
    }

    /// <summary>Reads server-sent events (the WHATWG format: field lines, a blank line ends an event; comments skipped).</summary>
    internal sealed class ServerSentEvents(StreamReader reader)
    {
        public async Task<(string? Id, string Type, string Data)> NextAsync(CancellationToken cancellationToken)
        {
            string? id = null;
            var type = "message";
            var data = new StringBuilder();
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.Length == 0)
                {
                    if (data.Length > 0)
                    {
                        return (id, type, data.ToString());
                    }

                    continue;
                }

                if (line.StartsWith(':'))
                {
                    continue;
                }

                var colon = line.IndexOf(':', StringComparison.Ordinal);
                var (field, value) = colon < 0 ? (line, "") : (line[..colon], line[(colon + 1)..].TrimStart(' '));
                switch (field)
                {
                    case "id": id = value; break;
                    case "event": type = value; break;
                    case "data": data.Append(data.Length > 0 ? "\n" : "").Append(value); break;
                }
            }

            throw new EndOfStreamException("the event stream ended");
        }
    }
}
