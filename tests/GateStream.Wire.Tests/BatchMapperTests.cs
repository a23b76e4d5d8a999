using GateStream.Core.Events;
using GateStream.Core.Windows;
using GateStream.Ingest.Native;
using Google.Protobuf;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Wire.Tests;

public sealed class BatchMapperTests
{
    private const long Base = 1_764_000_000_000_000;

    [Fact]
    public void Deltas_become_times_and_status_codes_errors()
    {
        var proto = Events(3);
        proto.StatusCodes.Add([200, 503, 499]);
        var batch = new EventBatch();

        var result = BatchMapper.ToEngine(proto, batch);

        Assert.Equal(new BatchResult(3, 0, null), result);
        Assert.Equal("checkout"u8.ToArray(), batch.Key.Deployment.ToArray());
        Assert.Equal("v2"u8.ToArray(), batch.Key.Version.ToArray());
        Assert.Equal([Base + 1_000, Base + 1_500, Base + 1_500], batch.TimesMicros.ToArray());
        Assert.Equal([10_000L, 20_000, 30_000], batch.LatenciesMicros.ToArray());
        Assert.Equal([false, true, false], batch.Errors.ToArray());
    }

    [Fact]
    public void The_errors_column_wins_over_status_codes_and_without_either_all_succeed()
    {
        var batch = new EventBatch();
        var both = Events(3);
        both.StatusCodes.Add([500, 500, 500]);
        both.Errors.Add([false, true, false]);
        BatchMapper.ToEngine(both, batch);
        Assert.Equal([false, true, false], batch.Errors.ToArray());

        // The same (reused) batch: errors of the previous conversion must not leak into this one.
        BatchMapper.ToEngine(Events(3), batch);
        Assert.Equal([false, false, false], batch.Errors.ToArray());
    }

    [Theory]
    [MemberData(nameof(InvalidEventBatches))]
    public void A_batch_that_breaks_the_rules_is_refused_whole(string name, V1.EventBatch proto, string expected)
    {
        var batch = new EventBatch();
        BatchMapper.ToEngine(Events(2), batch);

        var result = BatchMapper.ToEngine(proto, batch);

        Assert.True(result.RefusedWhole, name);
        Assert.Equal((0, proto.TimeDeltasMicros.Count, expected), (result.Accepted, result.Rejected, result.Problem));
        Assert.Equal(0, batch.Count);
    }

    public static TheoryData<string, V1.EventBatch, string> InvalidEventBatches()
    {
        var noDeployment = Events(2);
        noDeployment.Deployment = "";
        var noVersion = Events(2);
        noVersion.Version = "";
        var shortLatencies = Events(10);
        shortLatencies.LatencyMicros.RemoveAt(0);
        var statuses = Events(3);
        statuses.StatusCodes.Add([200, 500]);
        var errors = Events(3);
        errors.Errors.Add(true);
        return new()
        {
            { "no deployment", noDeployment, "deployment and version are required" },
            { "no version", noVersion, "deployment and version are required" },
            { "latencies", shortLatencies, "latency_micros has 9 values for 10 events" },
            { "status codes", statuses, "status_codes has 2 values for 3 events (it must be empty or one per event)" },
            { "errors", errors, "errors has 1 values for 3 events (it must be empty or one per event)" },
        };
    }

    [Fact]
    public void An_invalid_sample_is_refused_alone()
    {
        var proto = new V1.MetricBatch { Deployment = "db", Version = "m1" };
        proto.Samples.Add(Sample("lag", 1.5, V1.MetricKind.Gauge));
        proto.Samples.Add(Sample("lag", double.NaN, V1.MetricKind.Gauge));
        proto.Samples.Add(Sample("", 1, V1.MetricKind.Gauge));
        proto.Samples.Add(Sample("pool", 0.5, V1.MetricKind.Unspecified));
        proto.Samples.Add(Sample("pool", 0.5, (V1.MetricKind)7));
        proto.Samples.Add(Sample("restarts", 3, V1.MetricKind.SumCumulative));
        var batch = new MetricSampleBatch();

        var result = BatchMapper.ToEngine(proto, batch);

        Assert.Equal(new BatchResult(2, 4, "samples[1]: value must be finite"), result);
        Assert.Equal((MetricKind.Gauge, MetricKind.SumCumulative), (batch.KindAt(0), batch.KindAt(1)));
        Assert.Equal("restarts"u8.ToArray(), batch.NameAt(1).ToArray());
    }

