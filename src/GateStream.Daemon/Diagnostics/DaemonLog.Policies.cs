namespace GateStream.Daemon.Diagnostics;

/// <summary>Log messages of the policy watcher and the control tokens file.</summary>
internal static partial class DaemonLog
{
    [LoggerMessage(1005, LogLevel.Error, "Policy reload ({Trigger}) failed, the policies that were running keep running: {Error}")]
    public static partial void PolicyReloadFailed(ILogger logger, string trigger, string error);

    [LoggerMessage(1006, LogLevel.Error, "Control tokens file {Path} cannot be used, every control call is refused until it can: {Reason}")]
    public static partial void TokensFileUnusable(ILogger logger, string path, string reason);
}
