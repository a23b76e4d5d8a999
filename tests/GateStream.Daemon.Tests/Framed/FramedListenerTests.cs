using System.Buffers.Binary;
using System.Net.Http;
using System.Net.Sockets;
using GateStream.Client;
using GateStream.Daemon.Tests.Integration;
using Google.Protobuf;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Framed;

/// <summary>
/// The framed listener of the real daemon (Kestrel on loopback TCP and a Unix socket), driven by the client library:
/// events arrive and are counted, bad input is refused and counted, and a decision watcher resumes across a restart.
/// </summary>
public class FramedListenerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    /// <summary>A framed listener on a port the test daemon chooses (<see cref="TestDaemon.FramedEndpoint"/>).</summary>
    private const string AnyPort = "127.0.0.1:0";

    private static Dictionary<string, string?> FramedOn(string endpoint) => new() { ["GateStream:Framed:Endpoint"] = endpoint };

    private static EventSenderOptions SenderOptions(string endpoint) => new()
    {
        Endpoint = endpoint,
        FlushInterval = TimeSpan.FromMilliseconds(100),
        ReconnectDelay = TimeSpan.FromMilliseconds(50),
        MaxReconnectDelay = TimeSpan.FromMilliseconds(500),
    };

    private static async Task<string> MetricsAsync(TestDaemon daemon)
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{daemon.HttpPort}") };
        return await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
    }

    private static async Task WaitForMetricAsync(TestDaemon daemon, string line)
    {
        var deadline = DateTime.UtcNow + Timeout;
        string metrics;
        do
        {
            metrics = await MetricsAsync(daemon);
            if (metrics.Contains(line, StringComparison.Ordinal))
            {
                return;
            }

            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"no '{line}' in /metrics:\n{metrics}");
    }

    private static void RecordTraffic(EventSender sender, string deployment, int baseline, int canary, int canaryErrorEvery = 0)
    {
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < baseline; i++)
        {
            sender.Record(deployment, "v1", now.AddMilliseconds(-i), TimeSpan.FromMilliseconds(2), 200);
        }

        for (var i = 0; i < canary; i++)
        {
            sender.Record(deployment, "v2", now.AddMilliseconds(-i), TimeSpan.FromMilliseconds(2), canaryErrorEvery > 0 && i % canaryErrorEvery == 0 ? 503 : 200);
        }
    }

    [Fact]
    public async Task Events_sent_by_the_client_library_over_tcp_reach_the_engine_and_are_counted()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"), FramedOn(AnyPort));
        await daemon.StartAsync();
        var endpoint = daemon.FramedEndpoint;
        await using var sender = new EventSender(SenderOptions(endpoint));

        RecordTraffic(sender, "checkout", baseline: 300, canary: 120);
        await sender.FlushAsync().WaitAsync(Timeout);

        Assert.Equal((420L, 0L, 0L), (sender.Stats.Acknowledged, sender.Stats.Rejected, sender.Dropped));
        await WaitForMetricAsync(daemon, "gatestream_ingest_total{outcome=\"events_accepted\"} 420");
        var metrics = await MetricsAsync(daemon);
        Assert.Contains("gatestream_events_received_total{source=\"framed\"} 420", metrics, StringComparison.Ordinal);
        Assert.Contains("gatestream_framed_connections 1", metrics, StringComparison.Ordinal);
        Assert.Contains("gatestream_framed_errors_total{code=\"unknown_frame_type\"} 0", metrics, StringComparison.Ordinal);

        // The engine saw a new canary version of a targeted deployment with real traffic and started a gate for it
        // (gate opening is checked once a second, so wait for it).
        using var wait = new CancellationTokenSource(Timeout);
        var gates = await daemon.Decisions.ListGatesAsync(new V1.ListGatesRequest());
        while (gates.Gates.Count == 0 && !wait.IsCancellationRequested)
        {
            await Task.Delay(50, CancellationToken.None);
            gates = await daemon.Decisions.ListGatesAsync(new V1.ListGatesRequest());
        }

        Assert.Equal("checkout/v2", Assert.Single(gates.Gates).Id);
    }

    [Fact]
    public async Task A_unix_socket_endpoint_works_and_a_stale_socket_file_is_replaced()
    {
        var path = Path.Combine(Path.GetTempPath(), $"gatestream-{Guid.NewGuid():N}.sock");
        // A socket file left behind by a daemon that died: bound, never removed. (.NET removes the file it bound when
        // the socket is disposed, so the file is renamed away from under it first.)
        using (var stale = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified))
        {
            stale.Bind(new UnixDomainSocketEndPoint(path + ".bound"));
            File.Move(path + ".bound", path);
        }

        Assert.True(File.Exists(path));
        try
        {
            await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"), FramedOn($"unix:{path}"));
            await daemon.StartAsync();
            await using var sender = new EventSender(SenderOptions($"unix:{path}"));

            RecordTraffic(sender, "checkout", baseline: 50, canary: 0);
            await sender.FlushAsync().WaitAsync(Timeout);

            Assert.Equal(50, sender.Stats.Acknowledged);
            await WaitForMetricAsync(daemon, "gatestream_events_received_total{source=\"framed\"} 50");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Bad_input_is_refused_with_a_reason_counted_and_does_not_disturb_another_sender()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"), FramedOn(AnyPort));
        await daemon.StartAsync();
        var port = daemon.FramedPort;
        await using var sender = new EventSender(SenderOptions($"127.0.0.1:{port}"));
        RecordTraffic(sender, "checkout", baseline: 10, canary: 0);
        await sender.FlushAsync().WaitAsync(Timeout);

        using var raw = new TcpClient();
        await raw.ConnectAsync("127.0.0.1", port);
        var stream = raw.GetStream();
        await stream.WriteAsync("GSF1\u0001\0\0\0"u8.ToArray());
        var hello = new byte[12];
        await stream.ReadExactlyAsync(hello);
        Assert.Equal(4u * 1024 * 1024, BinaryPrimitives.ReadUInt32LittleEndian(hello.AsSpan(8)));

        // A batch whose columns disagree: acknowledged as rejected, with the reason.
        var bad = EventBatches.Batch("checkout", "v1", 10);
        bad.LatencyMicros.RemoveAt(0);
        var request = new V1.PushRequest { Events = { EventBatches.Batch("checkout", "v1", 5), bad } };
        await stream.WriteAsync(Frame(1, [.. BitConverter.GetBytes(77UL), .. request.ToByteArray()]));
        var (type, payload) = await ReadFrameAsync(stream);
        Assert.Equal(2, type);
        Assert.Equal((77UL, 5u, 10u), (BinaryPrimitives.ReadUInt64LittleEndian(payload), BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(8)), BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(12))));
        Assert.Contains("latency_micros has 9 values for 10 events", System.Text.Encoding.UTF8.GetString(payload.AsSpan(24)), StringComparison.Ordinal);

        // Garbage: an ERROR frame, then the connection is closed.
        await stream.WriteAsync(new byte[] { 9, 0, 0, 0, 0 });
        (type, payload) = await ReadFrameAsync(stream);
        Assert.Equal(3, type);
        Assert.Equal(4u, BinaryPrimitives.ReadUInt32LittleEndian(payload));
        Assert.Equal(0, await stream.ReadAsync(new byte[1]));

        // The well-behaved sender carries on.
        RecordTraffic(sender, "checkout", baseline: 10, canary: 0);
        await sender.FlushAsync().WaitAsync(Timeout);
        Assert.Equal((20L, 1L), (sender.Stats.Acknowledged, sender.Stats.Connects));
        var metrics = await MetricsAsync(daemon);
        Assert.Contains("gatestream_decode_errors_total{source=\"framed\"} 2", metrics, StringComparison.Ordinal);
        Assert.Contains("gatestream_framed_errors_total{code=\"unknown_frame_type\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("gatestream_events_received_total{source=\"framed\"} 25", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_framed_limit_stops_the_daemon_naming_the_key()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(), new Dictionary<string, string?>
        {
            ["GateStream:Framed:Endpoint"] = AnyPort,
            ["GateStream:Framed:MaxFrameBytes"] = "10",
        });

        var error = await Assert.ThrowsAnyAsync<Exception>(daemon.StartAsync);

        Assert.Contains("GateStream:Framed:MaxFrameBytes must be between 1024", error.ToString(), StringComparison.Ordinal);
    }

    private static byte[] Frame(byte type, byte[] payload)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = type;
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame, 5);
        return frame;
    }

    private static async Task<(byte Type, byte[] Payload)> ReadFrameAsync(NetworkStream stream)
    {
        var header = new byte[5];
        await stream.ReadExactlyAsync(header);
        var payload = new byte[BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(1))];
        await stream.ReadExactlyAsync(payload);
        return (header[0], payload);
    }

    [Fact]
    public async Task A_decision_watcher_sees_every_decision_exactly_once_across_a_daemon_restart()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "2s"), FramedOn(AnyPort));
        await daemon.StartAsync();
        var endpoint = daemon.FramedEndpoint;
        await using var sender = new EventSender(SenderOptions(endpoint));
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var feeding = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                RecordTraffic(sender, "checkout", baseline: 40, canary: 20);
                await Task.Delay(100);
            }
        });

        // The watcher follows the daemon through a factory: a restarted TestDaemon has a new channel.
        var watcher = new DecisionWatcher(() => daemon.Channel!.CreateCallInvoker(),
            new DecisionWatcherOptions { ReconnectDelay = TimeSpan.FromMilliseconds(50), MaxReconnectDelay = TimeSpan.FromMilliseconds(500) });
        var seen = new List<V1.Decision>();
        var firstSeen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var watching = Task.Run(async () =>
        {
            await foreach (var decision in watcher.WatchAsync(new DecisionFilter { FromStart = true }, stop.Token))
            {
                lock (seen)
                {
                    seen.Add(decision);
                }

                firstSeen.TrySetResult();
                if (decision.Weight == 100)
                {
                    return;
                }
            }
        });

        await firstSeen.Task.WaitAsync(Timeout);
        await daemon.StopAsync();
        await Task.Delay(300);
        await daemon.StartAsync();
        await watching.WaitAsync(Timeout);
        await stop.CancelAsync();
        await feeding;

        // Exactly the log: nothing missed, nothing twice, in order.
        using var replay = daemon.Decisions.Watch(new V1.WatchRequest { FromStart = true });
        var logged = new List<V1.Decision>();
        using var timeout = new CancellationTokenSource(Timeout);
        while (logged.Count < seen.Count && await replay.ResponseStream.MoveNext(timeout.Token))
        {
            logged.Add(replay.ResponseStream.Current);
        }

        Assert.Equal(logged.Select(d => d.Sequence), seen.Select(d => d.Sequence));
        Assert.Equal(logged, seen);
        Assert.Equal(V1.Phase.Succeeded, seen[^1].Phase);
        Assert.True(watcher.Reconnects >= 1, "the watch should have been re-established after the restart");
        Assert.True(sender.Stats.Connects >= 2, "the sender should have reconnected to the restarted daemon");
    }
}
