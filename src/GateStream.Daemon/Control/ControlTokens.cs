using System.Security.Cryptography;
using System.Text;
using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Options;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace GateStream.Daemon.Control;

/// <summary>
/// Bearer tokens for the control API, from <c>GateStream:Control:TokensFile</c>: one <c>actor token</c> pair a line,
/// <c>#</c> comments. The file is re-read when it changes. Tokens are compared in constant time and never logged.
/// </summary>
internal sealed class ControlTokens(IOptions<GateStreamOptions> options, ILogger<ControlTokens> logger)
{
    /// <summary>A tokens file is a few lines; a larger one is refused unread (and no token is accepted).</summary>
    public const long MaxFileBytes = 64 * 1024;

    private readonly string? _path = options.Value.Control.TokensFile;
    private readonly Lock _lock = new();
    private (DateTime Write, long Length) _loaded = (default, -1);
    private string? _unusable;
    private IReadOnlyList<(string Actor, byte[] Token)> _tokens = [];

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
    public TokenCheck Check(string? authorization)
    {
        if (string.IsNullOrEmpty(_path))
        {
            return new TokenCheck(null, "the control API is disabled: no tokens are configured (GateStream:Control:TokensFile)", TokenRefusal.Disabled);
        }

        if (authorization is null || !authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return new TokenCheck(null, "missing 'authorization: Bearer <token>'", TokenRefusal.Missing);
        }

        var presented = Encoding.UTF8.GetBytes(authorization["Bearer ".Length..].Trim());
        string? actor = null;
        foreach (var (name, token) in Current())
        {
            // Check every token so timing does not reveal which one was close.
            if (CryptographicOperations.FixedTimeEquals(presented, token))
            {
                actor ??= name;
            }
        }

        return actor is null ? new TokenCheck(null, "the bearer token is not valid", TokenRefusal.Invalid) : new TokenCheck(actor, null, TokenRefusal.None);
    }

    /// <summary>
    /// The tokens, re-read when the file's write time or length changes (length too: two writes within one tick of
    /// the file system's clock share a write time). A file that cannot be read leaves no token valid: fail closed.
    /// </summary>
    private IReadOnlyList<(string Actor, byte[] Token)> Current()
    {
        lock (_lock)
        {
            try
            {
                var file = new FileInfo(_path!);
                var stamp = file.Exists ? (file.LastWriteTimeUtc, file.Length) : (default, -1L);
                if (stamp == _loaded && _unusable is null)
                {
                    return _tokens;
                }

                if (!file.Exists)
                {
                    return Unusable("the file does not exist");
                }

                if (file.Length > MaxFileBytes)
                {
                    return Unusable($"the file is {file.Length} bytes, over the {MaxFileBytes}-byte limit");
                }

                _tokens = Parse(File.ReadAllLines(_path!));
                _loaded = stamp;
                _unusable = null;
                return _tokens;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Unusable(e.GetType().Name);
            }
        }
    }

    private IReadOnlyList<(string Actor, byte[] Token)> Unusable(string reason)
    {
        // Logged once per distinct reason, not once per refused call.
        if (_unusable != reason)
        {
            DaemonLog.TokensFileUnusable(logger, _path!, reason);
        }

        _unusable = reason;
        _tokens = [];
        _loaded = (default, -1);
        return _tokens;
    }

    internal static IReadOnlyList<(string Actor, byte[] Token)> Parse(IEnumerable<string> lines) =>
        [.. lines
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Where(parts => parts.Length == 2)
            .Select(parts => (parts[0], Encoding.UTF8.GetBytes(parts[1])))];
}

/// <summary>Why a token was refused.</summary>
internal enum TokenRefusal
{
    None,

    /// <summary>No tokens file is configured: nobody may call the control API.</summary>
    Disabled,

    /// <summary>No bearer token was presented.</summary>
    Missing,

    /// <summary>The token is not in the tokens file.</summary>
    Invalid,
}

/// <summary>The outcome of a token check: the actor, or the refusal and a sentence saying why.</summary>
internal readonly record struct TokenCheck(string? Actor, string? Problem, TokenRefusal Refusal);
