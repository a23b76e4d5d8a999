using System.Security.Cryptography;
using System.Text;
using GateStream.Daemon.Options;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace GateStream.Daemon.Control;

/// <summary>
/// Bearer tokens for the control API, from <c>GateStream:Control:TokensFile</c>: one <c>actor token</c> pair a line,
/// <c>#</c> comments. The file is re-read when it changes. Tokens are compared in constant time and never logged.
/// </summary>
internal sealed class ControlTokens(IOptions<GateStreamOptions> options)
{
    private readonly string? _path = options.Value.Control.TokensFile;
    private readonly Lock _lock = new();
    private DateTime _loadedWrite;
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

    private IReadOnlyList<(string Actor, byte[] Token)> Current()
    {
        lock (_lock)
        {
            var write = File.Exists(_path) ? File.GetLastWriteTimeUtc(_path!) : default;
            if (write != _loadedWrite)
            {
                _tokens = Parse(File.Exists(_path) ? File.ReadAllLines(_path!) : []);
                _loadedWrite = write;
            }

            return _tokens;
        }
    }

    internal static IReadOnlyList<(string Actor, byte[] Token)> Parse(IEnumerable<string> lines) =>
        [.. lines
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Where(parts => parts.Length == 2)
            .Select(parts => (parts[0], Encoding.UTF8.GetBytes(parts[1])))];
}
