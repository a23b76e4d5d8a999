using System.Net;

namespace GateStream.Daemon.Tests.Queries;

/// <summary>An <see cref="HttpListener"/> on a free loopback port, picked again when the port was taken meanwhile.</summary>
internal static class LoopbackListener
{
    public static Task<HttpListener> StartAsync() => FreePort.BindAsync(1, ports =>
    {
        var listener = new HttpListener();
        listener.Prefixes.Add($"http://127.0.0.1:{ports[0]}/");
        try
        {
            listener.Start();
        }
        catch (HttpListenerException e)
        {
            listener.Close();
            throw new IOException($"Failed to bind to address http://127.0.0.1:{ports[0]}: address already in use ({e.Message})", e);
        }

        return Task.FromResult(listener);
    });

    public static int Port(this HttpListener listener) => new Uri(listener.Prefixes.Single()).Port;
}
