using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace GateStream.Client.Tests;

/// <summary>The event sender against the real framed protocol server (loopback TCP and Unix socket) and a fake gRPC IngestService.</summary>
public class EventSenderTests
{
    private static readonly DateTimeOffset T0 = new(2025, 5, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static EventSenderOptions Options(string endpoint, int batch = 100, double flushSeconds = 3600, int buffered = 100_000) => new()
    {
        Endpoint = endpoint,
        MaxBatchEvents = batch,
        FlushInterval = TimeSpan.FromSeconds(flushSeconds),
        MaxBufferedEvents = buffered,
        ReconnectDelay = TimeSpan.FromMilliseconds(20),
        MaxReconnectDelay = TimeSpan.FromMilliseconds(200),
        DisposeTimeout = TimeSpan.FromMilliseconds(500),
    };

    private static long Micros(DateTimeOffset t) => (t - DateTimeOffset.UnixEpoch).Ticks / 10;

    [Fact]
    public async Task A_full_batch_is_sent_at_once_and_the_rest_waits_for_a_flush()
    {
        await using var server = FramedServer.StartTcp();
        await using var sender = new EventSender(Options(server.Endpoint, batch: 100));

        for (var i = 0; i < 250; i++)
        {
            sender.Record("checkout", "v1", T0.AddMilliseconds(i), TimeSpan.FromMilliseconds(2), 200);
        }

        await server.Sink.WaitForEventsAsync(200);
        await Task.Delay(200);
        Assert.Equal(200, server.Sink.Events);
        Assert.All(server.Sink.Batches, b => Assert.Equal(100, b.Times.Length));

        await sender.FlushAsync().WaitAsync(Timeout);
        Assert.Equal(250, server.Sink.Events);
        Assert.Equal(new EventSenderStats(250, 250, 0, 0, 0, 0, 1), sender.Stats);
    }

    [Fact]
    public async Task Events_are_sent_within_the_flush_interval_without_a_flush()
    {
        await using var server = FramedServer.StartTcp();
        await using var sender = new EventSender(Options(server.Endpoint, batch: 1000, flushSeconds: 0.1));

        for (var i = 0; i < 10; i++)
        {
            sender.Record("checkout", "v1", T0.AddMilliseconds(i), TimeSpan.FromMilliseconds(2), isError: false);
        }

        await server.Sink.WaitForEventsAsync(10, TimeSpan.FromSeconds(5));
        Assert.Single(server.Sink.Batches);
    }

    [Fact]
    public async Task The_server_gets_exactly_the_recorded_columns_per_series()
    {
        await using var server = FramedServer.StartTcp();
        await using var sender = new EventSender(Options(server.Endpoint, batch: 1000));
        var expected = new Dictionary<string, List<(long Time, long Latency, bool Error)>>();
        var random = new Random(5);
        for (var i = 0; i < 600; i++)
        {
            var version = $"v{i % 3}";
            // Out of order times, every kind of outcome, latencies across the range.
            var time = T0.AddMilliseconds(i * 3 - random.Next(0, 50));
            var latency = TimeSpan.FromTicks(random.Next(0, 50_000_000));
            bool error;
            switch (i % 4)
            {
                case 0:
                    sender.Record("checkout", version, time, latency, 200);
                    error = false;
                    break;
                case 1:
                    sender.Record("checkout", version, time, latency, 503);
                    error = true;
                    break;
                case 2:
                    sender.Record("checkout", version, time, latency, isError: true);
                    error = true;
                    break;
                default:
                    sender.Record("checkout", version, Micros(time), (uint)(latency.Ticks / 10), 404, isError: true);
                    error = true;
                    break;
            }

            (expected.TryGetValue(version, out var list) ? list : expected[version] = []).Add((Micros(time), latency.Ticks / 10, error));
        }

        await sender.FlushAsync().WaitAsync(Timeout);

        foreach (var (version, events) in expected)
        {
            var batch = Assert.Single(server.Sink.Batches, b => b.Version == version);
            Assert.Equal("checkout", batch.Deployment);
            Assert.Equal(events.Select(e => e.Time), batch.Times);
            Assert.Equal(events.Select(e => e.Latency), batch.Latencies);
            Assert.Equal(events.Select(e => e.Error), batch.Errors);
        }
    }

    [Fact]
    public async Task While_the_server_is_down_the_buffer_is_bounded_and_the_oldest_events_are_dropped()
    {
        using var reserved = FreePort.Reserve(); // nothing listens until the server starts on it below
        var port = reserved.Port;
        await using var sender = new EventSender(Options($"127.0.0.1:{port}", batch: 100, buffered: 1_000));

        for (var i = 0; i < 5_000; i++)
        {
            sender.Record("checkout", "v1", T0.AddMilliseconds(i), TimeSpan.FromMilliseconds(1), 200);
        }

        Assert.Equal(4_000, sender.Dropped);
        Assert.Equal(1_000, sender.Stats.Buffered);
        await Eventually.Until(() => sender.LastError is not null, Timeout);
        Assert.False(sender.IsConnected);

        await using var server = FramedServer.StartTcp(port);
        await sender.FlushAsync().WaitAsync(Timeout);

        // What survived is the newest thousand, in order.
        var times = server.Sink.Batches.SelectMany(b => b.Times).ToArray();
        Assert.Equal(Enumerable.Range(4_000, 1_000).Select(i => Micros(T0.AddMilliseconds(i))), times);
        Assert.Equal(new EventSenderStats(5_000, 1_000, 0, 4_000, 0, 0, 1), sender.Stats);
    }

    [Fact]
    public async Task After_the_server_restarts_the_sender_reconnects_and_delivers_what_it_held()
    {
        var server = FramedServer.StartTcp();
        var port = int.Parse(server.Endpoint.Split(':')[1], System.Globalization.CultureInfo.InvariantCulture);
        await using var sender = new EventSender(Options(server.Endpoint, batch: 50));
        for (var i = 0; i < 100; i++)
        {
            sender.Record("checkout", "v1", T0.AddMilliseconds(i), TimeSpan.FromMilliseconds(1), 200);
        }

        await sender.FlushAsync().WaitAsync(Timeout);
        Assert.Equal(100, server.Sink.Events);
        await server.DisposeAsync();

        for (var i = 100; i < 300; i++)
        {
            sender.Record("checkout", "v1", T0.AddMilliseconds(i), TimeSpan.FromMilliseconds(1), 200);
        }

        await Eventually.Until(() => !sender.IsConnected, Timeout);
        await using var restarted = FramedServer.StartTcp(port);
        await sender.FlushAsync().WaitAsync(Timeout);

        Assert.Equal(200, restarted.Sink.Events);
        Assert.Equal(Enumerable.Range(100, 200).Select(i => Micros(T0.AddMilliseconds(i))), restarted.Sink.Batches.SelectMany(b => b.Times));
        Assert.True(sender.IsConnected);
        Assert.Equal((300L, 0L, 2L), (sender.Stats.Acknowledged, sender.Dropped, sender.Stats.Connects));
    }

    [Fact]
    public async Task At_most_the_configured_number_of_frames_are_in_flight_and_a_flush_waits_for_the_acks()
    {
        var sink = new ColumnSink { Gate = new SemaphoreSlim(0) };
        await using var server = FramedServer.StartTcp(sink: sink);
        var options = Options(server.Endpoint, batch: 100);
        options.MaxFramesInFlight = 2;
        options.MaxFrameBytes = 1024; // one 100-event batch (about 600 bytes) per frame
        await using var sender = new EventSender(options);

        for (var i = 0; i < 1_000; i++)
        {
            sender.Record($"svc{i % 10}", "v1", T0.AddMilliseconds(i), TimeSpan.FromMilliseconds(1), 200);
        }

        var flush = sender.FlushAsync();
        await Eventually.Until(() => sender.Stats.FramesInFlight == 2, Timeout);
        await Task.Delay(300);
        Assert.False(flush.IsCompleted);
        Assert.Equal(2, sender.Stats.FramesInFlight);

        sink.Gate.Release(1_000);
        await flush.WaitAsync(Timeout);
        Assert.Equal(1_000, sink.Events);
        Assert.Equal(10, sink.Batches.Count);
        Assert.Equal(0, sender.Stats.FramesInFlight);
    }

    [Fact]
    public async Task A_unix_socket_endpoint_works()
    {
        var path = Path.Combine(Path.GetTempPath(), $"gs-client-{Guid.NewGuid():N}.sock");
        try
        {
            await using var server = FramedServer.StartUnix(path);
            await using var sender = new EventSender(Options($"unix:{path}"));
            sender.Record("checkout", "v1", T0, TimeSpan.FromMilliseconds(1), 500);

            await sender.FlushAsync().WaitAsync(Timeout);

            var batch = Assert.Single(server.Sink.Batches);
            Assert.Equal([true], batch.Errors);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Over_grpc_each_round_is_acknowledged_by_its_push_response()
    {
        var ingest = new CountingIngest();
        await using var host = await GrpcTestHost.StartAsync(s => s.AddSingleton(ingest), app => app.MapGrpcService<CountingIngestService>());
        await using var sender = new EventSender(Options(host.Url, batch: 100));

        for (var i = 0; i < 1_050; i++)
        {
            sender.Record($"svc{i % 2}", "v1", T0.AddMilliseconds(i), TimeSpan.FromMilliseconds(1), 200);
        }

        await sender.FlushAsync().WaitAsync(Timeout);

        Assert.Equal(1_050, ingest.Events);
        Assert.Equal(1_050, sender.Stats.Acknowledged);
        Assert.True(sender.IsConnected);
        var batch = ingest.Batches.First();
        Assert.Equal(0, batch.TimeDeltasMicros[0]);
        Assert.Equal(Micros(T0), batch.BaseTimeUnixMicros);
        Assert.Empty(batch.Errors); // status codes already say which failed
    }

    [Fact]
    public async Task Disposing_while_the_server_is_down_counts_what_was_not_delivered_as_dropped()
    {
        using var nobody = FreePort.Reserve();
        var sender = new EventSender(Options(nobody.Endpoint));
        for (var i = 0; i < 42; i++)
        {
            sender.Record("checkout", "v1", T0, TimeSpan.Zero, 200);
        }

        await sender.DisposeAsync();

        Assert.Equal(42, sender.Dropped);
        sender.Record("checkout", "v1", T0, TimeSpan.Zero, 200);
        Assert.Equal(43, sender.Dropped);
    }

    [Fact]
    public void Bad_options_and_endpoints_are_refused_up_front()
    {
        Assert.Throws<ArgumentException>(() => new EventSender(new EventSenderOptions { Endpoint = "nonsense" }));
        Assert.Throws<ArgumentException>(() => new EventSender(new EventSenderOptions { MaxBatchEvents = 0 }));
        Assert.Throws<ArgumentException>(() => new EventSender(new EventSenderOptions { MaxBatchEvents = 10, MaxBufferedEvents = 5 }));
    }
}
