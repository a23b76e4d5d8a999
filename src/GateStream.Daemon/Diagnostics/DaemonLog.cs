namespace GateStream.Daemon.Diagnostics;

/// <summary>The daemon's log messages (source-generated). EventIds 1000-1999; the decision log uses 3000+.</summary>
internal static partial class DaemonLog
{
    [LoggerMessage(1001, LogLevel.Information, "Policies loaded from {Directory} ({Count}): {Names}")]
    public static partial void PoliciesLoaded(ILogger logger, int count, string directory, string names);

    [LoggerMessage(1002, LogLevel.Error, "Policy file rejected, the previous version keeps running: {Problem}")]
    public static partial void PolicyProblem(ILogger logger, string problem);

    [LoggerMessage(1003, LogLevel.Warning, "Policy warning: {Problem}")]
    public static partial void PolicyWarning(ILogger logger, string problem);

    [LoggerMessage(1004, LogLevel.Warning, "Policy directory {Directory} does not exist; no gates will start until it does")]
    public static partial void PolicyDirectoryMissing(ILogger logger, string directory);

    [LoggerMessage(1010, LogLevel.Information, "Decision log at {Directory}: {Records} records in {Segments} segments, last sequence {LastSequence}")]
    public static partial void LogOpened(ILogger logger, string directory, long records, int segments, ulong lastSequence);

    [LoggerMessage(1011, LogLevel.Information, "Restored: {Message}")]
    public static partial void GateRestored(ILogger logger, string message);

    [LoggerMessage(1012, LogLevel.Warning, "Not restored: {Message}")]
    public static partial void GateNotRestored(ILogger logger, string message);

    [LoggerMessage(1020, LogLevel.Information, "Decision {Sequence} {Gate}: {Action} weight {Weight} ({Phase}){Shadow} - {Reason}")]
    public static partial void Decision(ILogger logger, ulong sequence, string gate, string action, int weight, string phase, string shadow, string reason);

    [LoggerMessage(1030, LogLevel.Warning, "Refused {Items} items from {Source} for {Deployment}@{Version}: {Reason}")]
    public static partial void Refused(ILogger logger, int items, string source, string deployment, string version, string reason);

    [LoggerMessage(1031, LogLevel.Warning, "Bad input from {Source} ({Peer}): {Message}")]
    internal static partial void BadInputLine(ILogger logger, string source, string peer, string message);

    /// <summary>Bad input, rate-limited per source and sanitised (<see cref="Diagnostics.BadInputLog"/>): the way every ingest path logs it.</summary>
    public static void BadInput(ILogger logger, string source, string peer, string message) =>
        Diagnostics.BadInputLog.Write(logger, source, peer, message);

    [LoggerMessage(1040, LogLevel.Warning, "Control API call refused ({Peer}): {Message}")]
    public static partial void ControlRefused(ILogger logger, string peer, string message);

    [LoggerMessage(1042, LogLevel.Warning, "Sender refused on {Listener} ({Peer}), {Reason}: {Message}{Suppressed}")]
    public static partial void AuthRefused(ILogger logger, string listener, string peer, string reason, string message, string suppressed);

    [LoggerMessage(1041, LogLevel.Information, "Override by {Actor} on {Gate}: {Kind} - {Reason}")]
    public static partial void OverrideApplied(ILogger logger, string actor, string gate, string kind, string reason);

    [LoggerMessage(1050, LogLevel.Error, "Evaluation tick failed on shard {Shard}")]
    public static partial void TickFailed(ILogger logger, Exception exception, int shard);

    [LoggerMessage(1051, LogLevel.Warning, "Evaluation tick took {Milliseconds} ms, longer than the tick interval")]
    public static partial void TickSlow(ILogger logger, double milliseconds);

    [LoggerMessage(1060, LogLevel.Information, "Demo traffic running for deployment '{Deployment}': baseline {Baseline}, canary {Canary} with errors rising after {Minutes} min")]
    public static partial void DemoStarted(ILogger logger, string deployment, string baseline, string canary, double minutes);
}
