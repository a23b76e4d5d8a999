namespace GateStream.Daemon.Diagnostics;

// The framed listener's messages. EventIds 1090-1099 (1000-1999 is the daemon's range; see DaemonLog.cs).
internal static partial class DaemonLog
{
    [LoggerMessage(1090, LogLevel.Information, "Framed listener on {Endpoint} (max frame {MaxFrameBytes} bytes)")]
    public static partial void FramedListening(ILogger logger, string endpoint, int maxFrameBytes);

    [LoggerMessage(1091, LogLevel.Information, "Removed stale framed socket file {Path}")]
    public static partial void FramedStaleSocketRemoved(ILogger logger, string path);

    [LoggerMessage(1092, LogLevel.Warning, "Framed connection {Peer} closed with ERROR {Code}: {Message}{Suppressed}")]
    public static partial void FramedProtocolError(ILogger logger, string peer, string code, string message, string suppressed);

    [LoggerMessage(1093, LogLevel.Debug, "Framed connection {Peer} opened")]
    public static partial void FramedConnected(ILogger logger, string peer);

    [LoggerMessage(1094, LogLevel.Debug, "Framed connection {Peer} ended: {Reason}")]
    public static partial void FramedDisconnected(ILogger logger, string peer, string reason);

    [LoggerMessage(1095, LogLevel.Debug, "Framed connection {Peer} broke")]
    public static partial void FramedConnectionBroke(ILogger logger, Exception exception, string peer);

    [LoggerMessage(1096, LogLevel.Error, "Framed connection {Peer} failed unexpectedly")]
    public static partial void FramedFault(ILogger logger, Exception exception, string peer);
}
