using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Engine;
using GateStream.Daemon.Kafka;
using GateStream.Ingest.Native;
using Grpc.Core;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Push;

/// <summary>
/// <c>gatestream.v1.IngestService</c> (bound by <see cref="IngestMethodProvider"/>). Push: client-streamed native
/// batches, decoded from their bytes by the native batch reader, the same reader (and rules) as the framed and Kafka
/// paths. Invalid batches (columns of different lengths, empty keys) are refused whole and invalid samples alone,
/// counted and reported in the response; valid ones go to their shard, where per-event checks (lateness, absurd
/// latency) are counted in the metrics. Tap: a copy of every ingested batch.
/// </summary>
internal sealed class IngestService(EngineHost engine, TapHub taps, DaemonMetrics metrics, TimeProvider clock, ILogger<IngestService> logger)
    : IngestServiceContract.Base
{
    private const string Source = "grpc";

    private readonly LogThrottle _badInput = new(clock, TimeSpan.FromSeconds(1));

    public async Task Tap(V1.TapRequest request, IServerStreamWriter<V1.PushRequest> responseStream, ServerCallContext context)
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

    public async Task<V1.PushResponse> Push(IAsyncStreamReader<PushPayload> requestStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(requestStream);
        ArgumentNullException.ThrowIfNull(context);
        var ingest = engine.Ingest;
        var reader = new NativeBatchReader(ingest.EventPool, ingest.MetricPool, Source);
        var response = new V1.PushResponse();
        var message = 0;
        while (await requestStream.MoveNext(context.CancellationToken).ConfigureAwait(false))
        {
            var payload = requestStream.Current;
            var refused = default(Refused);
            try
            {
                if (!reader.TryBegin(payload.Bytes, out var malformed))
                {
                    // Not retryable: the same bytes fail the same way. Earlier messages stay applied (ingest_service.proto).
                    var problem = $"message {message}: not a PushRequest: {malformed}";
                    metrics.DecodeError(Source);
                    Log(context, problem);
                    throw new RpcException(new Status(StatusCode.InvalidArgument, problem));
                }

                // One decoded batch in hand at a time: posting waits for room on its shard (backpressure).
                while (reader.TryReadNext(out var batch))
                {
                    if (batch.Events is { } events)
                    {
                        if (ingest.Admit(events) is { } refusal)
                        {
                            // Refused for the series cap or a budget: counted and logged by the engine; the sender learns it here.
                            refused = refused.Add(events.Count, 0, ingest.DescribeRefusal(refusal, events.Key, Source));
                            ingest.EventPool.Return(events);
                            continue;
                        }

                        await ingest.PostAsync(events, context.CancellationToken).ConfigureAwait(false);
                    }
                    else
                    {
                        var samples = batch.Metrics!;
                        if (ingest.Admit(samples) is { } refusal)
                        {
                            refused = refused.Add(0, samples.Count, ingest.DescribeRefusal(refusal, samples.Key, Source));
                            ingest.MetricPool.Return(samples);
                            continue;
                        }

                        await ingest.PostAsync(samples, context.CancellationToken).ConfigureAwait(false);
                    }
                }
            }
            finally
            {
                payload.Return();
            }

            Count(response, reader.Counts, refused, message, context);
            message++;
        }

        return response;
    }

    private void Count(V1.PushResponse response, in NativeIngestCounts counts, Refused refused, int message, ServerCallContext context)
    {
        response.AcceptedEvents += (ulong)(counts.AcceptedEvents - refused.Events);
        response.RejectedEvents += (ulong)(counts.RejectedEvents + refused.Events);
        response.AcceptedSamples += (ulong)(counts.AcceptedSamples - refused.Samples);
        response.RejectedSamples += (ulong)(counts.RejectedSamples + refused.Samples);
        if (counts.AcceptedEvents > 0)
        {
            metrics.EventsReceived(Source, counts.AcceptedEvents);
        }

        if (refused.FirstProblem is { } refusal && response.ErrorMessage.Length == 0)
        {
            response.ErrorMessage = $"message {message}, {refusal}";
        }

        for (var i = 0; i < counts.RejectedBatches; i++)
        {
            metrics.DecodeError(Source);
        }

        if (counts.FirstProblem is { } first)
        {
            var problem = $"message {message}, {first}";
            if (response.ErrorMessage.Length == 0)
            {
                response.ErrorMessage = problem;
            }

            Log(context, problem);
        }
    }

    private void Log(ServerCallContext context, string problem)
    {
        if (_badInput.ShouldLog(out var suppressed))
        {
            DaemonLog.BadInput(logger, Source, context.Peer, problem + suppressed);
        }
    }
}

/// <summary>Batches of one Push message the engine refused for the series cap or a budget.</summary>
internal readonly record struct Refused(int Events, int Samples, string? FirstProblem)
{
    public Refused Add(int events, int samples, string problem) => new(Events + events, Samples + samples, FirstProblem ?? problem);
}

/// <summary>
/// Where server reflection finds the service's descriptor: on the type declaring the service's base class, as for a
/// generated service. <see cref="IngestService"/> does not derive from the generated base, whose binding would parse
/// Push requests into generated messages.
/// </summary>
internal static class IngestServiceContract
{
    public static Google.Protobuf.Reflection.ServiceDescriptor Descriptor => V1.IngestService.Descriptor;

    internal abstract class Base;
}