    [Fact]
    public void A_metric_batch_without_a_key_is_refused_whole()
    {
        var proto = new V1.MetricBatch { Deployment = "db" };
        proto.Samples.Add(Sample("lag", 1.5, V1.MetricKind.Gauge));

        var result = BatchMapper.ToEngine(proto, new MetricSampleBatch());

        Assert.Equal(new BatchResult(0, 1, "deployment and version are required", RefusedWhole: true), result);
    }

    [Fact]
    public void Engine_batches_go_to_the_wire_and_back_unchanged()
    {
        var events = new EventBatch();
        events.Key.Set("checkout", "v2");
        events.Add(Base + 5, 1_000, false);
        events.Add(Base + 2, 2_000, true);  // Out of order: a negative delta.
        events.Add(Base + 9, 3_000, false);
        var metrics = new MetricSampleBatch();
        metrics.Key.Set("db", "m1");
        metrics.Add("lag", Base, 1.5, MetricKind.Gauge);
        metrics.Add("restarts", Base + 1, 2, MetricKind.SumDelta);

        // Through bytes, as a tap's subscriber and an events file carry them.
        var eventsBack = new EventBatch();
        Assert.Equal(3, BatchMapper.ToEngine(V1.EventBatch.Parser.ParseFrom(BatchMapper.ToWire(events).ToByteArray()), eventsBack).Accepted);
        var metricsBack = new MetricSampleBatch();
        Assert.Equal(2, BatchMapper.ToEngine(V1.MetricBatch.Parser.ParseFrom(BatchMapper.ToWire(metrics).ToByteArray()), metricsBack).Accepted);

        Assert.Equal(events.TimesMicros.ToArray(), eventsBack.TimesMicros.ToArray());
        Assert.Equal(events.LatenciesMicros.ToArray(), eventsBack.LatenciesMicros.ToArray());
        Assert.Equal(events.Errors.ToArray(), eventsBack.Errors.ToArray());
        Assert.Equal(events.Key.Deployment.ToArray(), eventsBack.Key.Deployment.ToArray());
        for (var i = 0; i < metrics.Count; i++)
        {
            Assert.Equal(metrics.NameAt(i).ToArray(), metricsBack.NameAt(i).ToArray());
            Assert.Equal((metrics.TimeAt(i), metrics.ValueAt(i), metrics.KindAt(i)), (metricsBack.TimeAt(i), metricsBack.ValueAt(i), metricsBack.KindAt(i)));
        }
    }

    [Fact]
    public void A_latency_outside_uint32_stays_refusable_on_the_wire()
    {
        var events = new EventBatch();
        events.Key.Set("checkout", "v2");
        events.Add(Base, -1, false);
        events.Add(Base, (long)uint.MaxValue + 1, false);

        Assert.Equal([uint.MaxValue, uint.MaxValue], BatchMapper.ToWire(events).LatencyMicros);
    }

    [Fact]
    public void The_newest_time_of_a_message_spans_events_and_samples()
    {
        var message = new V1.PushRequest { Events = { Events(3) } };
        Assert.Equal(Base + 1_500, BatchMapper.NewestTime(message));
        message.Metrics.Add(new V1.MetricBatch { Deployment = "db", Version = "m1", Samples = { Sample("lag", 1, V1.MetricKind.Gauge, Base + 9_000) } });
        Assert.Equal(Base + 9_000, BatchMapper.NewestTime(message));
        Assert.Null(BatchMapper.NewestTime(new V1.PushRequest { Events = { new V1.EventBatch { Deployment = "a", Version = "b" } } }));
    }

