namespace GateStream.Daemon.Diagnostics;

// The HTTP API's and the Flagger webhooks' messages. EventIds 1250-1259 (1000-1999 is the daemon's range; see DaemonLog.cs).
internal static partial class DaemonLog
{
    [LoggerMessage(1250, LogLevel.Information, "Flagger {Hook} for {Canary} (deployment '{Deployment}', checksum {Checksum}): {Status} - {Answer}")]
    public static partial void FlaggerHookAnswered(ILogger logger, string hook, string canary, string deployment, string checksum, int status, string answer);

    [LoggerMessage(1251, LogLevel.Warning, "Flagger webhook refused ({Peer}): {Problem}")]
    public static partial void FlaggerHookRefused(ILogger logger, string peer, string problem);

    [LoggerMessage(1252, LogLevel.Warning, "Flagger rollouts file {Path} not used: {Reason}")]
    public static partial void FlaggerRolloutsUnusable(ILogger logger, string path, string reason);
}
