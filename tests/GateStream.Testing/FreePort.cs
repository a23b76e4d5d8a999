using System.Net;
using System.Net.Sockets;

namespace GateStream.Testing;

/// <summary>
/// Loopback ports for listeners started by tests. A port picked by binding port 0 is free when picked, but the
/// listener that is then started on it can lose it to another process on a busy machine (a parallel test, an outgoing
/// connection given that port). So a listener is started through <see cref="BindAsync{T}"/>, which picks the ports,
/// starts, and picks again when the bind failed because a port was taken.
/// </summary>
public static class FreePort
{
    /// <summary>How many sets of ports are tried before an address conflict fails the test.</summary>
    public const int Attempts = 5;

    /// <summary>
    /// Runs <paramref name="start"/> with <paramref name="count"/> distinct ports the kernel has just handed out, and
    /// again with new ones while it fails because one of them is in use (an error naming another address, such as a
    /// port a test occupies on purpose, is not retried).
    /// </summary>
    public static async Task<T> BindAsync<T>(int count, Func<int[], Task<T>> start)
    {
        ArgumentNullException.ThrowIfNull(start);
        for (var attempt = 1; ; attempt++)
        {
            var ports = Pick(count);
            try
            {
                return await start(ports);
            }
            catch (Exception e) when (attempt < Attempts && IsAddressInUse(e.ToString(), ports))
            {
            }
        }
    }

    /// <summary>
    /// A loopback port held bound (not listening) until disposed: connections to it are refused, and the kernel hands
    /// it to no outgoing connection meanwhile. For tests that need an address where nothing answers.
    /// </summary>
    public static Reservation Reserve() => new();

    /// <summary>
    /// Whether <paramref name="report"/> (an exception's text, a process's output) says a listener could not bind
    /// because one of <paramref name="ports"/> on loopback was taken, as Kestrel words it:
    /// <c>Failed to bind to address http://127.0.0.1:port: address already in use.</c>
    /// </summary>
    public static bool IsAddressInUse(string report, IEnumerable<int> ports)
    {
        ArgumentNullException.ThrowIfNull(report);
        return report.Contains("address already in use", StringComparison.OrdinalIgnoreCase)
            && ports.Any(port => report.Contains($"127.0.0.1:{port}", StringComparison.Ordinal));
    }

    /// <summary>Distinct ports: all are bound at once, so the kernel cannot hand the same one out twice.</summary>
    private static int[] Pick(int count)
    {
        var sockets = new Socket[count];
        try
        {
            for (var i = 0; i < count; i++)
            {
                sockets[i] = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                sockets[i].Bind(new IPEndPoint(IPAddress.Loopback, 0));
            }

            return [.. sockets.Select(s => ((IPEndPoint)s.LocalEndPoint!).Port)];
        }
        finally
        {
            foreach (var socket in sockets)
            {
                socket?.Dispose();
            }
        }
    }

    /// <summary>A bound, never listening, loopback socket; see <see cref="Reserve"/>.</summary>
    public sealed class Reservation : IDisposable
    {
        private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        internal Reservation()
        {
            _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
        }

        public int Port { get; }

        /// <summary><c>127.0.0.1:port</c>.</summary>
        public string Endpoint => $"127.0.0.1:{Port}";

        public void Dispose() => _socket.Dispose();
    }
}
