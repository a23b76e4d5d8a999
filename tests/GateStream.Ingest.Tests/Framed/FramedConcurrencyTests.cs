using GateStream.Core.Ingest;
using GateStream.Ingest;
using GateStream.Ingest.Framed;
using GateStream.Ingest.Tests.Native;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Ingest.Tests.Framed;

/// <summary>Many connections at once, and the real engine write path behind the protocol.</summary>
public class FramedConcurrencyTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Fifty_concurrent_connections_one_sending_garbage_the_others_unaffected()
    {
        var sink = new RecordingSink();
        var observer = new RecordingObserver();
        var handler = new FramedIngestHandler(sink, new FramedIngestOptions { CloseLinger = TimeSpan.FromMilliseconds(100) }, observer);
        await using var server = new TcpTransport(handler);
        const int Connections = 50;
        const int Frames = 20;
        using var start = new SemaphoreSlim(0);

        async Task<int> RunAsync(int connection)
        {
            await using var client = await server.ConnectAsync();
            await client.HandshakeAsync();
            await start.WaitAsync();
            if (connection == 13)
            {
                await client.SendAsync(TestClient.Data(1, NativeTestData.Push([NativeTestData.Events("checkout", "v1", 5, 1)])));
                await client.SendAsync("this is not a frame at all"u8.ToArray());
                Assert.Equal(5u, (await client.ReadAckAsync()).AcceptedEvents);
                Assert.Equal(FramedErrorCode.UnknownFrameType, (await client.ReadErrorAndCloseAsync()).Code);
                return 5;
            }

            var acked = 0;
            for (var f = 0; f < Frames; f++)
            {
                // Interleave sends and ACK reads: two frames in flight.
                await client.SendAsync(TestClient.Data((ulong)f, NativeTestData.Push([NativeTestData.Events($"svc{connection % 5}", "v1", 10 + f, connection * 1000 + f)])));
                if (f > 0)
                {
                    var ack = await client.ReadAckAsync();
                    Assert.Equal((ulong)(f - 1), ack.Sequence);
                    acked += (int)ack.AcceptedEvents;
                }
            }

            acked += (int)(await client.ReadAckAsync()).AcceptedEvents;
            return acked;
        }

        var clients = Enumerable.Range(0, Connections).Select(i => Task.Run(() => RunAsync(i))).ToArray();
        start.Release(Connections);
        var acknowledged = await Task.WhenAll(clients).WaitAsync(Timeout);

        var perConnection = Enumerable.Range(0, Frames).Sum(f => 10 + f);
        Assert.All(acknowledged.Where((_, i) => i != 13), a => Assert.Equal(perConnection, a));
        Assert.Equal(((Connections - 1) * perConnection) + 5, sink.Events);
        Assert.Equal(acknowledged.Sum(), sink.Events);
        await server.SessionsEndedAsync().WaitAsync(Timeout);
        Assert.Equal(1, handler.Counters.TotalErrors);
        Assert.Equal(Connections, handler.Counters.ConnectionsOpened);
        Assert.Equal(0, handler.Counters.ConnectionsActive);
        Assert.Single(observer.Errors);
        Assert.Empty(observer.Faults);
    }

    [Fact]
    public async Task Through_the_sharded_engine_what_is_acknowledged_is_what_the_shards_accept()
    {
        var clock = TimeProvider.System;
        await using var ingest = new ShardedIngest(new IngestOptions { ShardCount = 2, ShardQueueCapacity = 4 }, clock);
        var handler = new FramedIngestHandler(new ShardedIngestSink(ingest));
        await using var server = new TcpTransport(handler);
        await using var client = await server.ConnectAsync();
        await client.HandshakeAsync();
        var now = clock.GetUtcNow().ToUnixTimeMilliseconds() * 1_000;
        long acknowledged = 0;

        for (var f = 0; f < 50; f++)
        {
            var request = new V1.PushRequest();
            for (var b = 0; b < 4; b++)
            {
                var batch = new V1.EventBatch { Deployment = $"svc{b}", Version = "v1", BaseTimeUnixMicros = now - 1_000_000 };
                for (var i = 0; i < 100; i++)
                {
                    batch.TimeDeltasMicros.Add(100);
                    batch.LatencyMicros.Add(2_000);
                }

                request.Events.Add(batch);
            }

            await client.SendAsync(TestClient.Data((ulong)f, request));
        }

        for (var f = 0; f < 50; f++)
        {
            acknowledged += (await client.ReadAckAsync()).AcceptedEvents;
        }

        await ingest.FlushAsync();
        Assert.Equal(20_000, acknowledged);
        Assert.Equal(acknowledged, ingest.Count(IngestCounter.EventsAccepted));
        Assert.Equal(200, ingest.Count(IngestCounter.BatchesApplied));
    }
}
