using System.Diagnostics;
using GateStream.Core.Windows;
using GateStream.Daemon.Tests.Integration;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Net.Client;
using Collector = GateStream.Contracts.Otlp.Collector.Trace.V1;
using Common = GateStream.Contracts.Otlp.Common.V1;
using OtlpResource = GateStream.Contracts.Otlp.Resource.V1.Resource;
using OtlpTrace = GateStream.Contracts.Otlp.Trace.V1;

namespace GateStream.Daemon.Tests.Otlp;

/// <summary>The OTLP receivers on the daemon's gRPC listener, fed by the real OpenTelemetry .NET exporter.</summary>
[Collection(OtlpSerialTests.Name)]
public class OtlpReceiverTests
{
    private static readonly string Policy = TestPolicies.Fast(target: "unrelated");

    private sealed record Requests(long Count, long Errors, long P50Micros, long P99Micros, long InEarlyBucket, long ErrorsInEarlyBucket, long InLateBucket);

    [Fact]
    public async Task Spans_from_the_OpenTelemetry_exporter_count_exactly_per_version_with_their_latencies()
    {
        await using var daemon = new TestDaemon(Policy);
        await daemon.StartAsync();
        using var v1 = new OtelService(daemon.GrpcUrl, "checkout", "v1");
        using var v2 = new OtelService(daemon.GrpcUrl, "checkout", "v2");
        var now = DateTimeOffset.UtcNow;
        var early = now.AddSeconds(-20);
        var late = now.AddSeconds(-2);

        // v1: 100 requests, 90 at 12 ms and 10 at 250 ms; errors: 7 by span status, 5 by HTTP 503, 3 by the older attribute; 404s are fine.
        for (var i = 0; i < 100; i++)
        {
            var latency = i % 10 == 9 ? TimeSpan.FromMilliseconds(250) : TimeSpan.FromMilliseconds(12);
            int? http = i switch
            {
                >= 10 and < 15 => 503,
                >= 30 and < 40 => 404,
                _ => 200,
            };
            v1.Span(i < 60 ? early : late, latency, statusError: i < 7, httpStatus: http);
            if (i is >= 20 and < 23)
            {
                v1.Span(late, latency, httpStatus: 500, statusAttribute: "http.status_code");
            }
        }

        // Not requests: client, internal and producer spans are ignored.
        v1.Span(late, TimeSpan.FromMilliseconds(1), ActivityKind.Client, statusError: true);
        v1.Span(late, TimeSpan.FromMilliseconds(1), ActivityKind.Internal);
        v1.Span(late, TimeSpan.FromMilliseconds(1), ActivityKind.Producer);

        // v2: 50 requests at 40 ms (consumers count too), one in ten an error.
        for (var i = 0; i < 50; i++)
        {
            v2.Span(late, TimeSpan.FromMilliseconds(40), i % 2 == 0 ? ActivityKind.Server : ActivityKind.Consumer, statusError: i % 10 == 0);
        }

        v1.Flush();
        v2.Flush();

        var read = (Core.Series s) => new Requests(
            s.Requests.LifetimeRequests,
            s.Requests.LifetimeErrors,
            s.Requests.LatencyAtQuantile(0.5),
            s.Requests.LatencyAtQuantile(0.99),
            s.Requests.BucketCounts(Micros(early)).Requests,
            s.Requests.BucketCounts(Micros(early)).Errors,
            s.Requests.BucketCounts(Micros(late)).Requests);
        var first = await daemon.WaitForAsync("checkout", "v1", read, r => r.Count >= 103);
        var second = await daemon.WaitForAsync("checkout", "v2", read, r => r.Count >= 50);

        Assert.NotNull(first);
        Assert.NotNull(second);
        Assert.Equal((103L, 15L), (first.Count, first.Errors));
        Assert.Equal((50L, 5L), (second.Count, second.Errors));
        // Event time is the span's end: each request is in the time bucket of its end.
        Assert.Equal((60L, 12L, 43L), (first.InEarlyBucket, first.ErrorsInEarlyBucket, first.InLateBucket));
        // Latency = end - start, in the histogram bucket of its value (2 significant digits: within 1%).
        Assert.InRange(first.P50Micros, 12_000 * 0.99, 12_000 * 1.01);
        Assert.InRange(first.P99Micros, 250_000 * 0.99, 250_000 * 1.01);
        Assert.InRange(second.P50Micros, 40_000 * 0.99, 40_000 * 1.01);

        var metrics = await daemon.MetricsTextAsync();
        Assert.Contains("gatestream_events_received_total{source=\"otlp\"} 153", metrics, StringComparison.Ordinal);
        Assert.DoesNotContain("gatestream_decode_errors_total{source=\"otlp\"}", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenTelemetry_metrics_become_signals_of_the_version_series()
    {
        await using var daemon = new TestDaemon(Policy);
        await daemon.StartAsync();
        using var service = new OtelService(daemon.GrpcUrl, "orders-db", "v3");
        var lag = 42.5;
        service.Meter.CreateObservableGauge("replication.lag", () => lag, unit: "s");
        var restarts = service.Meter.CreateCounter<long>("pod.restarts");
        var queries = service.Meter.CreateHistogram<double>("query.duration", unit: "ms");
        restarts.Add(3);
        foreach (var value in new[] { 5.0, 7.0, 9.0, 11.0 })
        {
            queries.Record(value);
        }

        service.FlushMetrics();
        lag = 44;
        restarts.Add(2);
        service.FlushMetrics();

        var signals = await daemon.WaitForAsync(
            "orders-db",
            "v3",
            s => s.Signals.ToDictionary(kv => kv.Key, kv => kv.Value.Snapshot()),
            d => d.TryGetValue("replication.lag", out var g) && g.Samples >= 2 && d.ContainsKey("pod.restarts"));

        Assert.NotNull(signals);
        var gauge = signals["replication.lag"];
        Assert.Equal((MetricKind.Gauge, 2L, 44.0, 42.5, 44.0), (gauge.Kind, gauge.Samples, gauge.Last, gauge.Min, gauge.Max));
        // The SDK's default temporality is cumulative: running totals 3 then 5.
        var counter = signals["pod.restarts"];
        Assert.Equal((MetricKind.SumCumulative, 5.0), (counter.Kind, counter.Last));
        Assert.Equal((MetricKind.SumCumulative, 4.0), (signals["query.duration.count"].Kind, signals["query.duration.count"].Last));
        Assert.Equal(32.0, signals["query.duration.sum"].Last);
    }

    [Fact]
    public async Task Undecodable_bytes_get_invalid_argument_with_the_decode_message_and_are_counted()
    {
        await using var daemon = new TestDaemon(Policy);
        await daemon.StartAsync();
        var export = new Method<byte[], byte[]>(
            MethodType.Unary, "opentelemetry.proto.collector.trace.v1.TraceService", "Export", Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));
        var invoker = daemon.Channel!.CreateCallInvoker();

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await invoker.AsyncUnaryCall(export, null, new CallOptions(), [0x0A, 0x64, 1, 2, 3]));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("malformed ExportTraceServiceRequest: field 1 in ExportTraceServiceRequest at byte 1 declares 100 bytes but only 3 remain", error.Status.Detail);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{daemon.HttpPort}") };
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("gatestream_decode_errors_total{source=\"otlp\"} 1", metrics, StringComparison.Ordinal);

        // The listener carries on: the next export is fine.
        var ok = await invoker.AsyncUnaryCall(export, null, new CallOptions(), Request(("checkout", "v1", 2)).ToByteArray());
        Assert.Empty(ok);
    }

