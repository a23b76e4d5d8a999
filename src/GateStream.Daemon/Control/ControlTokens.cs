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
        if (string.IsNullOrEmpty(_path))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "the control API is disabled: no tokens are configured (GateStream:Control:TokensFile)"));
        }

        var header = context.RequestHeaders.GetValue("authorization");
        if (header is null || !header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            throw new RpcException(new Status(StatusCode.Unauthenticated, "missing 'authorization: Bearer <token>' metadata"));
        }

        var presented = Encoding.UTF8.GetBytes(header["Bearer ".Length..].Trim());
        string? actor = null;
        foreach (var (name, token) in Current())
        {
            // Check every token so timing does not reveal which one was close.
            if (CryptographicOperations.FixedTimeEquals(presented, token))
            {
                actor ??= name;
            }
        }

        return actor ?? throw new RpcException(new Status(StatusCode.Unauthenticated, "the bearer token is not valid"));
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
