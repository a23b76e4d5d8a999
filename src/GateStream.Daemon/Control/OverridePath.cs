using GateStream.Core.Gates;
using GateStream.Daemon.Decisions.Log;
using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Engine;
using GateStream.Wire;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Control;

/// <summary>
/// An authenticated person's override, whatever carried it (gRPC ControlService, HTTP API): the request's checks,
/// the engine call on the gate's shard, and the audit line. Each transport maps <see cref="OverrideFailure"/> to its
/// own status.
/// </summary>
internal static class OverridePath
{
    private static readonly string KindRequired =
        "kind: one of " + string.Join(", ", Enum.GetValues<OverrideKind>().Select(k => WireNames.Label(WireEnums.ToWire(k))));

    public static async Task<OverrideOutcome> ApplyAsync(EngineHost engine, V1.OverrideRequest request, string actor, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(request);
        if (string.IsNullOrEmpty(request.Gate))
        {
            return OverrideOutcome.Failed(OverrideFailure.InvalidArgument, "gate: required (deployment/canaryVersion)");
        }

        if (!WireEnums.TryToEngine(request.Kind, out var kind))
        {
            return OverrideOutcome.Failed(OverrideFailure.InvalidArgument, KindRequired);
        }

        if (string.IsNullOrWhiteSpace(request.Reason))
        {
            return OverrideOutcome.Failed(OverrideFailure.InvalidArgument, "reason: an override needs a reason");
        }

        var command = new OverrideCommand(request.Gate, kind, actor, request.Reason,
            string.IsNullOrEmpty(request.Rule) ? null : request.Rule, request.Duration?.ToTimeSpan());
        OverrideResult result;
        try
        {
            result = await engine.OverrideAsync(command, cancellationToken).ConfigureAwait(false);
        }
        catch (DecisionLogUnavailableException e)
        {
            // The gate is unchanged; the caller may retry once the log works again.
            return OverrideOutcome.Failed(OverrideFailure.Unavailable, $"override not applied: {e.Message}");
        }

        if (result.Decision is { } decision)
        {
            DaemonLog.OverrideApplied(logger, actor, request.Gate, WireNames.Label(request.Kind), request.Reason);
            return new OverrideOutcome(DecisionMapper.ToProto(decision), OverrideFailure.None, "");
        }

        return OverrideOutcome.Failed(result.Error switch
        {
            OverrideError.NotFound => OverrideFailure.NotFound,
            OverrideError.IllegalTransition => OverrideFailure.IllegalTransition,
            _ => OverrideFailure.InvalidArgument,
        }, result.Message);
    }
}

/// <summary>Why an override was not applied.</summary>
internal enum OverrideFailure
{
    None,
    InvalidArgument,
    NotFound,

    /// <summary>The kind is not allowed in the gate's phase.</summary>
    IllegalTransition,

    /// <summary>The decision log could not make the decision durable; the gate is unchanged.</summary>
    Unavailable,
}

/// <summary>The override decision once durable, or why there is none.</summary>
internal readonly record struct OverrideOutcome(V1.Decision? Decision, OverrideFailure Failure, string Message)
{
    public static OverrideOutcome Failed(OverrideFailure failure, string message) => new(null, failure, message);
}