    [Fact]
    public async Task Undecodable_metrics_get_invalid_argument_too_and_logs_are_unimplemented()
    {
        await using var daemon = new TestDaemon(Policy);
        await daemon.StartAsync();
        var export = new Method<byte[], byte[]>(
            MethodType.Unary, "opentelemetry.proto.collector.metrics.v1.MetricsService", "Export", Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));

        var error = await Assert.ThrowsAsync<RpcException>(async () =>
            await daemon.Channel!.CreateCallInvoker().AsyncUnaryCall(export, null, new CallOptions(), [0x0B]));

        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.Equal("malformed ExportMetricsServiceRequest: field 1 in ExportMetricsServiceRequest at byte 0 has group wire type 3, which OTLP does not use", error.Status.Detail);

        // Logs are not a GateStream signal: that service is not there.
        var logs = new Method<byte[], byte[]>(
            MethodType.Unary, "opentelemetry.proto.collector.logs.v1.LogsService", "Export", Marshallers.Create(b => b, b => b), Marshallers.Create(b => b, b => b));
        var unimplemented = await Assert.ThrowsAsync<RpcException>(async () =>
            await daemon.Channel!.CreateCallInvoker().AsyncUnaryCall(logs, null, new CallOptions(), []));
        Assert.Equal(StatusCode.Unimplemented, unimplemented.StatusCode);
    }

    [Fact]
    public async Task A_large_gzip_compressed_export_as_the_collector_sends_it_is_decoded()
    {
        await using var daemon = new TestDaemon(Policy);
        await daemon.StartAsync();
        var client = new Collector.TraceService.TraceServiceClient(daemon.Channel);
        var request = Request(("checkout", "v1", 3_000), ("checkout", "v2", 2_000));
        Assert.True(request.CalculateSize() > 100_000);

        var response = await client.ExportAsync(request, new Metadata { { "grpc-internal-encoding-request", "gzip" } });

        Assert.Null(response.PartialSuccess);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{daemon.HttpPort}") };
        Assert.Contains("gatestream_events_received_total{source=\"otlp\"} 5000", await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Spans_of_a_resource_without_a_version_come_back_as_partial_success()
    {
        await using var daemon = new TestDaemon(Policy);
        await daemon.StartAsync();
        var client = new Collector.TraceService.TraceServiceClient(daemon.Channel);

        var partial = await client.ExportAsync(Request(("checkout", "v1", 3), ("checkout", null, 2)));
        var full = await client.ExportAsync(Request(("checkout", "v1", 3)));

        Assert.Equal(2, partial.PartialSuccess.RejectedSpans);
        Assert.Equal("resource_spans[1] (service.name=checkout): resource attribute 'service.version' is missing; its 2 spans were rejected",
            partial.PartialSuccess.ErrorMessage);
        Assert.Null(full.PartialSuccess);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{daemon.HttpPort}") };
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("gatestream_events_received_total{source=\"otlp\"} 6", metrics, StringComparison.Ordinal);
        Assert.Contains("gatestream_decode_errors_total{source=\"otlp\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_mapping_follows_the_GateStream_Otlp_settings()
    {
        await using var daemon = new TestDaemon(Policy, new Dictionary<string, string?>
        {
            ["GateStream:Otlp:DeploymentAttribute"] = "k8s.deployment.name",
            ["GateStream:Otlp:VersionAttribute"] = "app.revision",
            ["GateStream:Otlp:SpanKinds"] = "server, client",
            ["GateStream:Otlp:StatusAttributes:0"] = "app.status",
        });
        await daemon.StartAsync();
        using var channel = GrpcChannel.ForAddress(daemon.GrpcUrl);
        var client = new Collector.TraceService.TraceServiceClient(channel);
        var request = Request(("ignored", "ignored", 0));
        var resource = request.ResourceSpans[0];
        resource.Resource.Attributes.Add(Attr("k8s.deployment.name", "payments"));
        resource.Resource.Attributes.Add(Attr("app.revision", "r7"));
        var spans = resource.ScopeSpans[0].Spans;
        spans.Add(Span(OtlpTrace.Span.Types.SpanKind.Client, Attr("app.status", 503)));
        spans.Add(Span(OtlpTrace.Span.Types.SpanKind.Server, Attr("http.response.status_code", 503)));
        spans.Add(Span(OtlpTrace.Span.Types.SpanKind.Consumer));

        var response = await client.ExportAsync(request);

        Assert.Null(response.PartialSuccess);
        var counts = await daemon.WaitForAsync("payments", "r7", s => new Tuple<long, long>(s.Requests.LifetimeRequests, s.Requests.LifetimeErrors), c => c.Item1 >= 2);
        Assert.Equal(new Tuple<long, long>(2, 1), counts);
    }

    [Fact]
    public async Task A_bad_span_kind_setting_stops_the_daemon_with_the_key_named()
    {
        await using var daemon = new TestDaemon(Policy, new Dictionary<string, string?> { ["GateStream:Otlp:SpanKinds:0"] = "sever" });

        var error = await Assert.ThrowsAnyAsync<Exception>(daemon.StartAsync);

        Assert.Contains("GateStream:Otlp:SpanKinds: 'sever' is not a span kind", error.Message, StringComparison.Ordinal);
    }

    private static long Micros(DateTimeOffset time) => time.ToUnixTimeMilliseconds() * 1_000;

    private static Common.KeyValue Attr(string key, string value) => new() { Key = key, Value = new Common.AnyValue { StringValue = value } };

    private static Common.KeyValue Attr(string key, long value) => new() { Key = key, Value = new Common.AnyValue { IntValue = value } };

    private static OtlpTrace.Span Span(OtlpTrace.Span.Types.SpanKind kind, params Common.KeyValue[] attributes)
    {
        var end = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        var span = new OtlpTrace.Span { Name = "op", Kind = kind, StartTimeUnixNano = end - 5_000_000, EndTimeUnixNano = end };
        span.Attributes.Add(attributes);
        return span;
    }

    /// <summary>An export with, per (service, version), that many server spans ending now.</summary>
    internal static Collector.ExportTraceServiceRequest Request(params (string Service, string? Version, int Spans)[] resources)
    {
        var request = new Collector.ExportTraceServiceRequest();
        foreach (var (service, version, count) in resources)
        {
            var resource = new OtlpResource { Attributes = { Attr("service.name", service) } };
            if (version is not null)
            {
                resource.Attributes.Add(Attr("service.version", version));
            }

            var scope = new OtlpTrace.ScopeSpans();
            for (var i = 0; i < count; i++)
            {
                scope.Spans.Add(Span(OtlpTrace.Span.Types.SpanKind.Server));
            }

            request.ResourceSpans.Add(new OtlpTrace.ResourceSpans { Resource = resource, ScopeSpans = { scope } });
        }

        return request;
    }
}
