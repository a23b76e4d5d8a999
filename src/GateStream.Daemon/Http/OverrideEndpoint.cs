using GateStream.Core.Gates;
using GateStream.Daemon.Control;
using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Engine;
using Google.Protobuf;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Http;

/// <summary>
/// <c>POST /api/v1/gates/{deployment}/{canary}/override</c>: ControlService.Override over HTTP, with the same bearer
/// tokens, checks and audit line (<see cref="OverridePath"/>).
/// </summary>
internal static class OverrideEndpoint
{
    /// <summary>An override request is a few hundred bytes; a larger body is refused unread.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    public static void Map(RouteGroupBuilder api)
    {
        api.MapPost("/gates/{deployment}/{canary}/override", async (HttpContext http, EngineHost engine, ControlTokens tokens, ILoggerFactory loggers, string deployment, string canary) =>
        {
            var logger = loggers.CreateLogger(HttpApi.LogCategory);
            var check = tokens.Check(http.Request.Headers.Authorization.ToString() is { Length: > 0 } header ? header : null);
            if (check.Actor is not { } actor)
            {
                DaemonLog.ControlRefused(logger, Peers.Of(http), check.Problem!);
                return Refused(http, check);
            }

            var id = Gate.IdFor(deployment, canary);
            var (request, problem) = await ReadRequestAsync(http).ConfigureAwait(false);
            if (request is null)
            {
                return ApiProblem.BadRequest(problem!);
            }

            if (request.Gate.Length > 0 && request.Gate != id)
            {
                return ApiProblem.BadRequest($"gate: the body names '{request.Gate}' but the path names '{id}'; leave it out of the body");
            }

            request.Gate = id;
            var outcome = await OverridePath.ApplyAsync(engine, request, actor, logger, http.RequestAborted).ConfigureAwait(false);
            return outcome.Decision is { } decision
                ? ProtoJson.Result(decision)
                : outcome.Failure switch
                {
                    OverrideFailure.NotFound => ApiProblem.NotFound(outcome.Message),
                    OverrideFailure.IllegalTransition => ApiProblem.Conflict(outcome.Message),
                    OverrideFailure.Unavailable => ApiProblem.Unavailable(outcome.Message),
                    _ => ApiProblem.BadRequest(outcome.Message),
                };
        })
        .WithName("Override")
        .WithSummary("Applies a person's override to a gate (body: gatestream.v1.OverrideRequest; answer: the gatestream.v1.Decision once durable).")
        .WithDescription("Needs 'Authorization: Bearer <token>' with a token from GateStream:Control:TokensFile; the actor is the token's. "
            + "Body in the proto3 JSON mapping, e.g. {\"kind\":\"OVERRIDE_KIND_PAUSE\",\"reason\":\"looking into it\"}; the gate comes from the path. "
            + "401 without a valid token, 403 when no tokens are configured, 400 naming the bad field, 404 for an unknown gate or rule, "
            + "409 when the gate's phase does not allow the kind, 503 when the decision log cannot take the decision.")
        .Accepts<object>("application/json")
        .Produces(StatusCodes.Status200OK, contentType: "application/json")
        .ProducesProto(V1.Decision.Descriptor, V1.OverrideRequest.Descriptor)
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status401Unauthorized)
        .ProducesProblem(StatusCodes.Status403Forbidden)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .ProducesProblem(StatusCodes.Status409Conflict)
        .ProducesProblem(StatusCodes.Status503ServiceUnavailable);
    }

    private static IResult Refused(HttpContext http, ControlAuthorization check)
    {
        if (check.Refusal == TokenRefusal.Disabled)
        {
            return Results.Problem(check.Problem, statusCode: StatusCodes.Status403Forbidden, title: "Forbidden");
        }

        http.Response.Headers.WWWAuthenticate = check.Refusal == TokenRefusal.Invalid ? "Bearer error=\"invalid_token\"" : "Bearer";
        return Results.Problem(check.Problem, statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized");
    }

    private static async Task<(V1.OverrideRequest? Request, string? Problem)> ReadRequestAsync(HttpContext http)
    {
        var (body, problem) = await RequestBody.ReadAsync(http, MaxBodyBytes,
            "a JSON gatestream.v1.OverrideRequest, e.g. {\"kind\":\"OVERRIDE_KIND_PAUSE\",\"reason\":\"...\"},").ConfigureAwait(false);
        if (body is null)
        {
            return (null, problem);
        }

        try
        {
            return (ProtoJson.Parser.Parse<V1.OverrideRequest>(System.Text.Encoding.UTF8.GetString(body)), null);
        }
        catch (InvalidProtocolBufferException e)
        {
            return (null, "body: not a gatestream.v1.OverrideRequest in JSON: " + e.Message);
        }
        catch (InvalidJsonException e)
        {
            return (null, "body: not valid JSON: " + e.Message);
        }
    }
}
