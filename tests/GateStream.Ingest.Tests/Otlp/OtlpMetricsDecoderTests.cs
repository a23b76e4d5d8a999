using GateStream.Contracts.Otlp.Metrics.V1;
using GateStream.Core.Windows;
using GateStream.Ingest.Otlp;
using Google.Protobuf;
using static GateStream.Ingest.Tests.Otlp.OtlpRequests;
using Sample = GateStream.Ingest.Tests.Otlp.CollectingSink.Sample;

namespace GateStream.Ingest.Tests.Otlp;

public class OtlpMetricsDecoderTests
{
    private static readonly long T0 = (long)(Epoch / 1_000);

    [Fact]
    public void Gauges_sums_and_histograms_become_named_samples_of_the_resource_series()
    {
        var request = MetricsRequest(Metrics(Resource("orders-db", "v2"),
            Gauge("replication.lag", Point(1, 0.25), IntPoint(2, 3)),
            Sum("requests", AggregationTemporality.Delta, monotonic: true, Point(3, 10)),
            Sum("pod.restarts", AggregationTemporality.Cumulative, monotonic: true, IntPoint(4, 7)),
            Sum("pool.in_use", AggregationTemporality.Cumulative, monotonic: false, IntPoint(5, 12)),
            Histogram("query.duration", AggregationTemporality.Delta, 6, count: 40, sum: 2.5),
            Histogram("queue.wait", AggregationTemporality.Cumulative, 7, count: 9, sum: null)));
        var sink = new CollectingSink();

        Assert.True(sink.Decoder().TryDecodeMetrics(request.ToByteArray(), sink, out var result));

        Assert.Equal(new OtlpDecodeResult(Accepted: 7, Rejected: 0, Ignored: 0, ErrorMessage: null), result);
        var batch = Assert.Single(sink.Samples);
        Assert.Equal(("orders-db", "v2", "otlp"), (batch.Deployment, batch.Version, batch.Source));
        Assert.Equal(
            [
                new Sample("replication.lag", T0 + 1, 0.25, MetricKind.Gauge),
                new Sample("replication.lag", T0 + 2, 3, MetricKind.Gauge),
                new Sample("requests", T0 + 3, 10, MetricKind.SumDelta),
                new Sample("pod.restarts", T0 + 4, 7, MetricKind.SumCumulative),
                new Sample("pool.in_use", T0 + 5, 12, MetricKind.Gauge),
                new Sample("query.duration.count", T0 + 6, 40, MetricKind.SumDelta),
                new Sample("query.duration.sum", T0 + 6, 2.5, MetricKind.SumDelta),
                new Sample("queue.wait.count", T0 + 7, 9, MetricKind.SumCumulative),
            ],
            batch.Samples);
    }

    [Fact]
    public void Histogram_means_summaries_and_exponential_histograms_are_read_too()
    {
        var summary = new Metric
        {
            Name = "gc.pause",
            Summary = new Summary { DataPoints = { new SummaryDataPoint { TimeUnixNano = Epoch + 1_000, Count = 4, Sum = 0 } } },
        };
        var exponential = new Metric
        {
            Name = "payload.size",
            ExponentialHistogram = new ExponentialHistogram
            {
                AggregationTemporality = AggregationTemporality.Delta,
                DataPoints = { new ExponentialHistogramDataPoint { TimeUnixNano = Epoch + 2_000, Count = 5, Sum = 500, Scale = -3, ZeroCount = 1, Positive = new() { Offset = -2, BucketCounts = { 1, 3 } } } },
            },
        };
        var request = MetricsRequest(Metrics(Resource("api", "v1"), Histogram("latency", AggregationTemporality.Delta, 3, 4, 10), summary, exponential));
        var sink = new CollectingSink();

        Assert.True(sink.Decoder(new OtlpOptions { HistogramMean = true }).TryDecodeMetrics(request.ToByteArray(), sink, out var result));

        Assert.Equal(3, result.Accepted);
        Assert.Equal(
            [
                new Sample("latency.count", T0 + 3, 4, MetricKind.SumDelta),
                new Sample("latency.sum", T0 + 3, 10, MetricKind.SumDelta),
                new Sample("latency.mean", T0 + 3, 2.5, MetricKind.Gauge),
                new Sample("gc.pause.count", T0 + 1, 4, MetricKind.SumCumulative),
                new Sample("gc.pause.sum", T0 + 1, 0, MetricKind.SumCumulative),
                new Sample("gc.pause.mean", T0 + 1, 0, MetricKind.Gauge),
                new Sample("payload.size.count", T0 + 2, 5, MetricKind.SumDelta),
                new Sample("payload.size.sum", T0 + 2, 500, MetricKind.SumDelta),
                new Sample("payload.size.mean", T0 + 2, 100, MetricKind.Gauge),
            ],
            Assert.Single(sink.Samples).Samples);
    }

