using System.Net;
using System.Net.Sockets;
using GateStream.Daemon.Diagnostics;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace GateStream.Daemon.Framed;

/// <summary>Binds <c>GateStream:Framed:Endpoint</c> on Kestrel: <c>host:port</c> (an IP address) or <c>unix:/path</c>; empty = off.</summary>
internal static class FramedListener
{
    public const string UnixPrefix = "unix:";

    /// <summary>Adds the framed listener to Kestrel for <paramref name="endpoint"/>, if it is set.</summary>
    /// <exception cref="InvalidOperationException">The endpoint is neither form, or another process serves its Unix socket.</exception>
    public static void ListenFramed(this KestrelServerOptions kestrel, string? endpoint)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return;
        }

        if (endpoint.StartsWith(UnixPrefix, StringComparison.Ordinal))
        {
            var path = Path.GetFullPath(endpoint[UnixPrefix.Length..]);
            RemoveStaleSocket(path, kestrel.ApplicationServices);
            kestrel.ListenUnixSocket(path, listen => Use(listen, $"{UnixPrefix}{path}"));
        }
        else if (IPEndPoint.TryParse(endpoint, out var address))
        {
            kestrel.Listen(address, listen => Use(listen, address.ToString()));
        }
        else
        {
            // The options validator reports this at start with its key; this guards callers that skip it.
            throw new InvalidOperationException($"GateStream:Framed:Endpoint '{endpoint}' is neither host:port (an IP address) nor unix:/path.");
        }
    }

    private static void Use(ListenOptions listen, string endpoint)
    {
        listen.UseConnectionHandler<FramedConnectionHandler>();
        var services = listen.ApplicationServices;
        var logger = services.GetRequiredService<ILogger<FramedConnectionHandler>>();
        var options = FramedConnectionHandler.BindOptions(services.GetRequiredService<IConfiguration>());
        DaemonLog.FramedListening(logger, endpoint, options.MaxFrameBytes);
    }

    /// <summary>
    /// A socket file left by a daemon that did not stop cleanly would make the bind fail. It is removed only when
    /// nothing answers on it; a live one (another daemon) or a path that is not a socket is an error, not deleted.
    /// </summary>
    private static void RemoveStaleSocket(string path, IServiceProvider services)
    {
        if (!File.Exists(path))
        {
            return;
        }

        if (new FileInfo(path).Length > 0)
        {
            throw new InvalidOperationException($"GateStream:Framed:Endpoint: '{path}' exists and is not a socket; remove it or choose another path.");
        }

        using (var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            try
            {
                probe.Connect(new UnixDomainSocketEndPoint(path));
                throw new InvalidOperationException($"GateStream:Framed:Endpoint: another process is listening on '{path}'.");
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionRefused)
            {
                // Nobody listening: stale.
            }
        }

        File.Delete(path);
        DaemonLog.FramedStaleSocketRemoved(services.GetRequiredService<ILogger<FramedConnectionHandler>>(), path);
    }
}
