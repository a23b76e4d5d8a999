namespace GateStream.Daemon.Diagnostics;

/// <summary>How logs, refusals and audit lines name the other end of an HTTP request.</summary>
internal static class Peers
{
    /// <summary><c>address:port</c>, or the connection's id where there is no IP address (a Unix socket).</summary>
    public static string Of(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var connection = context.Connection;
        return connection.RemoteIpAddress is { } ip ? $"{ip}:{connection.RemotePort}" : connection.Id;
    }
}
