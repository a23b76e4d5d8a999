namespace GateStream.Daemon.Diagnostics;

/// <summary>Log messages of the metric query poller (Flagger MetricTemplates).</summary>
internal static partial class DaemonLog
{
    [LoggerMessage(1400, LogLevel.Warning, "{Template} for metric '{Metric}' of gate {Gate} ({Provider}): {Outcome}, a failed check: {Error}")]
    public static partial void MetricQueryFailed(ILogger logger, string template, string metric, string gate, string provider, string outcome, string error);

    [LoggerMessage(1401, LogLevel.Error, "A round of metric queries failed; the next round tries again")]
    public static partial void MetricQueryRoundFailed(ILogger logger, Exception exception);
}
