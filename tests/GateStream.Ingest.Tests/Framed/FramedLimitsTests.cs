using GateStream.Ingest.Framed;

namespace GateStream.Ingest.Tests.Framed;

/// <summary>
/// The listener's defences against senders that hold resources without sending data (issue: 2,000 idle handshaken
/// sockets kept forever; 500 half-sent 4 MiB frames holding 530 MB), each reproduced over real loopback sockets.
/// </summary>
public class FramedLimitsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Two_thousand_idle_handshaken_connections_are_closed_after_the_idle_timeout()
    {
        var handler = new FramedIngestHandler(new RecordingSink(), new FramedIngestOptions { IdleTimeout = TimeSpan.FromSeconds(1), MaxConnections = 4096 });
        await using var transport = new TcpTransport(handler);
        var clients = new List<TestClient>();
        for (var i = 0; i < 2_000; i++)
        {
            var client = await transport.ConnectAsync();
            await client.HandshakeAsync();
            clients.Add(client);
        }

        foreach (var client in clients)
        {
            var (code, message) = await client.ReadErrorAndCloseAsync();
            Assert.Equal(FramedErrorCode.IdleTimeout, code);
            Assert.Contains("nothing received for 1 s", message, StringComparison.Ordinal);
            await client.DisposeAsync();
        }

        await Eventually.Until(() => handler.Counters.ConnectionsActive == 0, Patience);
        Assert.Equal(2_000, handler.Counters.Errors(FramedErrorCode.IdleTimeout));
    }

    [Fact]
    public async Task A_ping_keeps_a_quiet_connection_open_past_the_idle_timeout()
    {
        // Pings go every 200 ms against a 3 s idle timeout: the margin covers this test's thread being starved for a
        // while by the tests running beside it (one opens 2,000 sockets); with 1 s, a late ping was rightly timed out.
        var handler = new FramedIngestHandler(new RecordingSink(), new FramedIngestOptions { IdleTimeout = TimeSpan.FromSeconds(3) });
        await using var transport = new TcpTransport(handler);
        await using var quiet = await transport.ConnectAsync();
        await using var pinging = await transport.ConnectAsync();
        await quiet.HandshakeAsync();
        await pinging.HandshakeAsync();

        // Ping until the quiet one has been closed: the pinging one must still answer afterwards.
        var closed = quiet.ReadErrorAndCloseAsync();
        while (!closed.IsCompleted)
        {
            await pinging.SendAsync(TestClient.FrameBytes((byte)FrameType.Ping, [1]));
            Assert.Equal(FrameType.Pong, (await pinging.ReadFrameAsync())!.Value.Type);
            await Task.WhenAny(closed, Task.Delay(200));
        }

        Assert.Equal(FramedErrorCode.IdleTimeout, (await closed).Code);
        await pinging.SendAsync(TestClient.FrameBytes((byte)FrameType.Ping, [2]));
        Assert.Equal(FrameType.Pong, (await pinging.ReadFrameAsync())!.Value.Type);
    }

    [Fact]
    public async Task Beyond_the_connection_limit_of_two_thousand_sockets_the_rest_are_refused_and_a_slot_frees_on_close()
    {
        const int Limit = 1_000;
        var handler = new FramedIngestHandler(new RecordingSink(), new FramedIngestOptions { MaxConnections = Limit });
        await using var transport = new TcpTransport(handler);
        var accepted = new List<TestClient>();
        var refused = 0;
        for (var i = 0; i < 2_000; i++)
        {
            var client = await transport.ConnectAsync();
            await client.SendAsync(TestClient.Hello());
            var first = await client.ReadFrameOrHelloAsync();
            if (first is { } error)
            {
                Assert.Equal(FramedErrorCode.Overloaded, error.Code);
                Assert.Contains($"limit of {Limit} framed connections", error.Message, StringComparison.Ordinal);
                refused++;
                await client.DisposeAsync();
            }
            else
            {
                accepted.Add(client);
            }
        }

        Assert.Equal(Limit, accepted.Count);
        Assert.Equal(2_000 - Limit, refused);
        Assert.Equal(refused, handler.Counters.Errors(FramedErrorCode.Overloaded));

        // One closes: a newcomer gets its slot.
        await accepted[0].DisposeAsync();
        await Eventually.Until(() => handler.Counters.ConnectionsActive == Limit - 1, Patience);
        await using var late = await transport.ConnectAsync();
        await late.HandshakeAsync();

        foreach (var client in accepted.Skip(1))
        {
            await client.DisposeAsync();
        }
    }

    [Fact]
    public async Task Half_sent_big_frames_are_dropped_after_the_frame_timeout_and_their_memory_released()
    {
        const int Frames = 50;
        const int FrameBytes = 4 * 1024 * 1024;
        var handler = new FramedIngestHandler(new RecordingSink(), new FramedIngestOptions
        {
            FrameTimeout = TimeSpan.FromSeconds(2),
            MaxPartialFrameMemoryBytes = (long)Frames * FrameBytes,
        });
        await using var transport = new TcpTransport(handler);
        var clients = new List<TestClient>();
        var half = new byte[FramedProtocol.FrameHeaderSize + (FrameBytes / 2)];
        FramedProtocol.WriteHeader(half, FrameType.Data, FrameBytes);
        for (var i = 0; i < Frames; i++)
        {
            var client = await transport.ConnectAsync();
            await client.HandshakeAsync();
            await client.SendAsync(half);
            clients.Add(client);
        }

        // Held while they arrive: the server copies big frames out of the transport's buffer.
        await Eventually.Until(() => handler.Counters.PartialFrameBytes > 0, Patience);
        Assert.True(handler.Counters.PartialFrameBytes <= (long)Frames * FrameBytes);

        foreach (var client in clients)
        {
            var (code, _) = await client.ReadErrorAndCloseAsync();
            Assert.Equal(FramedErrorCode.FrameTimeout, code);
            await client.DisposeAsync();
        }

        await Eventually.Until(() => handler.Counters.ConnectionsActive == 0, Patience);
        Assert.Equal(0, handler.Counters.PartialFrameBytes);
        Assert.Equal(Frames, handler.Counters.Errors(FramedErrorCode.FrameTimeout));
        Assert.Equal(0, handler.Counters.DataFrames);
    }

    [Fact]
    public async Task Big_frames_past_the_partial_frame_memory_budget_are_refused_while_others_hold_it()
    {
        const int FrameBytes = 1024 * 1024;
        var handler = new FramedIngestHandler(new RecordingSink(), new FramedIngestOptions { MaxFrameBytes = FrameBytes, MaxPartialFrameMemoryBytes = 2L * FrameBytes });
        await using var transport = new TcpTransport(handler);
        var header = new byte[FramedProtocol.FrameHeaderSize + 1];
        FramedProtocol.WriteHeader(header, FrameType.Data, FrameBytes);
        await using var first = await transport.ConnectAsync();
        await using var second = await transport.ConnectAsync();
        await using var third = await transport.ConnectAsync();
        foreach (var client in new[] { first, second })
        {
            await client.HandshakeAsync();
            await client.SendAsync(header);
        }

        await Eventually.Until(() => handler.Counters.PartialFrameBytes == 2L * FrameBytes, Patience);
        await third.HandshakeAsync();
        await third.SendAsync(header);

        var (code, message) = await third.ReadErrorAndCloseAsync();
        Assert.Equal(FramedErrorCode.Overloaded, code);
        Assert.Contains("partly received frames", message, StringComparison.Ordinal);
        Assert.Equal(2L * FrameBytes, handler.Counters.PartialFrameBytes);
    }
}
