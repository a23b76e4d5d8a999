using System.Net.Sockets;
using System.Text;
using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Engine;
using GateStream.Daemon.Options;
using GateStream.Daemon.Tests.Integration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting.Systemd;

namespace GateStream.Daemon.Tests.Systemd;

/// <summary>Alone: the test sets NOTIFY_SOCKET for the moment it builds the notifier, which a daemon built in parallel would read.</summary>
[CollectionDefinition(nameof(NotifySocketEnvironment), DisableParallelization = true)]
public sealed class NotifySocketEnvironment;

/// <summary>
/// The watchdog through a real NOTIFY_SOCKET, watching a real engine whose evaluation loop is stalled by blocking one
/// of its shard threads: pings stop while the loop is stuck, and resume when it runs again.
/// </summary>
[Collection(nameof(NotifySocketEnvironment))]
public class WatchdogStallTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Pings_stop_while_the_evaluation_loop_is_stalled_and_resume_after()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        await using var daemon = new TestDaemon(TestPolicies.Fast());
        await daemon.StartAsync();
        var engine = daemon.Services.GetRequiredService<EngineHost>();
        var socketPath = Path.Combine(daemon.Root, "notify.sock");
        using var manager = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        manager.Bind(new UnixDomainSocketEndPoint(socketPath));
        using var watchdog = new WatchdogService(NotifierFor(socketPath), () => engine.IsAlive, TimeSpan.FromMilliseconds(100));
        using var timeout = new CancellationTokenSource(Timeout);

        // Played by systemd: read every datagram as it comes (a full socket queue would block the sender).
        var received = 0L;
        var reading = Task.Run(async () =>
        {
            var buffer = new byte[256];
            while (!timeout.IsCancellationRequested)
            {
                var length = await manager.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                Assert.Equal("WATCHDOG=1", Encoding.UTF8.GetString(buffer, 0, length));
                Interlocked.Increment(ref received);
            }
        });

        await watchdog.StartAsync(timeout.Token);
        try
        {
            await Until(() => Interlocked.Read(ref received) >= 2, timeout.Token);

            // Stall: one shard thread blocks, so the next tick waits on it and the loop stops advancing.
            using var release = new ManualResetEventSlim();
            var stalled = engine.Ingest.InvokeAsync(0, _ => { release.Wait(timeout.Token); return true; }, timeout.Token);
            await Until(() => watchdog.Withheld >= 1, timeout.Token);
            var pingsBefore = watchdog.Pings;
            var withheld = watchdog.Withheld;
            await Until(() => watchdog.Withheld >= withheld + 3, timeout.Token);

            // Three intervals without a ping, and every datagram the socket got is one sent before the stall.
            Assert.Equal(pingsBefore, watchdog.Pings);
            await Until(() => Interlocked.Read(ref received) == pingsBefore, timeout.Token);
            Assert.False(engine.IsAlive);

            release.Set();
            await stalled;
            await Until(() => Interlocked.Read(ref received) > pingsBefore, timeout.Token);
            Assert.True(engine.IsAlive);
        }
        finally
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await watchdog.StopAsync(stop.Token);
            await timeout.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => reading);
        }
    }

    private static SystemdNotifier NotifierFor(string socketPath)
    {
        var previous = Environment.GetEnvironmentVariable("NOTIFY_SOCKET");
        Environment.SetEnvironmentVariable("NOTIFY_SOCKET", socketPath);
        try
        {
            return new SystemdNotifier();
        }
        finally
        {
            Environment.SetEnvironmentVariable("NOTIFY_SOCKET", previous);
        }
    }

    private static async Task Until(Func<bool> condition, CancellationToken cancellationToken)
    {
        while (!condition())
        {
            await Task.Delay(20, cancellationToken);
        }
    }
}
