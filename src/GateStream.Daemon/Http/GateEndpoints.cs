using GateStream.Core.Gates;
using GateStream.Daemon.Decisions;
using GateStream.Daemon.Engine;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Http;

/// <summary><c>GET /api/v1/gates[/{deployment}[/{canary}]]</c>: gate state, read as the gRPC ListGates and GetGate read it.</summary>
internal static class GateEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/gates", async (HttpContext http, EngineHost engine, string[]? deployment, string? includeFinished) =>
        {
            if (!ApiProblem.TryQuery(http, "includeFinished", out bool finished, out var problem))
            {
                return problem!;
            }

            var request = new V1.ListGatesRequest { IncludeFinished = finished };
            request.Deployments.Add(deployment ?? []);
            return ProtoJson.Result(await GateQueries.ListAsync(engine, request, http.RequestAborted).ConfigureAwait(false));
        })
        .WithName("ListGates")
        .WithSummary("Lists gates (gatestream.v1.ListGatesResponse).")
        .WithDescription("Gates under way, or with includeFinished=true also those in a final phase the daemon still holds; "
            + "deployment=NAME (repeatable) keeps those of the named deployments. lastSequence is the position to follow decisions from.")
        .Produces(StatusCodes.Status200OK, contentType: "application/json")
        .ProducesProto(V1.ListGatesResponse.Descriptor)
        .ProducesProblem(StatusCodes.Status400BadRequest);

        api.MapGet("/gates/{deployment}", async (HttpContext http, EngineHost engine, string deployment) =>
        {
            var gate = await GateQueries.CurrentAsync(engine, deployment, http.RequestAborted).ConfigureAwait(false);
            return gate is null
                ? ApiProblem.NotFound($"deployment '{deployment}' has no gate (none under way, and none finished that the daemon still holds)")
                : ProtoJson.Result(gate);
        })
        .WithName("GetDeploymentGate")
        .WithSummary("The gate a deployment's rollout is under now (gatestream.v1.Gate, with lastDecision and rules).")
        .WithDescription("The deployment's gate that is not in a final phase; when none is, the one that finished last. "
            + "404 when the deployment has no gate.")
        .Produces(StatusCodes.Status200OK, contentType: "application/json")
        .ProducesProto(V1.Gate.Descriptor)
        .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapGet("/gates/{deployment}/{canary}", async (HttpContext http, EngineHost engine, string deployment, string canary) =>
        {
            var id = Gate.IdFor(deployment, canary);
            var gate = await GateQueries.GetAsync(engine, id, http.RequestAborted).ConfigureAwait(false);
            return gate is null ? ApiProblem.NotFound($"no gate '{id}'") : ProtoJson.Result(gate);
        })
        .WithName("GetGate")
        .WithSummary("One gate (gatestream.v1.Gate): phase, weight, observedShare, lastDecision, and every rule's state and evidence in rules.")
        .Produces(StatusCodes.Status200OK, contentType: "application/json")
        .ProducesProto(V1.Gate.Descriptor)
        .ProducesProblem(StatusCodes.Status404NotFound);
    }
}
