using GateStream.Core.Events;
using GateStream.Core.Ingest;
using GateStream.Core.Windows;
using static GateStream.Core.Tests.TestData;

namespace GateStream.Core.Tests.Ingest;

public class ShardBadInputTests
{
    private sealed class RecordingSink : IRefusalSink
    {
        public List<(RefusalReason Reason, string Source, int Items)> Refusals { get; } = [];

        public void OnRefused(RefusalReason reason, string source, ReadOnlySpan<byte> deployment, ReadOnlySpan<byte> version, int items) =>
            Refusals.Add((reason, source, items));
    }

    private static (Shard Shard, RecordingSink Sink) NewShard(IngestOptions? options = null)
    {
        options ??= new IngestOptions { MaxSeries = 3, MaxKeyBytes = 16, MaxSignalsPerSeries = 2 };
        var sink = new RecordingSink();
        return (new Shard(0, options, new SeriesBudget(options.MaxSeries), sink), sink);
    }

    [Fact]
    public void Negative_absurd_latency_and_negative_time_are_counted_and_refused()
    {
        var (shard, _) = NewShard();
        var batch = new EventBatch();
        batch.Key.Set("api", "v2");
        batch.Add(T0, -1, false);
        batch.Add(T0, long.MinValue, false);
        batch.Add(T0, (2 * 3600 * Second), false); // 2 h: above the 1 h absurd limit
        batch.Add(-5, 100, false);
        batch.Add(T0, 100, true);
        batch.Add(T0, 90 * Second, false); // above the histogram, below absurd: clamped

        var applied = shard.Apply(batch, T0);

        Assert.Equal(2, applied);
        Assert.Equal(4, shard.Counters[IngestCounter.EventsRefusedInvalid]);
        Assert.Equal(1, shard.Counters[IngestCounter.EventsClamped]);
        var series = shard.Find("api", "v2")!;
        Assert.Equal(2, series.Requests.Requests);
        Assert.Equal(1, series.Requests.Errors);
    }

    [Fact]
    public void Events_from_the_future_are_refused()
    {
        var (shard, _) = NewShard();
        var batch = Batch("api", "v1", 3, T0 + (10 * Second), spacing: Second);
        Assert.Equal(0, shard.Apply(batch, T0));
        Assert.Equal(3, shard.Counters[IngestCounter.EventsRefusedFuture]);
    }

    [Theory]
    [InlineData("", "v1", RefusalReason.EmptyKey)]
    [InlineData("api", "", RefusalReason.EmptyKey)]
    [InlineData("a-deployment-name-longer-than-16", "v1", RefusalReason.KeyTooLong)]
    [InlineData("api", "v1-version-longer-than-16", RefusalReason.KeyTooLong)]
    [InlineData("api\n", "v1", RefusalReason.InvalidKey)]
    public void Bad_keys_refuse_the_batch_with_a_reason(string deployment, string version, RefusalReason reason)
    {
        var (shard, sink) = NewShard();
        var batch = Batch(deployment, version, 5, T0);

        Assert.Equal(0, shard.Apply(batch, T0));

        Assert.Equal(1, shard.Counters[IngestCounter.BatchesRefusedKey]);
        Assert.Equal(5, shard.Counters[IngestCounter.EventsRefusedKey]);
        Assert.Equal(0, shard.SeriesCount);
        Assert.Equal((reason, "test", 5), Assert.Single(sink.Refusals));
    }

    [Fact]
    public void Invalid_utf8_key_is_refused()
    {
        var (shard, sink) = NewShard();
        var batch = new EventBatch();
        batch.Key.Set([0x61, 0xff, 0xfe], "v1"u8);
        batch.Add(T0, 1, false);
        Assert.Equal(0, shard.Apply(batch, T0));
        Assert.Equal(RefusalReason.InvalidKey, Assert.Single(sink.Refusals).Reason);
    }

