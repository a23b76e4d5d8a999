using GateStream.Core.Gates;
using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Engine;
using GateStream.Wire;
using Grpc.Core;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Control;

/// <summary><c>gatestream.v1.ControlService</c>: start rollouts and override decisions. Every call needs a bearer token.</summary>
internal sealed class ControlService(EngineHost engine, ControlTokens tokens, ILogger<ControlService> logger) : V1.ControlService.ControlServiceBase
{
    public override async Task<V1.Gate> StartRollout(V1.StartRolloutRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var actor = Authenticate(context);
        if (request.InitialWeight > 100)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"initial_weight: must be 0..100 (got {request.InitialWeight})"));
        }

        var command = new StartRolloutCommand(request.Deployment, request.BaselineVersion, request.CanaryVersion,
            string.IsNullOrEmpty(request.Policy) ? null : request.Policy, request.InitialWeight == 0 ? null : (int)request.InitialWeight, actor,
            request.HasCurrentWeight ? (int)Math.Min(request.CurrentWeight, int.MaxValue) : null);
        var (result, view) = await engine.StartAsync(command, context.CancellationToken).ConfigureAwait(false);
        return result.Error switch
        {
            StartError.None => DecisionMapper.ToProto(view!),
            StartError.AlreadyExists => throw new RpcException(new Status(StatusCode.AlreadyExists, result.Message)),
            StartError.PolicyNotFound => throw new RpcException(new Status(StatusCode.NotFound, result.Message)),
            _ => throw new RpcException(new Status(StatusCode.InvalidArgument, result.Message)),
        };
    }

    public override async Task<V1.Decision> Override(V1.OverrideRequest request, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(request);
        var actor = Authenticate(context);
        var outcome = await OverridePath.ApplyAsync(engine, request, actor, logger, context.CancellationToken).ConfigureAwait(false);
        return outcome.Decision ?? throw new RpcException(new Status(outcome.Failure switch
        {
            OverrideFailure.NotFound => StatusCode.NotFound,
            OverrideFailure.IllegalTransition => StatusCode.FailedPrecondition,
            OverrideFailure.Unavailable => StatusCode.Unavailable,
            _ => StatusCode.InvalidArgument,
        }, outcome.Message));
    }

    private string Authenticate(ServerCallContext context)
    {
        try
        {
            return tokens.Authenticate(context);
        }
        catch (RpcException e)
        {
            DaemonLog.ControlRefused(logger, context.Peer, e.Status.Detail);
            throw;
        }
    }
}
