using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using GateStream.Daemon.Tests.Integration;

namespace GateStream.Daemon.Tests.Framed;

/// <summary>
/// Issue: at <c>ulimit -n 1024</c> a flood of framed connections ended the daemon ("Out of memory.", exit 134). Here
/// the daemon runs as a child process under <c>prlimit --nofile=400</c> and gets 600 connections: those past its
/// descriptor budget are refused, it never reaches EMFILE, and once the flood closes it serves again.
/// </summary>
public class DescriptorLimitTests
{
    private const int Descriptors = 400;
    private const int Connections = 600;

    [Fact]
    public async Task A_connection_flood_past_the_descriptor_limit_is_refused_and_the_daemon_lives()
    {
        Assert.True(File.Exists("/usr/bin/prlimit"), "needs prlimit (util-linux)");
        var root = Directory.CreateTempSubdirectory("gatestream-fd-").FullName;
        Directory.CreateDirectory(Path.Combine(root, "policies"));
        await File.WriteAllTextAsync(Path.Combine(root, "policies", "p.yaml"), TestPolicies.Fast());
        await using var child = await DaemonProcess.StartAsync(
            new Dictionary<string, string?>
            {
                ["GateStream:Framed:Endpoint"] = "127.0.0.1:0", // a free port, DaemonProcess.FramedPort
                ["GateStream:Policies:Directory"] = Path.Combine(root, "policies"),
                ["GateStream:State:Directory"] = Path.Combine(root, "state"),
                ["GateStream:Demo:Enabled"] = "false",
            },
            start =>
            {
                // prlimit --nofile=N:N dotnet gatestreamd.dll ...: the daemon runs under the descriptor limit.
                start.ArgumentList.Insert(0, start.FileName);
                start.ArgumentList.Insert(0, $"--nofile={Descriptors}:{Descriptors}");
                start.FileName = "/usr/bin/prlimit";
            });
        var daemon = child.Process;
        var (framedPort, httpPort) = (child.FramedPort, child.HttpPort);
        var clients = new List<Socket>();
        try
        {
            using (var first = await ConnectWhenUpAsync(framedPort, daemon))
            {
                Assert.Equal(Outcome.Accepted, await HandshakeAsync(first));
            }

            var outcomes = new Dictionary<Outcome, int>();
            for (var i = 0; i < Connections; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                clients.Add(socket);
                Outcome outcome;
                try
                {
                    await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, framedPort));
                    outcome = await HandshakeAsync(socket);
                }
                catch (SocketException)
                {
                    outcome = Outcome.Closed;
                }

                outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            }

            var summary = string.Join(", ", outcomes.Select(o => $"{o.Key}={o.Value}"));
            Assert.False(daemon.HasExited, $"the daemon died ({summary}):\n{child.Output}");
            Assert.Equal(0, outcomes.GetValueOrDefault(Outcome.NoAnswer));
            Assert.True(outcomes.GetValueOrDefault(Outcome.Accepted) <= Descriptors, summary);
            Assert.True(outcomes.GetValueOrDefault(Outcome.Overloaded) + outcomes.GetValueOrDefault(Outcome.Closed) >= Connections - Descriptors, summary);

            foreach (var socket in clients)
            {
                socket.Dispose();
            }

            // The flood gone, it serves again: a framed handshake and its health endpoint.
            using (var again = await ConnectWhenUpAsync(framedPort, daemon))
            {
                Assert.Equal(Outcome.Accepted, await HandshakeAsync(again));
            }

            using var http = new HttpClient();
            Assert.Equal("Healthy", await http.GetStringAsync(new Uri($"http://127.0.0.1:{httpPort}/healthz")));
            Assert.False(daemon.HasExited);
        }
        finally
        {
            foreach (var socket in clients)
            {
                socket.Dispose();
            }

            if (!daemon.HasExited)
            {
                daemon.Kill(entireProcessTree: true);
            }

            await daemon.WaitForExitAsync();
            Directory.Delete(root, recursive: true);
        }
    }

    private enum Outcome
    {
        Accepted,
        Overloaded,
        Closed,
        NoAnswer,
    }

    /// <summary>Sends the hello; the server's hello is Accepted, ERROR 11 Overloaded, a close or reset Closed, silence NoAnswer.</summary>
    private static async Task<Outcome> HandshakeAsync(Socket socket)
    {
        var hello = new byte[12];
        "GSF1"u8.CopyTo(hello);
        hello[4] = 1;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await socket.SendAsync(hello.AsMemory(0, 8), SocketFlags.None, timeout.Token);
            var reply = new byte[9];
            var read = 0;
            while (read < reply.Length)
            {
                var n = await socket.ReceiveAsync(reply.AsMemory(read), SocketFlags.None, timeout.Token);
                if (n == 0)
                {
                    return Outcome.Closed;
                }

                read += n;
            }

            return reply[0] == (byte)'G' ? Outcome.Accepted
                : reply[0] == 3 && BitConverter.ToUInt32(reply, 5) == 11 ? Outcome.Overloaded
                : throw new InvalidOperationException($"unexpected reply {Convert.ToHexString(reply)}");
        }
        catch (SocketException)
        {
            return Outcome.Closed;
        }
        catch (OperationCanceledException)
        {
            return Outcome.NoAnswer;
        }
    }

    private static async Task<Socket> ConnectWhenUpAsync(int port, Process daemon)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            Assert.False(daemon.HasExited, "the daemon exited");
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port));
                return socket;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline)
            {
                socket.Dispose();
                await Task.Delay(100);
            }
        }
    }
}
