using GateStream.Contracts.Otlp.Trace.V1;
using GateStream.Contracts.Otlp.Metrics.V1;
using GateStream.Core.Events;
using GateStream.Ingest.Otlp;
using Google.Protobuf;
using static GateStream.Ingest.Tests.Otlp.OtlpRequests;
using StatusCode = GateStream.Contracts.Otlp.Trace.V1.Status.Types.StatusCode;

namespace GateStream.Ingest.Tests.Otlp;

/// <summary>The hot-path budget: no allocation per span, per data point, or per request in steady state.</summary>
public class OtlpAllocationTests
{
    [Fact]
    public void Decoding_a_thousand_span_request_allocates_nothing_after_warm_up()
    {
        var spans = Enumerable.Range(0, 1_000)
            .Select(i => Span(i, 1_000 + i, status: i % 50 == 0 ? StatusCode.Error : StatusCode.Unset, attributes: [Attr("http.response.status_code", i % 40 == 0 ? 503 : 200)]))
            .ToArray();
        var request = Traces(Spans(Resource("checkout", "v1"), spans[..600]), Spans(Resource("checkout", "v2"), spans[600..])).ToByteArray();
        var split = Segments.Split(request, 4096);
        var (decoder, sink) = Create();

        for (var i = 0; i < 20; i++)
        {
            Assert.True(decoder.TryDecodeTraces(request, sink, out _));
            Assert.True(decoder.TryDecodeTraces(split, sink, out _));
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            decoder.TryDecodeTraces(request, sink, out _);
            decoder.TryDecodeTraces(split, sink, out _);
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(0, allocated);
        Assert.Equal(1_000 * 240, sink.Events);
    }

    [Fact]
    public void Decoding_metrics_allocates_nothing_after_warm_up()
    {
        var metrics = Enumerable.Range(0, 50)
            .SelectMany(i => new[]
            {
                Gauge($"gauge.{i}", Point(i, i), Point(i + 1, i)),
                Sum($"sum.{i}", AggregationTemporality.Delta, true, IntPoint(i, i)),
                Histogram($"hist.{i}", AggregationTemporality.Cumulative, i, 10, 2.5),
            })
            .ToArray();
        var request = MetricsRequest(Metrics(Resource("db", "v1"), metrics)).ToByteArray();
        var (decoder, sink) = Create(new OtlpOptions { HistogramMean = true });

        for (var i = 0; i < 20; i++)
        {
            Assert.True(decoder.TryDecodeMetrics(request, sink, out _));
        }

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            decoder.TryDecodeMetrics(request, sink, out _);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
        Assert.Equal(120 * 50 * 6, sink.Samples);
    }

    private static (OtlpDecoder Decoder, ReturningSink Sink) Create(OtlpOptions? options = null)
    {
        var events = BatchPools.CreateEventPool();
        var metrics = BatchPools.CreateMetricPool();
        return (new OtlpDecoder(options ?? OtlpOptions.Default, events, metrics), new ReturningSink(events, metrics));
    }
}
