using GateStream.Daemon.Auth;
using GateStream.Daemon.Options;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace GateStream.Daemon.Control;

/// <summary>
/// Bearer tokens for the control API, from <c>GateStream:Control:TokensFile</c> (<see cref="TokenFile"/>: one
/// <c>actor token</c> pair a line, re-read when it changes, compared in constant time, never logged). Without the file
/// every call is refused.
/// </summary>
internal sealed class ControlTokens(IOptions<GateStreamOptions> options, ILogger<ControlTokens> logger)
{
    private readonly TokenFile? _file = options.Value.Control.TokensFile is { Length: > 0 } path ? new TokenFile(path, "control", logger) : null;

    /// <summary>The actor the call's bearer token belongs to; throws UNAUTHENTICATED otherwise.</summary>
    public string Authenticate(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (_file is null)
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "the control API is disabled: no tokens are configured (GateStream:Control:TokensFile)"));
        }

        return _file.CheckBearer(context.RequestHeaders.GetValue("authorization"), out var actor) switch
        {
            TokenCheck.Accepted => actor!,
            TokenCheck.Missing => throw new RpcException(new Status(StatusCode.Unauthenticated, "missing 'authorization: Bearer <token>' metadata")),
            _ => throw new RpcException(new Status(StatusCode.Unauthenticated, "the bearer token is not valid")),
        };
    }
}
