using System.Globalization;
using System.Text;
using GateStream.Daemon.Decisions;
using GateStream.Daemon.Engine;
using Microsoft.Extensions.Primitives;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Http;

/// <summary>
/// <c>GET /api/v1/decisions</c>: the durable decision log as JSON pages, or (<c>Accept: text/event-stream</c>, or
/// <c>/api/v1/decisions/stream</c>) as server-sent events that catch up from the log and then follow live decisions,
/// through the same <see cref="DecisionFeed"/> as the gRPC Watch.
/// </summary>
internal static class DecisionEndpoints
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 1_000;

    /// <summary>How long an event stream may be silent before a comment line keeps proxies from closing it.</summary>
    public static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    public static void Map(RouteGroupBuilder api)
    {
        api.MapGet("/decisions", (HttpContext http, EngineHost engine, IHostApplicationLifetime lifetime, string? from, string? limit, string[]? gate, string[]? deployment, string? includeShadow) =>
            AcceptsEventStream(http.Request.Headers.Accept) ? StreamAsync(http, engine, lifetime) : PageAsync(http, engine))
        .WithName("ListDecisions")
        .WithSummary("A page of the decision log (gatestream.v1.DecisionPage), or with 'Accept: text/event-stream' the decision stream.")
        .WithDescription("Decisions with sequence > from (default 0), at most limit (default 100, at most 1000); gate=ID and deployment=NAME "
            + "(repeatable) filter; shadow decisions only with includeShadow=true. Page on with from=nextFrom. "
            + "400 for a bad parameter or a from past the end of the log, 410 when retention deleted the decisions asked for.")
        .Produces(StatusCodes.Status200OK, contentType: "application/json")
        .ProducesProto(V1.DecisionPage.Descriptor)
        .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status410Gone);

        api.MapGet("/decisions/stream", (HttpContext http, EngineHost engine, IHostApplicationLifetime lifetime, string? from, string[]? gate, string[]? deployment, string? includeShadow) =>
            StreamAsync(http, engine, lifetime))
        .WithName("StreamDecisions")
        .WithSummary("The decision stream as server-sent events: one 'decision' event per gatestream.v1.Decision, id = its sequence.")
        .WithDescription("With from=N (or a Last-Event-ID header, which wins) every logged decision after N first, then live ones, "
            + "with no gap and no duplicate; without either, live decisions only. A reader that falls behind, or a daemon shutting down, "
            + "gets an 'error' event and the stream ends: reconnect with Last-Event-ID. ': keep-alive' comments flow while idle.")
        .Produces(StatusCodes.Status200OK, contentType: "text/event-stream")
        .ProducesProblem(StatusCodes.Status400BadRequest)
        .ProducesProblem(StatusCodes.Status410Gone);
    }

    private static bool AcceptsEventStream(StringValues accept)
    {
        foreach (var value in accept)
        {
            if (value is not null && value.Contains("text/event-stream", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The filters and position shared by pages and streams; null with <paramref name="problem"/> set when a parameter is bad.</summary>
    private static V1.WatchRequest? ReadRequest(HttpContext http, bool stream, out IResult? problem)
    {
        if (!ApiProblem.TryQuery(http, "from", out ulong? from, out problem)
            || !ApiProblem.TryQuery(http, "includeShadow", out bool includeShadow, out problem))
        {
            return null;
        }

        if (stream && http.Request.Headers["Last-Event-ID"] is { Count: > 0 } lastEventId)
        {
            if (!ulong.TryParse(lastEventId[0], NumberStyles.None, CultureInfo.InvariantCulture, out var resumed))
            {
                problem = ApiProblem.BadRequest($"Last-Event-ID: must be the sequence of a decision event (got '{lastEventId}')");
                return null;
            }

            from = resumed;
        }

        var request = new V1.WatchRequest { IncludeShadow = includeShadow, FromSequence = from ?? 0, FromStart = from == 0 };
        request.Gates.Add(http.Request.Query["gate"].Where(g => !string.IsNullOrEmpty(g)).Select(g => g!));
        request.Deployments.Add(http.Request.Query["deployment"].Where(d => !string.IsNullOrEmpty(d)).Select(d => d!));
        if (!stream && request.FromSequence == 0)
        {
            request.FromStart = true;
        }

        return request;
    }

    private static Task<IResult> PageAsync(HttpContext http, EngineHost engine)
    {
        if (ReadRequest(http, stream: false, out var problem) is not { } request)
        {
            return Task.FromResult(problem!);
        }

        if (!ApiProblem.TryQuery(http, "limit", out ulong? rawLimit, out problem))
        {
            return Task.FromResult(problem!);
        }

        if (rawLimit is 0 or > MaxLimit)
        {
            return Task.FromResult(ApiProblem.BadRequest($"limit: must be 1..{MaxLimit} (got {rawLimit})"));
        }

        var hub = engine.Hub;
        var last = hub.LastSequence;
        if (DecisionFeed.CheckPosition(hub, request.FromSequence, last) is { } unusable)
        {
            return Task.FromResult(request.FromSequence > last ? ApiProblem.BadRequest(unusable) : ApiProblem.Gone(unusable));
        }

        var limit = (int)(rawLimit ?? DefaultLimit);
        var filter = new DecisionFilter(request);
        var page = new V1.DecisionPage { LastSequence = last, NextFrom = last };
        foreach (var record in hub.Log.ReadFrom(request.FromSequence))
        {
            if (record.Sequence > last)
            {
                break;
            }

            var decision = V1.Decision.Parser.ParseFrom(record.Payload.Span);
            if (filter.Wants(decision))
            {
                page.Decisions.Add(decision);
                if (page.Decisions.Count == limit)
                {
                    page.NextFrom = record.Sequence;
                    break;
                }
            }
        }

        return Task.FromResult(ProtoJson.Result(page));
    }

    private static async Task<IResult> StreamAsync(HttpContext http, EngineHost engine, IHostApplicationLifetime lifetime)
    {
        if (ReadRequest(http, stream: true, out var problem) is not { } request)
        {
            return problem!;
        }

        DecisionFeed feed;
        try
        {
            feed = DecisionFeed.Open(engine.Hub, request);
        }
        catch (ResumePositionException e)
        {
            return e.PastEnd ? ApiProblem.BadRequest(e.Message) : ApiProblem.Gone(e.Message);
        }

        using (feed)
        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted, lifetime.ApplicationStopping))
        {
            var response = http.Response;
            BeginEventStream(response);
            // The first line tells the client the subscription is live, as the gRPC Watch's response headers do.
            await WriteAsync(response, ": live after " + feed.LiveAfter.ToString(CultureInfo.InvariantCulture) + "\n\n", stop.Token).ConfigureAwait(false);
            try
            {
                await foreach (var decision in feed.ReadAllAsync(KeepAlive, stop.Token).ConfigureAwait(false))
                {
                    await WriteAsync(response, decision is null ? ": keep-alive\n\n" : Event(decision), stop.Token).ConfigureAwait(false);
                }
            }
            catch (SubscriberOverflowException overflow)
            {
                await WriteAsync(response, ErrorEvent(overflow.Message), CancellationToken.None).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!http.RequestAborted.IsCancellationRequested)
            {
                await WriteAsync(response, ErrorEvent("GateStream is shutting down; reconnect with Last-Event-ID set to the last id you received"), CancellationToken.None)
                    .ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The client went away.
            }
        }

        return Results.Empty;
    }

    private static string Event(V1.Decision decision) =>
        string.Create(CultureInfo.InvariantCulture, $"id: {decision.Sequence}\nevent: decision\ndata: {ProtoJson.Formatter.Format(decision)}\n\n");

    /// <summary>Status and headers of a server-sent event stream.</summary>
    internal static void BeginEventStream(HttpResponse response)
    {
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no"; // nginx would otherwise hold events back
    }

    internal static string ErrorEvent(string message) =>
        "event: error\ndata: " + System.Text.Json.JsonSerializer.Serialize(new { detail = message }) + "\n\n";

    internal static async Task WriteAsync(HttpResponse response, string text, CancellationToken cancellationToken)
    {
        await response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken).ConfigureAwait(false);
        await response.Body.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
