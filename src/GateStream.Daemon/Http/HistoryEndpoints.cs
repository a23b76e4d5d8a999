using System.Globalization;
using GateStream.Core.Gates;
using GateStream.Daemon.Engine;
using GateStream.Wire;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Http;

/// <summary>
/// <c>GET /api/v1/gates/{deployment}/{canary}/history</c>: a gate's chart history (<see cref="GateHistory"/>), and
/// <c>.../history/stream</c>: the same as server-sent events, the points held first and then each new point as the
/// gate's tick adds it. Both copy the points on the gate's shard; neither touches the ingest path.
/// </summary>
internal static class HistoryEndpoints
{
    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/gates/{deployment}/{canary}/history", async (HttpContext http, EngineHost engine, string deployment, string canary, string? after) =>
        {
            if (!ApiProblem.TryQuery(http, "after", out ulong? from, out var problem))
            {
                return problem!;
            }

            var id = Gate.IdFor(deployment, canary);
            var points = await ReadAsync(engine, deployment, id, (long)Math.Min(from ?? 0, long.MaxValue), http.RequestAborted).ConfigureAwait(false);
            return points is null ? ApiProblem.NotFound($"no gate '{id}'") : ProtoJson.Result(HistoryMapper.ToProto(id, points));
        })
        .WithName("GetGateHistory")
        .WithSummary("The gate's chart history (gatestream.v1.GateHistory): per point both versions' requests, errors and p99, and the weight.")
        .WithDescription("One point per second for the last 30 minutes, one per 30 seconds before that (up to 24 hours), oldest first; "
            + "after=T (microseconds since the Unix epoch, the id of a stream event) keeps the points ending after T. 404 for an unknown gate.")
        .Produces(StatusCodes.Status200OK, contentType: "application/json")
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status404NotFound);

        api.MapGet("/gates/{deployment}/{canary}/history/stream", StreamAsync)
        .WithName("StreamGateHistory")
        .WithSummary("The gate's chart history as server-sent events: 'history' with the points held, then 'points' with each new one.")
        .WithDescription("Each event's data is a gatestream.v1.GateHistory and its id the end of its last point (microseconds since the Unix epoch); "
            + "with a Last-Event-ID header (or after=T) only later points are sent. New points are read once per history resolution (1 s). "
            + "An 'error' event ends the stream when the gate leaves the daemon or the daemon shuts down. ': keep-alive' comments flow while idle.")
        .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static Task<HistoryPoint[]?> ReadAsync(EngineHost engine, string deployment, string id, long afterMicros, CancellationToken cancellationToken) =>
        engine.OnShardOfAsync(deployment, book => book.Find(id)?.History.Since(afterMicros), cancellationToken);

    private static async Task<IResult> StreamAsync(HttpContext http, EngineHost engine, IHostApplicationLifetime lifetime, string deployment, string canary, string? after)
    {
        if (!ApiProblem.TryQuery(http, "after", out ulong? from, out var problem))
        {
            return problem!;
        }

        if (http.Request.Headers["Last-Event-ID"] is { Count: > 0 } lastEventId)
        {
            if (!ulong.TryParse(lastEventId[0], NumberStyles.None, CultureInfo.InvariantCulture, out var resumed))
            {
                return ApiProblem.BadRequest($"Last-Event-ID: must be the id of a history event (got '{lastEventId}')");
            }

            from = resumed;
        }

        var id = Gate.IdFor(deployment, canary);
        var position = (long)Math.Min(from ?? 0, long.MaxValue);
        var points = await ReadAsync(engine, deployment, id, position, http.RequestAborted).ConfigureAwait(false);
        if (points is null)
        {
            return ApiProblem.NotFound($"no gate '{id}'");
        }

        var response = http.Response;
        DecisionEndpoints.BeginEventStream(response);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping);
        try
        {
            await DecisionEndpoints.WriteAsync(response, Event("history", id, points, ref position), stop.Token).ConfigureAwait(false);
            var idle = TimeSpan.Zero;
            while (true)
            {
                await Task.Delay(GateHistory.FineResolution, stop.Token).ConfigureAwait(false);
                points = await ReadAsync(engine, deployment, id, position, stop.Token).ConfigureAwait(false);
                if (points is null)
                {
                    await DecisionEndpoints.WriteAsync(response, DecisionEndpoints.ErrorEvent($"gate '{id}' is no longer held by the daemon"), stop.Token)
                        .ConfigureAwait(false);
                    break;
                }

                idle = points.Length > 0 ? TimeSpan.Zero : idle + GateHistory.FineResolution;
                if (points.Length > 0)
                {
                    await DecisionEndpoints.WriteAsync(response, Event("points", id, points, ref position), stop.Token).ConfigureAwait(false);
                }
                else if (idle >= DecisionEndpoints.KeepAlive)
                {
                    idle = TimeSpan.Zero;
                    await DecisionEndpoints.WriteAsync(response, ": keep-alive\n\n", stop.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (!http.RequestAborted.IsCancellationRequested)
        {
            await DecisionEndpoints.WriteAsync(response, DecisionEndpoints.ErrorEvent("GateStream is shutting down; reconnect with Last-Event-ID set to the last id you received"), CancellationToken.None)
                .ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The client went away.
        }

        return Results.Empty;
    }

    /// <summary>One event carrying <paramref name="points"/>; its id (and the new <paramref name="position"/>) is the end of the last one.</summary>
    private static string Event(string name, string id, HistoryPoint[] points, ref long position)
    {
        if (points.Length > 0)
        {
            position = points[^1].TimeMicros;
        }

        var data = ProtoJson.Formatter.Format(HistoryMapper.ToProto(id, points));
        return string.Create(CultureInfo.InvariantCulture, $"id: {position}\nevent: {name}\ndata: {data}\n\n");
    }
}
