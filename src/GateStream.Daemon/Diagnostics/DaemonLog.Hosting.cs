namespace GateStream.Daemon.Diagnostics;

// Start-up announcements. EventIds 1280-1289 (1000-1999 is the daemon's range; see DaemonLog.cs).
internal static partial class DaemonLog
{
    [LoggerMessage(1280, LogLevel.Information, "gatestreamd {Version} started ({Environment}); listening: {Listeners}")]
    public static partial void Started(ILogger logger, string version, string environment, string listeners);

    [LoggerMessage(1281, LogLevel.Information, "Development: the control API accepts the token in {Path}; for example: {Example}")]
    public static partial void DevelopmentToken(ILogger logger, string path, string example);

    [LoggerMessage(1282, LogLevel.Information, "Development: the demo starts afresh; emptied the decision log in {Directory} (it ended at decision #{Records})")]
    public static partial void DevelopmentReset(ILogger logger, ulong records, string directory);
}