    /// <summary>
    /// The native reader (raw bytes: framed, Kafka, gRPC Push) and this mapper (parsed messages: replay) apply the
    /// same rules with the same words: same counts, same problem.
    /// </summary>
    [Theory]
    [MemberData(nameof(ParityCases))]
    public void The_native_reader_and_the_mapper_agree(string name, V1.PushRequest message)
    {
        var bytes = message.ToByteArray();
        var pools = (Events: BatchPools.CreateEventPool(), Metrics: BatchPools.CreateMetricPool());
        var reader = new NativeBatchReader(pools.Events, pools.Metrics, "test");
        Assert.True(reader.TryBegin(bytes, out var malformed), $"{name}: {malformed}");
        var nativeEvents = new List<long[]>();
        while (reader.TryReadNext(out var decoded))
        {
            if (decoded.Events is { } e)
            {
                nativeEvents.Add(e.TimesMicros.ToArray());
            }
        }

        var counts = reader.Counts;
        int acceptedEvents = 0, rejectedEvents = 0, acceptedSamples = 0, rejectedSamples = 0;
        string? first = null;
        var mappedEvents = new List<long[]>();
        for (var i = 0; i < message.Events.Count; i++)
        {
            var batch = new EventBatch();
            var result = BatchMapper.ToEngine(message.Events[i], batch);
            (acceptedEvents, rejectedEvents) = (acceptedEvents + result.Accepted, rejectedEvents + result.Rejected);
            first ??= result.Problem is { } p ? $"events[{i}] ({message.Events[i].Deployment}@{message.Events[i].Version}): {p}" : null;
            if (batch.Count > 0)
            {
                mappedEvents.Add(batch.TimesMicros.ToArray());
            }
        }

        for (var i = 0; i < message.Metrics.Count; i++)
        {
            var result = BatchMapper.ToEngine(message.Metrics[i], new MetricSampleBatch());
            (acceptedSamples, rejectedSamples) = (acceptedSamples + result.Accepted, rejectedSamples + result.Rejected);
            first ??= result.Problem is { } p ? $"metrics[{i}] ({message.Metrics[i].Deployment}@{message.Metrics[i].Version}): {p}" : null;
        }

        Assert.Equal((counts.AcceptedEvents, counts.RejectedEvents, counts.AcceptedSamples, counts.RejectedSamples),
            (acceptedEvents, rejectedEvents, acceptedSamples, rejectedSamples));
        Assert.Equal(counts.FirstProblem, first);
        Assert.Equal(nativeEvents, mappedEvents);
    }

    public static TheoryData<string, V1.PushRequest> ParityCases()
    {
        var data = new TheoryData<string, V1.PushRequest>
        {
            { "valid", new V1.PushRequest { Events = { Events(5) } } },
        };
        foreach (var (name, batch, _) in InvalidEventBatches().Select(r => ((string)r[0], (V1.EventBatch)r[1], r[2])))
        {
            data.Add(name, new V1.PushRequest { Events = { Events(2), batch } });
        }

        var samples = new V1.MetricBatch { Deployment = "db", Version = "m1" };
        samples.Samples.Add(Sample("lag", 1.5, V1.MetricKind.Gauge));
        samples.Samples.Add(Sample("", 1, V1.MetricKind.Gauge));
        samples.Samples.Add(Sample("lag", double.PositiveInfinity, V1.MetricKind.SumDelta));
        samples.Samples.Add(Sample("pool", 0.5, V1.MetricKind.Unspecified));
        samples.Samples.Add(Sample("pool", 0.5, (V1.MetricKind)7));
        data.Add("samples", new V1.PushRequest { Metrics = { samples } });
        data.Add("metric key", new V1.PushRequest { Metrics = { new V1.MetricBatch { Version = "m1", Samples = { Sample("lag", 1, V1.MetricKind.Gauge) } } } });
        return data;
    }

    private static V1.EventBatch Events(int n)
    {
        var proto = new V1.EventBatch { Deployment = "checkout", Version = "v2", BaseTimeUnixMicros = Base };
        for (var i = 0; i < n; i++)
        {
            proto.TimeDeltasMicros.Add(i == 0 ? 1_000 : i == 1 ? 500 : 0);
            proto.LatencyMicros.Add((uint)(10_000 * (i + 1)));
        }

        return proto;
    }

    private static V1.MetricSample Sample(string name, double value, V1.MetricKind kind, long time = Base) =>
        new() { Name = name, TimeUnixMicros = time, Value = value, Kind = kind };
}
