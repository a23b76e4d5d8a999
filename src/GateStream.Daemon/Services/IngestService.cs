using GateStream.Core.Events;
using GateStream.Core.Windows;
using GateStream.Daemon.Engine;
using GateStream.Daemon.Hosting;
using Grpc.Core;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Services;

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
                if (!TryConvert(proto, batch, out var problem))
                {
                    ingest.EventPool.Return(batch);
                    response.RejectedEvents += (ulong)proto.TimeDeltasMicros.Count;
                    Reject(response, context, $"message {message}, events[{i}] ({proto.Deployment}@{proto.Version}): {problem}");
                    continue;
                }

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
                if (proto.Deployment.Length == 0 || proto.Version.Length == 0)
                {
                    response.RejectedSamples += (ulong)proto.Samples.Count;
                    Reject(response, context, $"message {message}, metrics[{i}]: deployment and version are required");
                    continue;
                }

                var batch = ingest.MetricPool.Rent();
                batch.Key.Set(proto.Deployment, proto.Version);
                batch.Source = Source;
                foreach (var sample in proto.Samples)
                {
                    // The same per-sample rules as the framed path: a bad sample is refused alone.
                    if (sample.Name.Length == 0 || !double.IsFinite(sample.Value) || sample.Kind is V1.MetricKind.Unspecified || !Enum.IsDefined(sample.Kind))
                    {
                        response.RejectedSamples++;
                        Reject(response, context, $"message {message}, metrics[{i}] ({proto.Deployment}@{proto.Version}): sample '{sample.Name}' needs a name, a finite value and a kind");
                        continue;
                    }

                    batch.Add(sample.Name, sample.TimeUnixMicros, sample.Value, (MetricKind)(int)sample.Kind);
                }

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

    /// <summary>Expands a wire batch (base time + deltas) into the engine's columns.</summary>
    internal static bool TryConvert(V1.EventBatch proto, EventBatch batch, out string problem)
    {
        var n = proto.TimeDeltasMicros.Count;
        if (proto.Deployment.Length == 0 || proto.Version.Length == 0)
        {
            problem = "deployment and version are required";
            return false;
        }

        if (proto.LatencyMicros.Count != n)
        {
            problem = $"latency_micros has {proto.LatencyMicros.Count} values for {n} events";
            return false;
        }

        if (proto.StatusCodes.Count is var s && s != 0 && s != n)
        {
            problem = $"status_codes has {s} values for {n} events (it must be empty or one per event)";
            return false;
        }

        if (proto.Errors.Count is var e && e != 0 && e != n)
        {
            problem = $"errors has {e} values for {n} events (it must be empty or one per event)";
            return false;
        }

        batch.Key.Set(proto.Deployment, proto.Version);
        batch.Source = Source;
        batch.Resize(n);
        var times = batch.WritableTimes;
        var latencies = batch.WritableLatencies;
        var errors = batch.WritableErrors;
        var time = proto.BaseTimeUnixMicros;
        for (var i = 0; i < n; i++)
        {
            time += proto.TimeDeltasMicros[i];
            times[i] = time;
            latencies[i] = proto.LatencyMicros[i];
            errors[i] = e != 0 ? proto.Errors[i] : s != 0 && proto.StatusCodes[i] >= 500;
        }

        problem = "";
        return true;
    }
}
