using GateStream.Core.Events;
using GateStream.Core.Windows;
using GateStream.Ingest.Kafka;

namespace GateStream.Ingest.Tests.Kafka;

public class BatchCoalescerTests
{
    private readonly BatchPool<EventBatch> _events = BatchPools.CreateEventPool();
    private readonly BatchPool<MetricSampleBatch> _metrics = BatchPools.CreateMetricPool();

    [Fact]
    public void Single_event_messages_of_a_series_become_one_batch_in_their_order()
    {
        var coalescer = new BatchCoalescer(_events, _metrics);
        var sink = new Recorder(_events, _metrics);
        var message = new DecodedMessage(_events, _metrics);
        for (var i = 0; i < 10; i++)
        {
            Event(message, i % 2 == 0 ? "api" : "web", "v2", time: 1_000 + i, latency: i);
            coalescer.Absorb(message, sink);
            Assert.Empty(message.EventBatches);
        }

        Assert.Empty(sink.Events);
        Assert.Equal(2, coalescer.PendingBatches);

        coalescer.Flush(sink);

        Assert.Equal(0, coalescer.PendingBatches);
        Assert.Equal(2, sink.Events.Count);
        Assert.Equal(("api", "v2"), (sink.Events[0].Deployment, sink.Events[0].Version));
        Assert.Equal([1_000L, 1_002, 1_004, 1_006, 1_008], sink.Events[0].Times);
        Assert.Equal(("web", "v2"), (sink.Events[1].Deployment, sink.Events[1].Version));
        Assert.Equal([1_001L, 1_003, 1_005, 1_007, 1_009], sink.Events[1].Times);
    }

    [Fact]
    public void A_flush_is_due_once_the_oldest_pending_batch_has_waited_the_hold()
    {
        var message = new DecodedMessage(_events, _metrics);
        var sink = new Recorder(_events, _metrics);
        var waiting = new BatchCoalescer(_events, _metrics, maxHold: TimeSpan.FromHours(1));
        var due = new BatchCoalescer(_events, _metrics, maxHold: TimeSpan.Zero);
        Assert.False(due.ShouldFlush); // nothing pending

        Event(message, "api", "v2", time: 1_000, latency: 1);
        waiting.Absorb(message, sink);
        Event(message, "api", "v2", time: 1_001, latency: 1);
        due.Absorb(message, sink);

        Assert.False(waiting.ShouldFlush);
        Assert.True(due.ShouldFlush);
        due.Flush(sink);
        Assert.False(due.ShouldFlush);
    }

    [Fact]
    public void A_batch_is_handed_on_as_soon_as_it_is_full()
    {
        var coalescer = new BatchCoalescer(_events, _metrics, maxEventsPerBatch: 4);
        var sink = new Recorder(_events, _metrics);
        var message = new DecodedMessage(_events, _metrics);
        AbsorbEvents(coalescer, sink, message, "api", "v1", count: 10);

        Assert.Equal([4, 4], sink.Events.Select(e => e.Times.Length));
        coalescer.Flush(sink);
        Assert.Equal([4, 4, 2], sink.Events.Select(e => e.Times.Length));
        Assert.Equal(Enumerable.Range(0, 10).Select(i => (long)i), sink.Events.SelectMany(e => e.Times));
    }

    [Fact]
    public void A_message_batch_larger_than_the_room_left_starts_the_next_batch()
    {
        var coalescer = new BatchCoalescer(_events, _metrics, maxEventsPerBatch: 4);
        var sink = new Recorder(_events, _metrics);
        var message = new DecodedMessage(_events, _metrics);
        Event(message, "api", "v1", time: 1, latency: 1);
        coalescer.Absorb(message, sink);
        var big = message.RentEvents();
        big.Key.Set("api", "v1");
        big.Source = "kafka";
        for (var i = 0; i < 4; i++)
        {
            big.Add(10 + i, 1, false);
        }

        message.Post(big);
        coalescer.Absorb(message, sink);
        coalescer.Flush(sink);

        Assert.Equal([[1L], [10L, 11, 12, 13]], sink.Events.Select(e => e.Times));
    }

    [Fact]
    public void One_series_more_than_the_limit_hands_everything_on()
    {
        var coalescer = new BatchCoalescer(_events, _metrics, maxSeries: 2);
        var sink = new Recorder(_events, _metrics);
        var message = new DecodedMessage(_events, _metrics);
        foreach (var deployment in new[] { "a", "b", "c" })
        {
            Event(message, deployment, "v1", time: 1, latency: 1);
            coalescer.Absorb(message, sink);
        }

        Assert.Equal(["a", "b", "c"], sink.Events.Select(e => e.Deployment));
        Assert.Equal(0, coalescer.PendingBatches);
    }

    [Fact]
    public void Series_differ_by_version_and_source_too()
    {
        var coalescer = new BatchCoalescer(_events, _metrics);
        var sink = new Recorder(_events, _metrics);
        var message = new DecodedMessage(_events, _metrics);
        Event(message, "api", "v1", time: 1, latency: 1);
        coalescer.Absorb(message, sink);
        Event(message, "api", "v2", time: 2, latency: 1);
        coalescer.Absorb(message, sink);
        Event(message, "api", "v1", time: 3, latency: 1, source: "other");
        coalescer.Absorb(message, sink);
        coalescer.Flush(sink);

        Assert.Equal(3, sink.Events.Count);
    }

