using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using GateStream.Ingest.Framed;
using GateStream.Ingest.Tests.Native;
using Google.Protobuf;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Ingest.Tests.Framed;

/// <summary>The framed protocol end to end, over an in-memory pipe pair and over real loopback TCP sockets.</summary>
public class FramedIngestHandlerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static FramedIngestHandler NewHandler(RecordingSink sink, RecordingObserver? observer = null, int maxFrame = 64 * 1024) =>
        new(sink, new FramedIngestOptions { MaxFrameBytes = maxFrame, CloseLinger = TimeSpan.FromMilliseconds(200) }, observer);

    private static V1.PushRequest Request(int seed, int batches = 2, int events = 50) =>
        NativeTestData.Push([.. Enumerable.Range(0, batches).Select(i => NativeTestData.Events("checkout", $"v{i}", events, seed * 100 + i))]);

    [Theory]
    [InlineData("memory")]
    [InlineData("tcp")]
    public async Task The_handshake_announces_the_version_and_the_maximum_frame_size(string transport)
    {
        var handler = NewHandler(new RecordingSink(), maxFrame: 123_456);
        await using var server = Transports.Create(transport, handler);
        await using var client = await server.ConnectAsync();

        var (version, maxFrame) = await client.HandshakeAsync();

        Assert.Equal((1, 123_456u), (version, maxFrame));
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("tcp")]
    public async Task Data_frames_are_applied_then_acknowledged_with_their_sequence_and_counts(string transport)
    {
        var sink = new RecordingSink();
        var handler = NewHandler(sink);
        await using var server = Transports.Create(transport, handler);
        await using var client = await server.ConnectAsync();
        await client.HandshakeAsync();

        var request = NativeTestData.Push(
            [NativeTestData.Events("checkout", "v1", 40, 1), NativeTestData.Events("checkout", "v2", 10, 2, errors: true)],
            [NativeTestData.Metrics("db", "v1", 3)]);
        await client.SendAsync(TestClient.Data(0xDEAD_BEEF_0000_0001, request));
        var ack = await client.ReadAckAsync();

        Assert.Equal(new Ack(0xDEAD_BEEF_0000_0001, 50, 0, 3, 0, ""), ack);
        Assert.Equal([("checkout", "v1", 40, 0), ("checkout", "v2", 10, 0), ("db", "v1", 0, 3)], sink.Posted);
        Assert.Equal((1L, 1L, 50L, 3L), (handler.Counters.DataFrames, handler.Counters.Acks, handler.Counters.AcceptedEvents, handler.Counters.AcceptedSamples));
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("tcp")]
    public async Task Frames_split_into_single_bytes_are_reassembled(string transport)
    {
        var sink = new RecordingSink();
        var handler = NewHandler(sink);
        await using var server = Transports.Create(transport, handler);
        await using var client = await server.ConnectAsync();
        var bytes = TestClient.Hello().Concat(TestClient.Data(1, Request(1))).Concat(TestClient.Data(2, Request(2, batches: 1, events: 3))).ToArray();

        foreach (var b in bytes)
        {
            await client.SendAsync(new[] { b });
        }

        var hello = await client.Pipe.Input.ReadAtLeastAsync(12);
        client.Pipe.Input.AdvanceTo(hello.Buffer.GetPosition(12));
        Assert.Equal(new Ack(1, 100, 0, 0, 0, ""), await client.ReadAckAsync());
        Assert.Equal(new Ack(2, 3, 0, 0, 0, ""), await client.ReadAckAsync());
        Assert.Equal(103, sink.Events);
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("tcp")]
    public async Task Many_frames_in_one_write_are_all_acknowledged_in_order(string transport)
    {
        var sink = new RecordingSink();
        var handler = NewHandler(sink);
        await using var server = Transports.Create(transport, handler);
        await using var client = await server.ConnectAsync();
        await client.HandshakeAsync();

        var frames = Enumerable.Range(0, 200).SelectMany(i => TestClient.Data((ulong)i, Request(i, batches: 1, events: 1 + (i % 7)))).ToArray();
        await client.SendAsync(frames);

        for (var i = 0; i < 200; i++)
        {
            var ack = await client.ReadAckAsync();
            Assert.Equal(((ulong)i, (uint)(1 + (i % 7))), (ack.Sequence, ack.AcceptedEvents));
        }

        Assert.Equal(Enumerable.Range(0, 200).Sum(i => 1 + (i % 7)), sink.Events);
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("tcp")]
    public async Task A_partly_invalid_request_is_acknowledged_with_rejections_and_the_connection_stays_up(string transport)
    {
        var sink = new RecordingSink();
        var handler = NewHandler(sink);
        await using var server = Transports.Create(transport, handler);
        await using var client = await server.ConnectAsync();
        await client.HandshakeAsync();

        var bad = NativeTestData.Events("checkout", "v2", 10, 2);
        bad.LatencyMicros.RemoveAt(0);
        var metrics = NativeTestData.Metrics("db", "v1", 4);
        metrics.Samples[0].Value = double.NaN;
        await client.SendAsync(TestClient.Data(7, NativeTestData.Push([NativeTestData.Events("checkout", "v1", 5, 1), bad], [metrics])));
        Assert.Equal(new Ack(7, 5, 10, 3, 1, "events[1] (checkout@v2): latency_micros has 9 values for 10 events"), await client.ReadAckAsync());

        await client.SendAsync(TestClient.Data(8, Request(8, batches: 1, events: 2)));
        Assert.Equal(new Ack(8, 2, 0, 0, 0, ""), await client.ReadAckAsync());
        Assert.Equal(7, sink.Events);
        Assert.Equal(2, handler.Counters.RejectedBatches); // the events batch, and the metric batch with a bad sample
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("tcp")]
    public async Task An_oversized_frame_gets_an_error_and_the_connection_is_closed(string transport)
    {
        var sink = new RecordingSink();
        var observer = new RecordingObserver();
        var handler = NewHandler(sink, observer, maxFrame: 4096);
        await using var server = Transports.Create(transport, handler);
        await using var client = await server.ConnectAsync();
        await client.HandshakeAsync();

        await client.SendAsync(TestClient.Data(1, Request(1, batches: 1, events: 2)));
        var header = new byte[5];
        header[0] = (byte)FrameType.Data;
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(1), 4097);
        await client.SendAsync(header);
        await client.SendAsync(new byte[3000]);

        Assert.Equal(1ul, (await client.ReadAckAsync()).Sequence);
        var (code, message) = await client.ReadErrorAndCloseAsync();
        Assert.Equal(FramedErrorCode.FrameTooLarge, code);
        Assert.Equal("Data frame of 4097 bytes is over the 4096-byte maximum announced in the handshake; split batches across more frames", message);
        await server.SessionsEndedAsync().WaitAsync(Timeout);
        Assert.Equal(1, handler.Counters.Errors(FramedErrorCode.FrameTooLarge));
        Assert.Equal(FramedCloseReason.ProtocolError, Assert.Single(observer.Closed).Reason);
        Assert.Equal(2, sink.Events);
    }

    [Theory]
    [InlineData("memory", new byte[] { 9, 0, 0, 0, 0 }, FramedErrorCode.UnknownFrameType, "unknown frame type 9; version 1 clients send DATA (1) and PING (4)")]
    [InlineData("tcp", new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x00 }, FramedErrorCode.UnknownFrameType, "unknown frame type 255; version 1 clients send DATA (1) and PING (4)")]
    [InlineData("memory", new byte[] { 2, 24, 0, 0, 0 }, FramedErrorCode.UnknownFrameType, "frame type 2 (Ack) is sent by the server only")]
    [InlineData("memory", new byte[] { 1, 4, 0, 0, 0, 1, 2, 3, 4 }, FramedErrorCode.MalformedFrame, "DATA frame of 4 bytes: it needs at least the 8-byte sequence")]
    [InlineData("tcp", new byte[] { 4, 9, 0, 0, 0 }, FramedErrorCode.MalformedFrame, "PING frame of 9 bytes: at most 8 are allowed")]
    [InlineData("memory", new byte[] { 1, 10, 0, 0, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0x0A, 0x05 },
        FramedErrorCode.MalformedPayload, "DATA frame 5: the PushRequest is not decodable, nothing of it was applied: malformed at byte 1 (events[0]): length 5 runs past the end of the message (0 bytes left)")]
    public async Task Garbage_after_the_handshake_gets_an_error_and_the_connection_is_closed(string transport, byte[] garbage, FramedErrorCode expected, string message)
    {
        var sink = new RecordingSink();
        var handler = NewHandler(sink);
        await using var server = Transports.Create(transport, handler);
        await using var client = await server.ConnectAsync();
        await client.HandshakeAsync();

        await client.SendAsync(garbage);

        Assert.Equal((expected, message), await client.ReadErrorAndCloseAsync());
        Assert.Equal(1, handler.Counters.Errors(expected));
        Assert.Equal(0, sink.Events);
    }

    [Theory]
    [InlineData("memory", "GET / HTTP/1.1\r\n\r\n", FramedErrorCode.BadMagic)]
    [InlineData("tcp", "GSF2\u0001\u0000\u0000\u0000", FramedErrorCode.BadMagic)]
    [InlineData("memory", "GSF1\u0002\u0000\u0000\u0000", FramedErrorCode.UnsupportedVersion)]
    [InlineData("tcp", "GSF1\u0001\u0000\u0002\u0000", FramedErrorCode.UnsupportedFlags)]
    public async Task A_bad_handshake_gets_an_error_and_the_connection_is_closed(string transport, string hello, FramedErrorCode expected)
    {
        var handler = NewHandler(new RecordingSink());
        await using var server = Transports.Create(transport, handler);
        await using var client = await server.ConnectAsync();

        await client.SendAsync(System.Text.Encoding.ASCII.GetBytes(hello));

        var (code, message) = await client.ReadErrorAndCloseAsync();
        Assert.Equal(expected, code);
        Assert.NotEmpty(message);
    }

    [Fact]
    public async Task A_bad_magic_is_refused_as_soon_as_its_first_byte_arrives()
    {
        var handler = NewHandler(new RecordingSink());
        await using var server = Transports.Create("memory", handler);
        await using var client = await server.ConnectAsync();

        await client.SendAsync("G\0"u8.ToArray());

        Assert.Equal(FramedErrorCode.BadMagic, (await client.ReadErrorAndCloseAsync()).Code);
    }

    [Fact]
    public async Task A_client_that_never_says_hello_is_timed_out()
    {
        var handler = new FramedIngestHandler(new RecordingSink(), new FramedIngestOptions { HandshakeTimeout = TimeSpan.FromMilliseconds(200), CloseLinger = TimeSpan.Zero });
        await using var server = Transports.Create("tcp", handler);
        await using var client = await server.ConnectAsync();
        await client.SendAsync("GSF"u8.ToArray());

        Assert.Equal(FramedErrorCode.HandshakeTimeout, (await client.ReadErrorAndCloseAsync()).Code);
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("tcp")]
    public async Task A_ping_is_answered_with_its_payload(string transport)
    {
        var handler = NewHandler(new RecordingSink());
        await using var server = Transports.Create(transport, handler);
        await using var client = await server.ConnectAsync();
        await client.HandshakeAsync();

        await client.SendAsync(TestClient.FrameBytes((byte)FrameType.Ping, [1, 2, 3, 4, 5, 6, 7, 8]));
        await client.SendAsync(TestClient.FrameBytes((byte)FrameType.Ping, []));

        var echo = await client.ReadFrameAsync();
        Assert.Equal(FrameType.Pong, echo!.Value.Type);
        Assert.Equal(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }, echo.Value.Payload);
        var empty = await client.ReadFrameAsync();
        Assert.Equal((FrameType.Pong, 0), (empty!.Value.Type, empty.Value.Payload.Length));
        Assert.Equal(2, handler.Counters.Pings);
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("tcp")]
    public async Task A_frame_far_larger_than_the_pipe_buffer_is_assembled_without_stalling(string transport)
    {
        var sink = new RecordingSink();
        var handler = NewHandler(sink, maxFrame: 4 * 1024 * 1024);
        await using var server = Transports.Create(transport, handler);
        await using var client = await server.ConnectAsync();
        await client.HandshakeAsync();

        // About 1.3 MB in one frame: twenty times a default pipe's pause threshold.
        var request = NativeTestData.Push([.. Enumerable.Range(0, 40).Select(i => NativeTestData.Events("checkout", $"v{i % 2}", 5_000, i))]);
        var frame = TestClient.Data(99, request);
        Assert.True(frame.Length > 1_000_000);
        for (var offset = 0; offset < frame.Length; offset += 50_000)
        {
            await client.SendAsync(frame.AsMemory(offset, Math.Min(50_000, frame.Length - offset)));
        }

        Assert.Equal(new Ack(99, 200_000, 0, 0, 0, ""), await client.ReadAckAsync());
        Assert.Equal(200_000, sink.Events);
    }

    [Fact]
    public async Task A_slow_sender_trickling_a_frame_gets_it_applied_once_whole()
    {
        var sink = new RecordingSink();
        var handler = NewHandler(sink);
        await using var server = Transports.Create("tcp", handler);
        await using var client = await server.ConnectAsync();
        await client.HandshakeAsync();
        var frame = TestClient.Data(3, Request(3, batches: 3, events: 100));

        var chunk = frame.Length / 10 + 1;
        for (var offset = 0; offset < frame.Length; offset += chunk)
        {
            await client.SendAsync(frame.AsMemory(offset, Math.Min(chunk, frame.Length - offset)));
            await Task.Delay(20);
            if (offset + chunk < frame.Length)
            {
                Assert.Equal(0, sink.Events);
            }
        }

        Assert.Equal(new Ack(3, 300, 0, 0, 0, ""), await client.ReadAckAsync());
    }

    [Fact]
    public async Task The_ack_waits_for_the_engine_to_take_every_batch_of_the_frame()
    {
        var sink = new RecordingSink { Gate = new SemaphoreSlim(0) };
        var handler = NewHandler(sink);
        await using var server = Transports.Create("memory", handler);
        await using var client = await server.ConnectAsync();
        await client.HandshakeAsync();

        await client.SendAsync(TestClient.Data(1, Request(1, batches: 3, events: 10)));
        var ack = client.ReadAckAsync();
        await Task.Delay(200);
        Assert.False(ack.IsCompleted);
        sink.Gate.Release(2);
        while (sink.Events < 20)
        {
            await Task.Delay(10);
        }

        await Task.Delay(100);
        Assert.False(ack.IsCompleted);
        Assert.Equal(20, sink.Events);

        sink.Gate.Release(1);
        Assert.Equal(new Ack(1, 30, 0, 0, 0, ""), await ack.WaitAsync(Timeout));
        Assert.Equal(30, sink.Events);
    }

    [Fact]
    public async Task A_blocked_engine_stops_the_connection_reading_so_the_sender_is_held_back()
    {
        var sink = new RecordingSink { Gate = new SemaphoreSlim(0) };
        var handler = NewHandler(sink);
        // A small pause threshold, as a socket transport has: once it is reached the sender's flush waits.
        var options = new PipeOptions(pauseWriterThreshold: 16 * 1024, resumeWriterThreshold: 8 * 1024, useSynchronizationContext: false);
        await using var server = new InMemoryTransport(handler, options);
        await using var client = await server.ConnectAsync();
        await client.HandshakeAsync();

        var frame = TestClient.Data(1, Request(1, batches: 1, events: 500));
        var sent = 0;
        var blocked = false;
        for (var i = 0; i < 1_000 && !blocked; i++)
        {
            var flush = client.Pipe.Output.WriteAsync(frame).AsTask();
            if (await Task.WhenAny(flush, Task.Delay(200)) != flush)
            {
                blocked = true;
            }
            else
            {
                sent++;
            }
        }

        Assert.True(blocked, "the sender was never held back");
        Assert.InRange(sent, 1, 20);
        sink.Gate.Release(100_000);
        for (var i = 0; i <= sent; i++)
        {
            Assert.Equal(500u, (await client.ReadAckAsync()).AcceptedEvents);
        }
    }

    [Theory]
    [InlineData("memory")]
    [InlineData("tcp")]
    public async Task A_connection_closed_mid_frame_applies_nothing_of_that_frame(string transport)
    {
        var sink = new RecordingSink();
        var observer = new RecordingObserver();
        var handler = NewHandler(sink, observer);
        await using var server = Transports.Create(transport, handler);
        var client = await server.ConnectAsync();
        await client.HandshakeAsync();
        var frame = TestClient.Data(1, Request(1));

        await client.SendAsync(frame.AsMemory(0, frame.Length - 1));
        await client.Pipe.Output.CompleteAsync();
        await server.SessionsEndedAsync().WaitAsync(Timeout);
        await client.DisposeAsync();

        Assert.Equal(0, sink.Events);
        Assert.Equal(1, handler.Counters.Errors(FramedErrorCode.MalformedFrame));
        Assert.Equal(0, handler.Counters.ConnectionsActive);
    }

    [Fact]
    public async Task A_clean_close_between_frames_is_not_an_error()
    {
        var observer = new RecordingObserver();
        var handler = NewHandler(new RecordingSink(), observer);
        await using var server = Transports.Create("tcp", handler);
        var client = await server.ConnectAsync();
        await client.HandshakeAsync();
        await client.SendAsync(TestClient.Data(1, Request(1)));
        await client.ReadAckAsync();

        await client.Pipe.Output.CompleteAsync();
        await server.SessionsEndedAsync().WaitAsync(Timeout);
        await client.DisposeAsync();

        Assert.Equal(FramedCloseReason.ClientClosed, Assert.Single(observer.Closed).Reason);
        Assert.Equal(0, handler.Counters.TotalErrors);
        Assert.Equal((1L, 1L), (handler.Counters.ConnectionsOpened, handler.Counters.ConnectionsClosed));
        Assert.Empty(observer.Faults);
    }

    [Fact]
    public async Task Shutdown_while_the_engine_is_full_abandons_the_frame_and_says_so()
    {
        var sink = new RecordingSink { Gate = new SemaphoreSlim(0) };
        using var shutdown = new CancellationTokenSource();
        var handler = NewHandler(sink);
        await using var server = new InMemoryTransport(handler, shutdown: shutdown.Token);
        await using var client = await server.ConnectAsync();
        await client.HandshakeAsync();
        await client.SendAsync(TestClient.Data(1, Request(1)));
        await Task.Delay(100);

        await shutdown.CancelAsync();

        Assert.Equal(FramedErrorCode.ShuttingDown, (await client.ReadErrorAndCloseAsync()).Code);
        await server.SessionsEndedAsync().WaitAsync(Timeout);
        Assert.Equal(0, handler.Counters.Acks);
    }

    [Fact]
    public async Task Acknowledgements_match_exactly_what_the_engine_was_given()
    {
        var sink = new RecordingSink();
        var handler = NewHandler(sink);
        await using var server = Transports.Create("tcp", handler);
        await using var client = await server.ConnectAsync();
        await client.HandshakeAsync();
        var random = new Random(77);
        long expectedEvents = 0, expectedSamples = 0, ackedEvents = 0, ackedSamples = 0, ackedRejected = 0, expectedRejected = 0;

        for (var f = 0; f < 100; f++)
        {
            var request = new V1.PushRequest();
            for (var b = random.Next(0, 5); b > 0; b--)
            {
                var batch = NativeTestData.Events($"d{random.Next(3)}", $"v{random.Next(3)}", random.Next(0, 40), random.Next(), errors: random.Next(2) == 0);
                if (random.Next(5) == 0 && batch.LatencyMicros.Count > 0)
                {
                    batch.LatencyMicros.RemoveAt(0);
                    expectedRejected += batch.TimeDeltasMicros.Count;
                }
                else
                {
                    expectedEvents += batch.TimeDeltasMicros.Count;
                }

                request.Events.Add(batch);
            }

            if (random.Next(3) == 0)
            {
                var metrics = NativeTestData.Metrics("db", "v1", random.Next(1, 5));
                expectedSamples += metrics.Samples.Count;
                request.Metrics.Add(metrics);
            }

            await client.SendAsync(TestClient.Data((ulong)f, request));
        }

        for (var f = 0; f < 100; f++)
        {
            var ack = await client.ReadAckAsync();
            Assert.Equal((ulong)f, ack.Sequence);
            ackedEvents += ack.AcceptedEvents;
            ackedRejected += ack.RejectedEvents;
            ackedSamples += ack.AcceptedSamples;
        }

        Assert.Equal((expectedEvents, expectedRejected, expectedSamples), (ackedEvents, ackedRejected, ackedSamples));
        Assert.Equal((expectedEvents, expectedSamples), (sink.Events, sink.Samples));
        Assert.Equal((expectedEvents, expectedSamples), (handler.Counters.AcceptedEvents, handler.Counters.AcceptedSamples));
    }

    [Fact]
    public async Task Bytes_frames_and_connections_are_counted()
    {
        var handler = NewHandler(new RecordingSink());
        await using var server = Transports.Create("memory", handler);
        var client = await server.ConnectAsync();
        await client.HandshakeAsync();
        var data = TestClient.Data(1, Request(1));
        await client.SendAsync(data);
        await client.ReadAckAsync();
        Assert.Equal((1L, 1L, 8L + data.Length), (handler.Counters.ConnectionsActive, handler.Counters.DataFrames, handler.Counters.BytesReceived));

        await client.DisposeAsync();
        await server.SessionsEndedAsync().WaitAsync(Timeout);
        Assert.Equal(0, handler.Counters.ConnectionsActive);
    }

    [Fact]
    public void Options_are_validated_with_the_name_of_what_is_wrong()
    {
        var error = Assert.Throws<ArgumentException>(() => new FramedIngestHandler(new RecordingSink(), new FramedIngestOptions { MaxFrameBytes = 10 }));
        Assert.Contains("MaxFrameBytes must be between 1024", error.Message, StringComparison.Ordinal);
    }
}

