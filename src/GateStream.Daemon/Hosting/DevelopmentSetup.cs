using System.Security.Cryptography;
using GateStream.Daemon.Decisions.Log;

namespace GateStream.Daemon.Hosting;

/// <summary>
/// What the Development environment (<c>dotnet run --project src/GateStream.Daemon</c>) adds so the README's quick start
/// works with no file made by hand: a control-API token in the state directory, and a decision log emptied at every
/// start while the demo runs, so the demo's rollout is played again instead of restored as finished.
/// </summary>
internal static class DevelopmentSetup
{
    /// <summary>The token file created in the state directory when <c>GateStream:Control:TokensFile</c> is unset.</summary>
    public const string TokenFileName = "dev-token";

    /// <summary>The actor the Development token's overrides are recorded under.</summary>
    public const string Actor = "developer";

    /// <summary>
    /// Points <c>GateStream:Control:TokensFile</c> at <c>dev-token</c> in the state directory (created once with a
    /// random token, readable by its owner only) unless a tokens file is configured. Returns the file, or null.
    /// </summary>
    public static string? ProvideToken(ConfigurationManager configuration, string contentRoot)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (!string.IsNullOrEmpty(configuration["GateStream:Control:TokensFile"]))
        {
            return null;
        }

        var state = Path.GetFullPath(configuration["GateStream:State:Directory"] is { Length: > 0 } configured ? configured : "state", contentRoot);
        var path = Path.Combine(state, TokenFileName);
        try
        {
            if (!File.Exists(path))
            {
                Directory.CreateDirectory(state);
                var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
                var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
                if (!OperatingSystem.IsWindows())
                {
                    options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
                }

                using var writer = new StreamWriter(path, options);
                writer.Write($"# Development only: the control API's token for 'gatestream override --token-file {path}'.\n{Actor} {token}\n");
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // An unusable state directory is reported by the decision log, with its key; no token is offered then.
            return null;
        }

        configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["GateStream:Control:TokensFile"] = path });
        return path;
    }

    /// <summary>
    /// Empties a Development decision log while the demo runs, so each start plays the demo from its beginning. The log
    /// is opened first: its lock proves no other daemon uses the directory. Returns the log to use and the records removed.
    /// </summary>
    public static (DecisionLog Log, ulong Removed) Reset(DecisionLog log, string directory, Func<DecisionLog> open)
    {
        ArgumentNullException.ThrowIfNull(log);
        ArgumentNullException.ThrowIfNull(directory);
        ArgumentNullException.ThrowIfNull(open);
        if (log.LastSequence == 0)
        {
            return (log, 0);
        }

        var removed = log.LastSequence;
        log.Dispose();
        foreach (var file in System.IO.Directory.EnumerateFiles(directory))
        {
            if (Path.GetFileName(file) != TokenFileName)
            {
                File.Delete(file);
            }
        }

        return (open(), removed);
    }
}
