using System.Text.Json;
using GateStream.Daemon.Decisions;
using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Engine;
using GateStream.Wire;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Http;

/// <summary>
/// <c>POST /flagger/{hook}</c>: webhooks a Flagger <c>Canary</c> points at GateStream, so Flagger keeps routing traffic
/// and GateStream decides. Each answer follows the gate of the canary's deployment (<see cref="Answer"/>): Flagger
/// reads a status of 200-202 as "yes" and anything else as "no", and logs the body of a "no".
/// </summary>
internal static class FlaggerEndpoints
{
    public const string Prefix = "/flagger";

    /// <summary>The webhook metadata key that names the GateStream deployment when it is not the Canary's name.</summary>
    public const string DeploymentKey = "deployment";

    /// <summary>The source label of unreadable payloads in <c>gatestream_decode_errors_total</c> and the bad-input log.</summary>
    public const string Source = "flagger";

    /// <summary>A Flagger payload is a few hundred bytes; a larger body is refused unread.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary>The hook types Flagger calls (fluxcd/flagger pkg/apis/flagger/v1beta1 HookType).</summary>
    public static readonly IReadOnlyList<string> Hooks =
        ["confirm-rollout", "pre-rollout", "rollout", "confirm-traffic-increase", "confirm-promotion", "post-rollout", "rollback", "event"];

