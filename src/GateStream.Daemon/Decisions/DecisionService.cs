using GateStream.Daemon.Engine;
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
        DecisionFeed feed;
        try
        {
            feed = DecisionFeed.Open(engine.Hub, request);
        }
        catch (ResumePositionException e)
        {
            throw new RpcException(new Status(StatusCode.OutOfRange, e.Message));
        }

        try
        {
            // Headers tell the client the subscription is live.
            await context.WriteResponseHeadersAsync([]).ConfigureAwait(false);
            await foreach (var decision in feed.ReadAllAsync(Timeout.InfiniteTimeSpan, context.CancellationToken).ConfigureAwait(false))
            {
                await responseStream.WriteAsync(decision!, context.CancellationToken).ConfigureAwait(false);
            }
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
            feed.Dispose();
        }
    }

    public override async Task<V1.ListGatesResponse> ListGates(V1.ListGatesRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        return await GateQueries.ListAsync(engine, request, context.CancellationToken).ConfigureAwait(false);
    }

    public override async Task<V1.Gate> GetGate(V1.GetGateRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(context);
        if (string.IsNullOrEmpty(request.Gate))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "gate: required (deployment/canaryVersion)"));
        }

        return await GateQueries.GetAsync(engine, request.Gate, context.CancellationToken).ConfigureAwait(false)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"no gate '{request.Gate}'"));
    }
}
