namespace GateStream.Daemon.Diagnostics;

// Webhooks of imported Flagger Canaries, called by the daemon. EventIds 1260-1269.
internal static partial class DaemonLog
{
    [LoggerMessage(1260, LogLevel.Information, "Webhook '{Hook}' ({Type}) of gate {Gate}: {Outcome}")]
    public static partial void WebhookFailed(ILogger logger, string hook, string type, string gate, string outcome);

    [LoggerMessage(1261, LogLevel.Debug, "Webhook '{Hook}' ({Type}) of gate {Gate}: {Outcome}")]
    public static partial void WebhookAnswered(ILogger logger, string hook, string type, string gate, string outcome);

    [LoggerMessage(1262, LogLevel.Warning, "Webhook call for gate {Gate} ({Type}) not queued: {Pending} calls are waiting already; it counts as failed")]
    public static partial void WebhookQueueFull(ILogger logger, string gate, string type, int pending);

    [LoggerMessage(1263, LogLevel.Warning, "Webhook answers for gate {Gate} not delivered: {Reason}")]
    public static partial void WebhookResultNotDelivered(ILogger logger, string gate, string reason);
}
