using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using GateStream.Daemon.Tests.Integration;

namespace GateStream.Daemon.Tests.Systemd;

/// <summary>
/// The systemd integration through a real NOTIFY_SOCKET: the daemon runs as its own process (as under systemd) and
/// this test plays the service manager on a Unix datagram socket.
/// </summary>
public class NotifySocketTests
{
    [Fact]
    public async Task Daemon_reports_ready_pings_the_watchdog_and_reports_stopping_on_sigterm()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var root = Directory.CreateTempSubdirectory("gatestream-notify-").FullName;
        var socketPath = Path.Combine(root, "notify.sock");
        using var manager = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        manager.Bind(new UnixDomainSocketEndPoint(socketPath));
        Directory.CreateDirectory(Path.Combine(root, "policies"));
        await File.WriteAllTextAsync(Path.Combine(root, "policies", "p.yaml"), TestPolicies.Fast());

        await using var child = await DaemonProcess.StartAsync(
            new Dictionary<string, string?>
            {
                ["GateStream:Framed:Endpoint"] = "",
                ["GateStream:Policies:Directory"] = Path.Combine(root, "policies"),
                ["GateStream:State:Directory"] = Path.Combine(root, "state"),
                ["GateStream:Engine:TickInterval"] = "00:00:00.100",
            },
            start =>
            {
                start.Environment["NOTIFY_SOCKET"] = socketPath;
                start.Environment["WATCHDOG_USEC"] = "400000"; // ping every 200 ms
            });
        var daemon = child.Process;

        try
        {
            var messages = new List<string>();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var buffer = new byte[4096];
            while (!(messages.Any(m => m.Contains("READY=1", StringComparison.Ordinal)) && messages.Count(m => m.Contains("WATCHDOG=1", StringComparison.Ordinal)) >= 3))
            {
                var received = await manager.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                messages.Add(Encoding.UTF8.GetString(buffer, 0, received));
            }

            Assert.Contains(messages, m => m.Contains("READY=1", StringComparison.Ordinal));

            // SIGTERM, as `systemctl stop` sends it.
            using (var kill = Process.Start("kill", ["-TERM", daemon.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await kill!.WaitForExitAsync(timeout.Token);
            }

            while (!messages.Any(m => m.Contains("STOPPING=1", StringComparison.Ordinal)))
            {
                var received = await manager.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                messages.Add(Encoding.UTF8.GetString(buffer, 0, received));
            }

            await daemon.WaitForExitAsync(timeout.Token);
            Assert.Equal(0, daemon.ExitCode);
        }
        catch (OperationCanceledException)
        {
            Assert.Fail("timed out; daemon output:\n" + child.Output);
        }
        finally
        {
            if (!daemon.HasExited)
            {
                daemon.Kill(entireProcessTree: true);
            }

            Directory.Delete(root, recursive: true);
        }
    }
}
