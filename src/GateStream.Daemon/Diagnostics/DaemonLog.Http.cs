namespace GateStream.Daemon.Diagnostics;

// The HTTP API's and the Flagger webhooks' messages. EventIds 1250-1259 (1000-1999 is the daemon's range; see DaemonLog.cs).
internal static partial class DaemonLog
{
    // A "no" is what an operator looks for; a "yes" comes every analysis interval of every canary.
    [LoggerMessage(1250, LogLevel.Information, "Flagger {Hook} for {Canary} (deployment '{Deployment}', checksum {Checksum}): no - {Answer}")]
    public static partial void FlaggerHookRefusedStep(ILogger logger, string hook, string canary, string deployment, string checksum, string answer);

    [LoggerMessage(1251, LogLevel.Debug, "Flagger {Hook} for {Canary} (deployment '{Deployment}', checksum {Checksum}): yes - {Answer}")]
    public static partial void FlaggerHookAllowedStep(ILogger logger, string hook, string canary, string deployment, string checksum, string answer);

    [LoggerMessage(1252, LogLevel.Warning, "Flagger rollouts file {Path} not used: {Reason}")]
    public static partial void FlaggerRolloutsUnusable(ILogger logger, string path, string reason);
}
