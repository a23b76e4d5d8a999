namespace GateStream.Daemon.Diagnostics;

/// <summary>Log messages of the policy watcher and the tokens files.</summary>
internal static partial class DaemonLog
{
    [LoggerMessage(1005, LogLevel.Error, "Policy reload ({Trigger}) failed, the policies that were running keep running: {Error}")]
    public static partial void PolicyReloadFailed(ILogger logger, string trigger, string error);

    [LoggerMessage(1006, LogLevel.Error, "The {Use} tokens file {Path} cannot be used; every call that needs a token is refused until it can: {Reason}")]
    public static partial void TokensFileUnusable(ILogger logger, string use, string path, string reason);

    [LoggerMessage(1007, LogLevel.Warning, "SIGHUP is ignored by this process (it was started under nohup or with SIGHUP ignored), so `kill -HUP` and `systemctl reload` cannot reload the policies; file changes still do")]
    public static partial void HangupIgnored(ILogger logger);
}
