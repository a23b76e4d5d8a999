using Microsoft.Extensions.Logging;

namespace GateStream.Client.Internal;

/// <summary>The client's log messages. EventIds 5000-5099.</summary>
internal static class ClientLog
{
    private static readonly Action<ILogger, string, Exception?> ConnectedMessage =
        LoggerMessage.Define<string>(LogLevel.Information, new EventId(5001, "Connected"), "GateStream event sender connected to {Endpoint}");

    private static readonly Action<ILogger, string, double, string, Exception?> SendFailedMessage =
        LoggerMessage.Define<string, double, string>(LogLevel.Warning, new EventId(5002, "SendFailed"),
            "GateStream event sender lost {Endpoint}, retrying in {DelayMs} ms: {Reason}");

    private static readonly Action<ILogger, string, Exception?> RejectedMessage =
        LoggerMessage.Define<string>(LogLevel.Warning, new EventId(5003, "Rejected"), "GateStream refused events: {Reason}");

    private static readonly Action<ILogger, long, string, Exception?> DroppedMessage =
        LoggerMessage.Define<long, string>(LogLevel.Warning, new EventId(5004, "Dropped"), "GateStream event sender dropped {Events} events: {Reason}");

    private static readonly Action<ILogger, ulong, double, string, Exception?> WatchReconnectMessage =
        LoggerMessage.Define<ulong, double, string>(LogLevel.Warning, new EventId(5010, "WatchReconnect"),
            "GateStream decision watch interrupted after sequence {Sequence}, resuming in {DelayMs} ms: {Reason}");

    public static void Connected(ILogger logger, string endpoint) => ConnectedMessage(logger, endpoint, null);

    public static void SendFailed(ILogger logger, string endpoint, TimeSpan delay, string reason) => SendFailedMessage(logger, endpoint, delay.TotalMilliseconds, reason, null);

    public static void Rejected(ILogger logger, string reason) => RejectedMessage(logger, reason, null);

    public static void Dropped(ILogger logger, long events, string reason) => DroppedMessage(logger, events, reason, null);

    public static void WatchReconnect(ILogger logger, ulong sequence, TimeSpan delay, string reason) => WatchReconnectMessage(logger, sequence, delay.TotalMilliseconds, reason, null);
}
