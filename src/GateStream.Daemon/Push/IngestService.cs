using GateStream.Core.Events;
using GateStream.Core.Windows;
using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Engine;
using GateStream.Wire;
using Grpc.Core;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Push;

/// <summary>
/// <c>gatestream.v1.IngestService.Push</c>: client-streamed native batches. Structurally invalid batches (columns of
/// different lengths, empty keys) are refused whole and reported in the response; valid ones go to their shard,
/// where per-event checks (lateness, absurd latency) are counted in the metrics.
/// </summary>
internal sealed class IngestService(EngineHost engine, TapHub taps, DaemonMetrics metrics, ILogger<IngestService> logger) : V1.IngestService.IngestServiceBase
{
    public override async Task Tap(V1.TapRequest request, IServerStreamWriter<V1.PushRequest> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var tap = taps.Subscribe(request.Deployments);
        try
        {
            await context.WriteResponseHeadersAsync([]).ConfigureAwait(false);
            var reader = tap.Queue.Reader;
            while (await reader.WaitToReadAsync(context.CancellationToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out var message))
                {
                    await responseStream.WriteAsync(message, context.CancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (context.CancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            taps.Unsubscribe(tap);
            context.ResponseTrailers.Add("gatestream-tap-dropped", Interlocked.Read(ref tap.Dropped).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    private const string Source = "grpc";

    public override async Task<V1.PushResponse> Push(IAsyncStreamReader<V1.PushRequest> requestStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(context);
        var response = new V1.PushResponse();
        var message = 0;
        var ingest = engine.Ingest;
        while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            var request = requestStream.Current;
            for (var i = 0; i < request.Events.Count; i++)
            {
                var proto = request.Events[i];
                var batch = ingest.EventPool.Rent();
                var result = BatchMapper.ToEngine(proto, batch);
                response.RejectedEvents += (ulong)result.Rejected;
                if (result.Problem is { } problem)
                {
                    ingest.EventPool.Return(batch);
                    Reject(response, context, $"message {message}, events[{i}] ({proto.Deployment}@{proto.Version}): {problem}");
                    continue;
                }

                batch.Source = Source;
                metrics.EventsReceived(Source, batch.Count);
                if (ingest.Admit(batch) is { } refusal)
                {
                    // Counted and logged by the engine; the sender learns it here.
                    response.RejectedEvents += (ulong)batch.Count;
                    SetFirstError(response, ingest.DescribeRefusal(refusal, batch.Key, Source));
                    ingest.EventPool.Return(batch);
                    continue;
                }

                response.AcceptedEvents += (ulong)batch.Count;
                await ingest.PostAsync(batch, context.CancellationToken).ConfigureAwait(false);
            }

            for (var i = 0; i < request.Metrics.Count; i++)
            {
                var proto = request.Metrics[i];
                var batch = ingest.MetricPool.Rent();
                var result = BatchMapper.ToEngine(proto, batch);
                response.RejectedSamples += (ulong)result.Rejected;
                if (result.Problem is { } problem)
                {
                    Reject(response, context, $"message {message}, metrics[{i}] ({proto.Deployment}@{proto.Version}): {problem}");
                }

                if (batch.Count == 0)
                {
                    ingest.MetricPool.Return(batch);
                    continue;
                }

                batch.Source = Source;
                if (ingest.Admit(batch) is { } refused)
                {
                    response.RejectedSamples += (ulong)batch.Count;
                    SetFirstError(response, ingest.DescribeRefusal(refused, batch.Key, Source));
                    ingest.MetricPool.Return(batch);
                    continue;
                }

                response.AcceptedSamples += (ulong)batch.Count;
                await ingest.PostAsync(batch, context.CancellationToken).ConfigureAwait(false);
            }

            message++;
        }

        return response;
    }

    private void Reject(V1.PushResponse response, ServerCallContext context, string problem)
    {
        metrics.DecodeError(Source);
        DaemonLog.BadInput(logger, Source, context.Peer, problem);
        SetFirstError(response, problem);
    }

    private static void SetFirstError(V1.PushResponse response, string problem)
    {
        if (response.ErrorMessage.Length == 0)
        {
            response.ErrorMessage = problem;
        }
    }
}
