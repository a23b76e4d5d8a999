using System.Security.Cryptography;
using System.Text;
using GateStream.Daemon.Diagnostics;

namespace GateStream.Daemon.Auth;

/// <summary>How a presented token fared against a <see cref="TokenFile"/>.</summary>
internal enum TokenCheck
{
    /// <summary>The token is one of the file's.</summary>
    Accepted,

    /// <summary>No token was presented.</summary>
    Missing,

    /// <summary>A token was presented and is not one of the file's.</summary>
    Invalid,

    /// <summary>The file cannot be used (missing, too large, unreadable): no token is valid until it can.</summary>
    FileUnusable,
}

/// <summary>
/// Bearer tokens from an operator-edited file: one <c>name token</c> pair a line, <c>#</c> comments. The file is re-read
/// when it changes, checked at each use (a stat, not a read). Tokens are compared in constant time and never logged.
/// Used for the control API (<c>GateStream:Control:TokensFile</c>) and, with a separate file, the ingest listeners
/// (<c>GateStream:Ingest:TokensFile</c>).
/// </summary>
/// <param name="path">The file.</param>
/// <param name="use">What the tokens are for, in the log line saying the file cannot be used ("control", "ingest").</param>
/// <param name="logger">Where that line goes.</param>
internal sealed class TokenFile(string path, string use, ILogger logger)
{
    /// <summary>A tokens file is a few lines; a larger one is refused unread (and no token is accepted).</summary>
    public const long MaxFileBytes = 64 * 1024;

    private const string BearerPrefix = "Bearer ";

    private readonly Lock _lock = new();
    private volatile Loaded? _loaded;
    private string? _unusable;

    public string Path => path;

    /// <summary>The token of an <c>authorization: Bearer &lt;token&gt;</c> header value; null when there is none.</summary>
    public static string? BearerToken(string? header) =>
        header is not null && header.StartsWith(BearerPrefix, StringComparison.OrdinalIgnoreCase) && header.Length > BearerPrefix.Length
            ? header[BearerPrefix.Length..].Trim()
            : null;

    /// <summary>Checks <paramref name="presented"/> (UTF-8; empty = none) against every token; <paramref name="name"/> is its owner when accepted.</summary>
    public TokenCheck Check(ReadOnlySpan<byte> presented, out string? name)
    {
        name = null;
        var tokens = Current();
        if (tokens is null)
        {
            return TokenCheck.FileUnusable;
        }

        if (presented.IsEmpty)
        {
            return TokenCheck.Missing;
        }

        foreach (var (owner, token) in tokens)
        {
            // Check every token so timing does not reveal which one was close.
            if (CryptographicOperations.FixedTimeEquals(presented, token))
            {
                name ??= owner;
            }
        }

        return name is null ? TokenCheck.Invalid : TokenCheck.Accepted;
    }

    /// <summary>Checks the token of an <c>authorization</c> header value (<see cref="BearerToken"/>).</summary>
    public TokenCheck CheckBearer(string? header, out string? name)
    {
        var token = BearerToken(header);
        if (token is null)
        {
            name = null;
            return Current() is null ? TokenCheck.FileUnusable : TokenCheck.Missing;
        }

        return Check(Encoding.UTF8.GetBytes(token), out name);
    }

    /// <summary>
    /// The tokens, re-read when the file's write time or length changes (length too: two writes within one tick of the
    /// file system's clock share a write time); null when the file cannot be used: fail closed.
    /// </summary>
    private IReadOnlyList<(string Name, byte[] Token)>? Current()
    {
        FileInfo file;
        try
        {
            file = new FileInfo(path);
            if (_loaded is { } loaded && file.Exists && loaded.Write == file.LastWriteTimeUtc && loaded.Length == file.Length)
            {
                return loaded.Tokens;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            lock (_lock)
            {
                return Unusable(e.GetType().Name);
            }
        }

        lock (_lock)
        {
            try
            {
                file.Refresh();
                if (!file.Exists)
                {
                    return Unusable("the file does not exist");
                }

                if (_loaded is { } loaded && loaded.Write == file.LastWriteTimeUtc && loaded.Length == file.Length)
                {
                    return loaded.Tokens; // another caller re-read it meanwhile
                }

                if (file.Length > MaxFileBytes)
                {
                    return Unusable($"the file is {file.Length} bytes, over the {MaxFileBytes}-byte limit");
                }

                var tokens = Parse(File.ReadAllLines(path));
                _loaded = new Loaded(file.LastWriteTimeUtc, file.Length, tokens);
                _unusable = null;
                return tokens;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return Unusable(e.GetType().Name);
            }
        }
    }

    // Under _lock. Logged once per distinct reason, not once per refused call.
    private IReadOnlyList<(string Name, byte[] Token)>? Unusable(string reason)
    {
        if (_unusable != reason)
        {
            DaemonLog.TokensFileUnusable(logger, use, path, reason);
        }

        _unusable = reason;
        _loaded = null;
        return null;
    }

    internal static IReadOnlyList<(string Name, byte[] Token)> Parse(IEnumerable<string> lines) =>
        [.. lines
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split((char[]?)null, 2, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Where(parts => parts.Length == 2)
            .Select(parts => (parts[0], Encoding.UTF8.GetBytes(parts[1])))];

    private sealed record Loaded(DateTime Write, long Length, IReadOnlyList<(string Name, byte[] Token)> Tokens);
}