    [Fact]
    public void Series_past_the_cap_are_refused_and_existing_ones_keep_working()
    {
        var (shard, sink) = NewShard();
        for (var v = 0; v < 3; v++)
        {
            Assert.Equal(10, shard.Apply(Batch("api", $"v{v}", 10, T0), T0));
        }

        Assert.Equal(0, shard.Apply(Batch("api", "v99", 10, T0), T0));
        Assert.Equal(1, shard.Counters[IngestCounter.BatchesRefusedSeriesCap]);
        Assert.Equal(10, shard.Counters[IngestCounter.EventsRefusedSeriesCap]);
        Assert.Equal(RefusalReason.SeriesCapReached, Assert.Single(sink.Refusals).Reason);

        // A known series is not affected by the cap.
        Assert.Equal(10, shard.Apply(Batch("api", "v1", 10, T0 + Second), T0 + Second));
        Assert.Equal(3, shard.SeriesCount);
    }

    [Fact]
    public void Idle_series_are_evicted_unless_pinned_and_free_the_cap()
    {
        var options = new IngestOptions { MaxSeries = 2, SeriesIdleTimeout = TimeSpan.FromMinutes(1) };
        var (shard, _) = NewShard(options);
        shard.Apply(Batch("api", "v1", 1, T0), T0);
        shard.Apply(Batch("api", "v2", 1, T0), T0);
        shard.Find("api", "v1")!.Pin();

        Assert.Equal(0, shard.Apply(Batch("api", "v3", 1, T0), T0));
        Assert.Equal(0, shard.EvictIdle(T0 + (30 * Second)));
        Assert.Equal(1, shard.EvictIdle(T0 + (61 * Second)));

        Assert.NotNull(shard.Find("api", "v1"));
        Assert.Null(shard.Find("api", "v2"));
        Assert.Equal(1, shard.Apply(Batch("api", "v3", 1, T0 + (61 * Second)), T0 + (61 * Second)));
        Assert.Equal(1, shard.Counters[IngestCounter.SeriesEvicted]);
    }

    [Fact]
    public void Bad_metric_samples_are_counted_and_good_ones_kept()
    {
        var (shard, sink) = NewShard();
        var batch = new MetricSampleBatch { Source = "test" };
        batch.Key.Set("db", "m42");
        batch.Add("replication_lag_seconds", T0, 1.5, MetricKind.Gauge);
        batch.Add("replication_lag_seconds", T0 + 1, double.NaN, MetricKind.Gauge);
        batch.Add("pool_saturation", T0, double.PositiveInfinity, MetricKind.Gauge);
        batch.Add("", T0, 1, MetricKind.Gauge);
        batch.Add("restarts", T0, 3, (MetricKind)77);
        batch.Add("pool_saturation", T0, 0.5, MetricKind.Gauge);
        batch.Add("third_signal_over_cap", T0, 1, MetricKind.Gauge);

        Assert.Equal(2, shard.Apply(batch, T0));
        Assert.Equal(4, shard.Counters[IngestCounter.SamplesRefusedInvalid]);
        Assert.Equal(1, shard.Counters[IngestCounter.SamplesRefusedSignalCap]);
        Assert.Equal(RefusalReason.SignalCapReached, Assert.Single(sink.Refusals).Reason);
        Assert.Equal(1.5, shard.Find("db", "m42")!.Signal("replication_lag_seconds")!.Snapshot().Last);
    }

    [Fact]
    public void Applying_to_a_known_series_allocates_nothing()
    {
        var (shard, _) = NewShard();
        var batch = Batch("api", "v1", 1_000, T0, spacing: 1_000);
        shard.Apply(batch, T0 + Second);
        var next = Batch("api", "v1", 1_000, T0 + Second, spacing: 1_000);
        var later = Batch("api", "v1", 1_000, T0 + (70 * Second), spacing: 1_000); // slides the whole window

        var before = GC.GetAllocatedBytesForCurrentThread();
        shard.Apply(next, T0 + (2 * Second));
        shard.Apply(later, T0 + (72 * Second));
        _ = shard.Find("api", "v1")!.Requests.Snapshot();
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.True(allocated <= 200, $"apply allocated {allocated} bytes"); // Find() builds one key buffer; Apply none.
        Assert.Equal(3_000, shard.Counters[IngestCounter.EventsAccepted]);
    }
}