/// <summary>The byte-by-byte example of docs/framed-protocol.md, checked against the generated code and the server.</summary>
public class FramedProtocolDocumentationTests
{
    private static byte[] Hex(string hex) => Convert.FromHexString(string.Concat(hex.Where(char.IsAsciiHexDigit)));

    [Fact]
    public async Task The_documented_example_is_what_the_generated_code_and_the_server_produce()
    {
        var request = new V1.PushRequest
        {
            Events =
            {
                new V1.EventBatch
                {
                    Deployment = "checkout", Version = "v2", BaseTimeUnixMicros = 1_714_564_800_000_000,
                    TimeDeltasMicros = { 0 }, LatencyMicros = { 2_000 }, StatusCodes = { 200 },
                },
            },
        };
        var data = Hex("""
            01 2C 00 00 00
            01 00 00 00 00 00 00 00
            0A 22
               0A 08 63 68 65 63 6B 6F 75 74
               12 02 76 32
               18 80 E0 E4 CE B3 EC 85 03
               22 01 00
               2A 02 D0 0F
               32 02 C8 01
            """);
        Assert.Equal(data, TestClient.Data(1, request));

        var handler = new FramedIngestHandler(new RecordingSink(), new FramedIngestOptions());
        await using var server = Transports.Create("memory", handler);
        await using var client = await server.ConnectAsync();
        await client.SendAsync(Hex("47 53 46 31 01 00 00 00"));
        var hello = await client.Pipe.Input.ReadAtLeastAsync(12);
        Assert.Equal(Hex("47 53 46 31 01 00 00 00 00 00 40 00"), hello.Buffer.Slice(0, 12).ToArray());
        client.Pipe.Input.AdvanceTo(hello.Buffer.GetPosition(12));

        await client.SendAsync(data);
        var ack = await client.ReadFrameAsync();
        Assert.Equal(FrameType.Ack, ack!.Value.Type);
        Assert.Equal(Hex("01 00 00 00 00 00 00 00  01 00 00 00  00 00 00 00  00 00 00 00  00 00 00 00"), ack.Value.Payload);
    }
}