    public static void Map(IEndpointRouteBuilder endpoints)
    {
        endpoints.MapPost(Prefix + "/{hook}", async (HttpContext http, EngineHost engine, FlaggerRollouts rollouts, DaemonMetrics metrics, ILoggerFactory loggers, string hook) =>
        {
            var logger = loggers.CreateLogger(HttpApi.LogCategory);
            if (!Hooks.Contains(hook))
            {
                return ApiProblem.NotFound($"no Flagger hook '{hook}': one of {string.Join(", ", Hooks)}");
            }

            var (payload, problem) = await ReadPayloadAsync(http).ConfigureAwait(false);
            if (payload is null)
            {
                metrics.DecodeError(Source);
                BadInputLog.Write(logger, Source, Peers.Of(http), problem!);
                return ApiProblem.BadRequest(problem!);
            }

            var deployment = payload.Metadata.GetValueOrDefault(DeploymentKey) is { Length: > 0 } named ? named : payload.Name;
            var gate = await GateQueries.CurrentAsync(engine, deployment, http.RequestAborted).ConfigureAwait(false);
            if (hook is not ("event" or "post-rollout"))
            {
                // A gate that finished before this rollout's first hook answers for an earlier rollout, not this one.
                var firstSeen = rollouts.FirstSeen(deployment, payload.Checksum, engine.NowMicros);
                if (gate is { Phase: V1.Phase.Succeeded or V1.Phase.RolledBack, LastDecision.Time: { } finished }
                    && DecisionMapper.MicrosOf(finished) < firstSeen)
                {
                    gate = null;
                }
            }

            var (status, answer) = Answer(hook, deployment, gate);
            var canary = $"{payload.Name}.{payload.Namespace}";
            if (status == StatusCodes.Status200OK)
            {
                DaemonLog.FlaggerHookAllowedStep(logger, hook, canary, deployment, payload.Checksum, answer);
            }
            else
            {
                DaemonLog.FlaggerHookRefusedStep(logger, hook, canary, deployment, payload.Checksum, answer);
            }

            return Results.Text(answer + "\n", "text/plain; charset=utf-8", statusCode: status);
        })
        .WithTags("flagger")
        .WithName("FlaggerWebhook")
        .WithSummary("A Flagger webhook (confirm-rollout, pre-rollout, rollout, confirm-traffic-increase, confirm-promotion, post-rollout, rollback, event).")
        .WithDescription("Body: Flagger's CanaryWebhookPayload {name, namespace, phase, checksum, metadata}. The deployment is metadata.deployment, "
            + "else name. 200 = yes, 412 = no (the body says why), as docs/integrations.md tabulates; 400 for a payload that is not Flagger's, "
            + "404 for an unknown hook.")
        .Accepts<object>("application/json")
        .Produces(StatusCodes.Status200OK, contentType: "text/plain")
        .Produces(StatusCodes.Status412PreconditionFailed, contentType: "text/plain")
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status404NotFound);
    }

    /// <summary>
    /// The status for a hook given the gate answering for the rollout (null: none yet, or a shadow gate, which
    /// controllers ignore). 200 lets Flagger go on; 412 (over Flagger's 202) holds it back or, for rollback, says "no".
    /// </summary>
    internal static (int Status, string Answer) Answer(string hook, string deployment, V1.Gate? gate)
    {
        if (gate is { Mode: V1.GateMode.Shadow })
        {
            return hook == "rollback"
                ? (StatusCodes.Status412PreconditionFailed, $"gate {gate.Id} is in shadow mode: GateStream does not ask for a rollback")
                : (StatusCodes.Status200OK, $"gate {gate.Id} is in shadow mode: Flagger decides alone");
        }

        var phase = gate?.Phase ?? V1.Phase.Unspecified;
        var why = gate is null
            ? $"deployment '{deployment}' has no gate for this rollout yet (GateStream opens one when the canary's traffic arrives)"
            : $"gate {gate.Id} is {Label(phase)} at weight {gate.Weight}" + (gate.LastDecision is { } last ? $": {last.Reason}" : "");
        var yes = hook switch
        {
            "confirm-rollout" or "pre-rollout" => phase is not (V1.Phase.Paused or V1.Phase.RolledBack),
            "rollout" or "confirm-traffic-increase" => phase is V1.Phase.Unspecified or V1.Phase.Progressing or V1.Phase.Succeeded,
            "confirm-promotion" => phase is V1.Phase.Succeeded,
            "rollback" => phase is V1.Phase.RolledBack,
            _ => true, // post-rollout and event: GateStream takes note, Flagger only logs a failure
        };
        return (yes ? StatusCodes.Status200OK : StatusCodes.Status412PreconditionFailed, why);
    }

    private static string Label(V1.Phase phase) => phase switch
    {
        V1.Phase.Progressing => "progressing",
        V1.Phase.Holding => "holding",
        V1.Phase.Paused => "paused",
        V1.Phase.Succeeded => "succeeded (promoted fully)",
        V1.Phase.RolledBack => "rolled back",
        _ => phase.ToString(),
    };

    private static async Task<(Payload? Payload, string? Problem)> ReadPayloadAsync(HttpContext http)
    {
        const string Shape = "Flagger's webhook payload {name, namespace, phase, checksum, metadata}";
        var (body, problem) = await RequestBody.ReadAsync(http, MaxBodyBytes, Shape).ConfigureAwait(false);
        if (body is null)
        {
            return (null, problem);
        }

        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (null, $"body: {Shape} is a JSON object");
            }

            string? Text(string name) => root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("metadata", out var map) && map.ValueKind != JsonValueKind.Null)
            {
                if (map.ValueKind != JsonValueKind.Object)
                {
                    return (null, "metadata: must be an object of strings");
                }

                foreach (var entry in map.EnumerateObject())
                {
                    metadata[entry.Name] = entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : entry.Value.GetRawText();
                }
            }

            var payload = new Payload(Text("name") ?? "", Text("namespace") ?? "", Text("phase") ?? "", Text("checksum") ?? "", metadata);
            return payload.Name.Length == 0 || payload.Namespace.Length == 0
                ? (null, "body: Flagger's webhook payload needs 'name' and 'namespace' (the Canary's) as strings")
                : (payload, null);
        }
        catch (JsonException e)
        {
            return (null, $"body: not {Shape}: {e.Message}");
        }
    }

    /// <summary>Flagger's <c>CanaryWebhookPayload</c> (fluxcd/flagger pkg/apis/flagger/v1beta1).</summary>
    internal sealed record Payload(string Name, string Namespace, string Phase, string Checksum, IReadOnlyDictionary<string, string> Metadata);
}
