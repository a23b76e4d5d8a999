using System.Threading.Channels;
using GateStream.Daemon.Engine;
using GateStream.Wire;
using Grpc.Core;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Decisions;

/// <summary><c>gatestream.v1.DecisionService</c>: the decision stream and gate state. A thin adapter over the engine.</summary>
internal sealed class DecisionService(EngineHost engine) : V1.DecisionService.DecisionServiceBase
{
    public override async Task Watch(V1.WatchRequest request, IServerStreamWriter<V1.Decision> responseStream, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(responseStream);
        ArgumentNullException.ThrowIfNull(context);
        var hub = engine.Hub;
        var (subscriber, liveAfter) = hub.Subscribe(request);
        try
        {
            // Headers tell the client the subscription is live.
            await context.WriteResponseHeadersAsync([]).ConfigureAwait(false);
            if (request.FromSequence > 0 || request.FromStart)
            {
                if (request.FromSequence > liveAfter)
                {
                    throw new RpcException(new Status(StatusCode.OutOfRange,
                        $"from_sequence {request.FromSequence} is past the last decision ({liveAfter}); resume with at most {liveAfter}"));
                }

                var first = hub.Log.FirstSequence;
                if (request.FromSequence > 0 && first > 0 && request.FromSequence + 1 < first)
                {
                    throw new RpcException(new Status(StatusCode.OutOfRange,
                        $"decisions after {request.FromSequence} are no longer retained (the log starts at {first}); list gates and watch from {first - 1}"));
                }

                // From the log up to what was published before we subscribed; the queue has everything after.
                foreach (var record in hub.Log.ReadFrom(request.FromSequence))
                {
                    if (record.Sequence > liveAfter)
                    {
                        break;
                    }

                    var decision = V1.Decision.Parser.ParseFrom(record.Payload.Span);
                    if (subscriber.Wants(decision))
                    {
                        await responseStream.WriteAsync(decision, context.CancellationToken).ConfigureAwait(false);
                    }
                }
            }

            var reader = subscriber.Queue.Reader;
            while (await reader.WaitToReadAsync(context.CancellationToken).ConfigureAwait(false))
            {
                while (reader.TryRead(out var decision))
                {
                    await responseStream.WriteAsync(decision, context.CancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (ChannelClosedException e) when (e.InnerException is SubscriberOverflowException overflow)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted, overflow.Message));
        }
        catch (SubscriberOverflowException overflow)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted, overflow.Message));
        }
        catch (OperationCanceledException) when (!context.CancellationToken.IsCancellationRequested)
        {
            throw new RpcException(new Status(StatusCode.Unavailable, "GateStream is shutting down; resume with from_sequence set to the last sequence you received"));
        }
        finally
        {
            hub.Unsubscribe(subscriber);
        }
    }

    public override async Task<V1.ListGatesResponse> ListGates(V1.ListGatesRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        var lastSequence = engine.Hub.LastSequence;
        var views = await engine.ListAsync(request.IncludeFinished, context.CancellationToken).ConfigureAwait(false);
        var deployments = request.Deployments.ToHashSet(StringComparer.Ordinal);
        var response = new V1.ListGatesResponse { LastSequence = lastSequence };
        response.Gates.Add(views.Where(v => deployments.Count == 0 || deployments.Contains(v.Deployment)).Select(DecisionMapper.ToProto));
        return response;
    }

    public override async Task<V1.Gate> GetGate(V1.GetGateRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (string.IsNullOrEmpty(request.Gate))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "gate: required (deployment/canaryVersion)"));
        }

        var view = await engine.GetAsync(request.Gate, context.CancellationToken).ConfigureAwait(false);
        return view is null
            ? throw new RpcException(new Status(StatusCode.NotFound, $"no gate '{request.Gate}'"))
            : DecisionMapper.ToProto(view);
    }
}