    [Fact]
    public void Metric_samples_are_gathered_per_series_too()
    {
        var coalescer = new BatchCoalescer(_events, _metrics);
        var sink = new Recorder(_events, _metrics);
        var message = new DecodedMessage(_events, _metrics);
        for (var i = 0; i < 3; i++)
        {
            var batch = message.RentMetrics();
            batch.Key.Set("db", "v1");
            batch.Source = "kafka";
            batch.Add(i == 1 ? "lag" : "pool", 100 + i, i, MetricKind.Gauge);
            message.Post(batch);
            coalescer.Absorb(message, sink);
        }

        coalescer.Flush(sink);

        var only = Assert.Single(sink.Metrics);
        Assert.Equal(["pool@100=0", "lag@101=1", "pool@102=2"], only);
    }

    [Fact]
    public void Events_handed_on_are_counted_before_the_target_owns_them()
    {
        // The target owns a batch once it is posted: a shard applies it and returns it to its pool, emptied, possibly
        // before the post returns (the Recorder returns it at once). Counting it afterwards counted nothing.
        var coalescer = new BatchCoalescer(_events, _metrics, maxEventsPerBatch: 4);
        var sink = new Recorder(_events, _metrics);
        var message = new DecodedMessage(_events, _metrics);
        AbsorbEvents(coalescer, sink, message, "api", "v1", count: 10);

        Event(message, "web", "v1", time: 1, latency: 1);
        coalescer.Absorb(message, sink);
        var samples = message.RentMetrics();
        samples.Key.Set("api", "v1");
        samples.Source = "kafka";
        samples.Add("pool", 1, 1, MetricKind.Gauge);
        message.Post(samples);
        coalescer.Absorb(message, sink);

        Assert.Equal(8, coalescer.TakeEventsPosted()); // the two batches that filled up
        Assert.Equal(0, coalescer.TakeEventsPosted());
        coalescer.Flush(sink);
        Assert.Equal(2 + 1, coalescer.TakeEventsPosted()); // metric samples are not events
        Assert.Equal(11, sink.Events.Sum(e => e.Times.Length));
    }

    [Fact]
    public void A_post_that_fails_leaves_no_batch_behind_and_the_coalescer_usable()
    {
        var coalescer = new BatchCoalescer(_events, _metrics);
        var sink = new Recorder(_events, _metrics) { Fail = true };
        var message = new DecodedMessage(_events, _metrics);
        foreach (var deployment in new[] { "a", "b" })
        {
            Event(message, deployment, "v1", time: 1, latency: 1);
            coalescer.Absorb(message, sink);
        }

        Assert.Throws<OperationCanceledException>(() => coalescer.Flush(sink));
        Assert.Equal(0, coalescer.PendingBatches);
        Assert.Equal(0, coalescer.TakeEventsPosted()); // nothing reached the target

        sink.Fail = false;
        Event(message, "a", "v1", time: 2, latency: 1);
        coalescer.Absorb(message, sink);
        coalescer.Flush(sink);
        Assert.Equal([[2L]], sink.Events.Select(e => e.Times));
        Assert.Equal(1, coalescer.TakeEventsPosted());
    }

    /// <summary>Absorbs <paramref name="count"/> single-event messages of one series, at times 0, 1, 2...</summary>
    private static void AbsorbEvents(BatchCoalescer coalescer, IBatchSink sink, DecodedMessage message, string deployment, string version, int count)
    {
        for (var i = 0; i < count; i++)
        {
            Event(message, deployment, version, time: i, latency: 1);
            coalescer.Absorb(message, sink);
        }
    }

    private static void Event(DecodedMessage message, string deployment, string version, long time, long latency, string source = "kafka")
    {
        message.Reset();
        var batch = message.RentEvents();
        batch.Key.Set(deployment, version);
        batch.Source = source;
        batch.Add(time, latency, false);
        message.Post(batch);
    }

    private sealed class Recorder(BatchPool<EventBatch> events, BatchPool<MetricSampleBatch> metrics) : IBatchSink
    {
        public List<(string Deployment, string Version, long[] Times)> Events { get; } = [];

        public List<string[]> Metrics { get; } = [];

        public bool Fail { get; set; }

        public BatchPool<EventBatch> EventPool => events;

        public BatchPool<MetricSampleBatch> MetricPool => metrics;

        public ValueTask PostAsync(EventBatch batch, CancellationToken cancellationToken)
        {
            if (Fail)
            {
                throw new OperationCanceledException();
            }

            Events.Add((System.Text.Encoding.UTF8.GetString(batch.Key.Deployment), System.Text.Encoding.UTF8.GetString(batch.Key.Version), batch.TimesMicros.ToArray()));
            events.Return(batch);
            return ValueTask.CompletedTask;
        }

        public ValueTask PostAsync(MetricSampleBatch batch, CancellationToken cancellationToken)
        {
            Metrics.Add([.. Enumerable.Range(0, batch.Count).Select(i => $"{System.Text.Encoding.UTF8.GetString(batch.NameAt(i))}@{batch.TimeAt(i)}={batch.ValueAt(i)}")]);
            metrics.Return(batch);
            return ValueTask.CompletedTask;
        }
    }
}
