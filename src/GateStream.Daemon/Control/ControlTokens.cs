using GateStream.Daemon.Auth;
using GateStream.Daemon.Options;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace GateStream.Daemon.Control;

/// <summary>
/// Bearer tokens for the control API, from <c>GateStream:Control:TokensFile</c> (<see cref="TokenFile"/>: one
/// <c>actor token</c> pair a line, re-read when it changes, compared in constant time, never logged). Without the file
/// every call is refused. gRPC and the HTTP API check through the same <see cref="Check"/>.
/// </summary>
internal sealed class ControlTokens(IOptions<GateStreamOptions> options, ILogger<ControlTokens> logger)
{
    private readonly TokenFile? _file = options.Value.Control.TokensFile is { Length: > 0 } path ? new TokenFile(path, "control", logger) : null;

    /// <summary>The actor the call's bearer token belongs to; throws UNAUTHENTICATED otherwise.</summary>
    public string Authenticate(ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var check = Check(context.RequestHeaders.GetValue("authorization"));
        return check.Actor ?? throw new RpcException(new Status(StatusCode.Unauthenticated, check.Problem!));
    }

    /// <summary>
    /// Checks an <c>authorization</c> header value (gRPC metadata or HTTP header alike): the actor its bearer token
    /// belongs to, or why it is refused.
    /// </summary>
    public ControlAuthorization Check(string? authorization)
    {
        if (_file is null)
        {
            return new ControlAuthorization(null, "the control API is disabled: no tokens are configured (GateStream:Control:TokensFile)", TokenRefusal.Disabled);
        }

        return _file.CheckBearer(authorization, out var actor) switch
        {
            TokenCheck.Accepted => new ControlAuthorization(actor, null, TokenRefusal.None),
            TokenCheck.Missing => new ControlAuthorization(null, "missing 'authorization: Bearer <token>'", TokenRefusal.Missing),
            TokenCheck.Invalid => new ControlAuthorization(null, "the bearer token is not valid", TokenRefusal.Invalid),
            _ => new ControlAuthorization(null, "no token is accepted now: the control tokens file cannot be used", TokenRefusal.Invalid),
        };
    }
}

/// <summary>Why a token was refused.</summary>
internal enum TokenRefusal
{
    None,

    /// <summary>No tokens file is configured: nobody may call the control API.</summary>
    Disabled,

    /// <summary>No bearer token was presented.</summary>
    Missing,

    /// <summary>The token is not in the tokens file (or the file cannot be used now).</summary>
    Invalid,
}

/// <summary>The outcome of a control token check: the actor, or the refusal and a sentence saying why.</summary>
internal readonly record struct ControlAuthorization(string? Actor, string? Problem, TokenRefusal Refusal);