    [Fact]
    public void Points_without_a_recorded_value_are_ignored_and_unusable_points_rejected_with_the_first_reason()
    {
        var noValue = Point(1, 1);
        noValue.Flags = 1;
        var empty = new NumberDataPoint { TimeUnixNano = Epoch };
        var request = MetricsRequest(Metrics(Resource("api", "v1"),
            Gauge("ok", Point(1, 1), noValue, empty),
            Sum("no.temporality", AggregationTemporality.Unspecified, monotonic: true, Point(1, 1), Point(2, 2)),
            Gauge("not.finite", Point(1, double.NaN), Point(2, double.PositiveInfinity)),
            Gauge("", Point(1, 1)),
            Gauge(new string('m', 257), Point(1, 1)),
            Histogram(new string('h', 251), AggregationTemporality.Delta, 1, 1, 1),
            Gauge("no.time", new NumberDataPoint { AsDouble = 1 })));
        var sink = new CollectingSink();

        Assert.True(sink.Decoder().TryDecodeMetrics(request.ToByteArray(), sink, out var result));

        Assert.Equal((1L, 8L, 2L), (result.Accepted, result.Rejected, result.Ignored));
        Assert.Equal("resource_metrics[0]: metric 'no.temporality': the sum has no aggregation_temporality; data point rejected", result.ErrorMessage);
        Assert.Equal("ok", Assert.Single(Assert.Single(sink.Samples).Samples).Name);
    }

    [Fact]
    public void A_histogram_name_is_checked_with_its_longest_suffix()
    {
        var sink = new CollectingSink();
        var request = MetricsRequest(Metrics(Resource("api", "v1"),
            Histogram(new string('h', 250), AggregationTemporality.Delta, 1, 1, 1),
            Histogram(new string('i', 251), AggregationTemporality.Delta, 1, 1, 1)));

        Assert.True(sink.Decoder().TryDecodeMetrics(request.ToByteArray(), sink, out var result));

        Assert.Equal((1L, 1L), (result.Accepted, result.Rejected));
        Assert.Contains("its name is 251 bytes, over the 250-byte limit (its signals get a suffix such as '.count' and may have 256)", result.ErrorMessage, StringComparison.Ordinal);
        Assert.Equal(256, Assert.Single(sink.Samples).Samples[0].Name.Length);
    }

    [Fact]
    public void Data_points_of_a_resource_without_deployment_are_rejected_with_the_attribute_named()
    {
        var request = MetricsRequest(
            Metrics(Resource(null, "v1"), Gauge("lag", Point(1, 1), Point(2, 2)), Histogram("h", AggregationTemporality.Delta, 1, 1, 1)),
            Metrics(Resource("db", "v1"), Gauge("lag", Point(1, 1))));
        var sink = new CollectingSink();

        Assert.True(sink.Decoder().TryDecodeMetrics(request.ToByteArray(), sink, out var result));

        Assert.Equal((1L, 3L), (result.Accepted, result.Rejected));
        Assert.Equal("resource_metrics[0]: resource attribute 'service.name' is missing; its 3 data points were rejected", result.ErrorMessage);
        Assert.Equal("db", Assert.Single(sink.Samples).Deployment);
    }

    [Fact]
    public void Metric_name_and_temporality_may_follow_the_data_on_the_wire()
    {
        var points = new Sum { DataPoints = { Point(1, 5) } };
        // Sum with its temporality after the points; Metric with its name after the data.
        var sum = Wire.Message(1, points.DataPoints[0]).Concat(Wire.VarintField(2, 1)).ToArray();
        var metric = Wire.LengthDelimited(7, sum).Concat(Wire.LengthDelimited(1, "late.name"u8.ToArray())).ToArray();
        var scope = Wire.LengthDelimited(2, metric);
        var resourceMetrics = Wire.LengthDelimited(2, scope).Concat(Wire.Message(1, Resource("api", "v1"))).ToArray();
        var request = Wire.LengthDelimited(1, resourceMetrics);
        Assert.Equal("late.name", ExportMetricsRequestParser.ParseFrom(request).ResourceMetrics[0].ScopeMetrics[0].Metrics[0].Name);
        var sink = new CollectingSink();

        Assert.True(sink.Decoder().TryDecodeMetrics(request, sink, out var result));

        Assert.Equal(1, result.Accepted);
        Assert.Equal(new Sample("late.name", T0 + 1, 5, MetricKind.SumDelta), Assert.Single(Assert.Single(sink.Samples).Samples));
    }

    private static MessageParser<GateStream.Contracts.Otlp.Collector.Metrics.V1.ExportMetricsServiceRequest> ExportMetricsRequestParser =>
        GateStream.Contracts.Otlp.Collector.Metrics.V1.ExportMetricsServiceRequest.Parser;
}
