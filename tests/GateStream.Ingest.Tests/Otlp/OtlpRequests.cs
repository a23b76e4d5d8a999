using GateStream.Contracts.Otlp.Collector.Metrics.V1;
using GateStream.Contracts.Otlp.Collector.Trace.V1;
using GateStream.Contracts.Otlp.Common.V1;
using GateStream.Contracts.Otlp.Metrics.V1;
using GateStream.Contracts.Otlp.Trace.V1;
using Google.Protobuf;
using Resource = GateStream.Contracts.Otlp.Resource.V1.Resource;
using SpanKind = GateStream.Contracts.Otlp.Trace.V1.Span.Types.SpanKind;
using StatusCode = GateStream.Contracts.Otlp.Trace.V1.Status.Types.StatusCode;

namespace GateStream.Ingest.Tests.Otlp;

/// <summary>OTLP requests built with the generated messages (what a real exporter would put on the wire).</summary>
internal static class OtlpRequests
{
    /// <summary>2025-01-01T00:00:00Z in ns: a fixed, realistic epoch for span times.</summary>
    public const ulong Epoch = 1_735_689_600_000_000_000;

    public static KeyValue Attr(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    public static KeyValue Attr(string key, long value) => new() { Key = key, Value = new AnyValue { IntValue = value } };

    public static Resource Resource(string? service, string? version, params KeyValue[] extra)
    {
        var resource = new Resource();
        resource.Attributes.Add(Attr("telemetry.sdk.language", "dotnet"));
        if (service is not null)
        {
            resource.Attributes.Add(Attr("service.name", service));
        }

        resource.Attributes.Add(Attr("host.name", "node-1"));
        if (version is not null)
        {
            resource.Attributes.Add(Attr("service.version", version));
        }

        resource.Attributes.Add(extra);
        return resource;
    }

    public static ResourceSpans Spans(Resource? resource, params Span[] spans)
    {
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "test", Version = "1.0" } };
        scope.Spans.Add(spans);
        var result = new ResourceSpans { ScopeSpans = { scope }, SchemaUrl = "https://opentelemetry.io/schemas/1.26.0" };
        if (resource is not null)
        {
            result.Resource = resource;
        }

        return result;
    }

    public static ExportTraceServiceRequest Traces(params ResourceSpans[] resources)
    {
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(resources);
        return request;
    }

    /// <summary>A span ending at <see cref="Epoch"/> + <paramref name="endMicros"/>, <paramref name="latencyMicros"/> long.</summary>
    public static Span Span(
        long endMicros,
        long latencyMicros,
        SpanKind kind = SpanKind.Server,
        StatusCode status = StatusCode.Unset,
        params KeyValue[] attributes)
    {
        var end = Epoch + ((ulong)endMicros * 1_000);
        var span = new Span
        {
            TraceId = ByteString.CopyFrom(new byte[16] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 }),
            SpanId = ByteString.CopyFrom(new byte[8] { 1, 2, 3, 4, 5, 6, 7, 8 }),
            Name = "GET /api/orders/{id}",
            Kind = kind,
            StartTimeUnixNano = end - ((ulong)latencyMicros * 1_000),
            EndTimeUnixNano = end,
            Flags = 1,
        };
        span.Attributes.Add(Attr("http.request.method", "GET"));
        span.Attributes.Add(Attr("url.path", "/api/orders/42"));
        span.Attributes.Add(attributes);
        if (status != StatusCode.Unset)
        {
            span.Status = new Status { Code = status, Message = status == StatusCode.Error ? "boom" : "" };
        }

        span.Events.Add(new Span.Types.Event { Name = "exception", TimeUnixNano = end - 10, Attributes = { Attr("exception.type", "Boom") } });
        span.Links.Add(new Span.Types.Link { TraceId = span.TraceId, SpanId = span.SpanId });
        return span;
    }

    public static ResourceMetrics Metrics(Resource? resource, params Metric[] metrics)
    {
        var scope = new ScopeMetrics { Scope = new InstrumentationScope { Name = "test" } };
        scope.Metrics.Add(metrics);
        var result = new ResourceMetrics { ScopeMetrics = { scope } };
        if (resource is not null)
        {
            result.Resource = resource;
        }

        return result;
    }

    public static ExportMetricsServiceRequest MetricsRequest(params ResourceMetrics[] resources)
    {
        var request = new ExportMetricsServiceRequest();
        request.ResourceMetrics.Add(resources);
        return request;
    }

    public static NumberDataPoint Point(long timeMicros, double value) => new()
    {
        TimeUnixNano = Epoch + ((ulong)timeMicros * 1_000),
        StartTimeUnixNano = Epoch,
        AsDouble = value,
        Attributes = { Attr("pool", "main") },
    };

    public static NumberDataPoint IntPoint(long timeMicros, long value) => new()
    {
        TimeUnixNano = Epoch + ((ulong)timeMicros * 1_000),
        AsInt = value,
    };

    public static Metric Gauge(string name, params NumberDataPoint[] points)
    {
        var gauge = new Gauge();
        gauge.DataPoints.Add(points);
        return new Metric { Name = name, Unit = "s", Description = "a gauge", Gauge = gauge };
    }

    public static Metric Sum(string name, AggregationTemporality temporality, bool monotonic, params NumberDataPoint[] points)
    {
        var sum = new Sum { AggregationTemporality = temporality, IsMonotonic = monotonic };
        sum.DataPoints.Add(points);
        return new Metric { Name = name, Sum = sum };
    }

    public static Metric Histogram(string name, AggregationTemporality temporality, long timeMicros, ulong count, double? sum)
    {
        var point = new HistogramDataPoint
        {
            TimeUnixNano = Epoch + ((ulong)timeMicros * 1_000),
            Count = count,
            BucketCounts = { count / 2, count - (count / 2) },
            ExplicitBounds = { 0.1 },
        };
        if (sum is { } s)
        {
            point.Sum = s;
        }

        return new Metric { Name = name, Histogram = new Histogram { AggregationTemporality = temporality, DataPoints = { point } } };
    }
}
