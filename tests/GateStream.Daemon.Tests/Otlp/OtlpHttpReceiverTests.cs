using System.IO.Compression;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using GateStream.Daemon.Tests.Integration;
using Google.Protobuf;
using OpenTelemetry.Exporter;
using Collector = GateStream.Contracts.Otlp.Collector.Trace.V1;

namespace GateStream.Daemon.Tests.Otlp;

/// <summary>OTLP/HTTP on the daemon's HTTP listener (<c>/v1/traces</c>, <c>/v1/metrics</c>): protobuf and JSON, gzip, the specification's answers.</summary>
[Collection(OtlpSerialTests.Name)]
public class OtlpHttpReceiverTests
{
    private static readonly string Policy = TestPolicies.Fast(target: "unrelated");

    [Fact]
    public async Task Spans_and_metrics_from_the_OpenTelemetry_exporter_in_http_protobuf_mode_are_applied()
    {
        await using var daemon = new TestDaemon(Policy);
        await daemon.StartAsync();
        using var service = new OtelService(new Uri($"http://127.0.0.1:{daemon.HttpPort}"), "checkout", "v2", protocol: OtlpExportProtocol.HttpProtobuf);
        var end = DateTimeOffset.UtcNow;
        for (var i = 0; i < 100; i++)
        {
            service.Span(end, TimeSpan.FromMilliseconds(20), statusError: i % 10 == 0);
        }

        service.Meter.CreateObservableGauge("queue.depth", () => 7.0);
        service.Flush();
        service.FlushMetrics();

        var counts = await daemon.WaitForAsync("checkout", "v2", s => Tuple.Create(s.Requests.LifetimeRequests, s.Requests.LifetimeErrors, s.Signal("queue.depth")?.Snapshot().Last), c => c.Item1 >= 100 && c.Item3 is not null);
        Assert.Equal(Tuple.Create(100L, 10L, (double?)7.0), counts);
        Assert.Contains("gatestream_events_received_total{source=\"otlp\"} 100", await daemon.MetricsTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_gzip_compressed_json_export_is_applied_and_answered_in_json_with_its_partial_success()
    {
        await using var daemon = new TestDaemon(Policy);
        await daemon.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{daemon.HttpPort}") };
        var json = JsonFormatter.Default.Format(OtlpReceiverTests.Request(("checkout", "v1", 30), ("checkout", null, 2)));

        using var response = await http.PostAsync(new Uri("/v1/traces", UriKind.Relative), Gzip(System.Text.Encoding.UTF8.GetBytes(json), "application/json"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var answer = JsonParser.Default.Parse<Collector.ExportTraceServiceResponse>(await response.Content.ReadAsStringAsync());
        Assert.Equal(2, answer.PartialSuccess.RejectedSpans);
        Assert.Contains("'service.version' is missing", answer.PartialSuccess.ErrorMessage, StringComparison.Ordinal);
        var count = await daemon.WaitForAsync("checkout", "v1", s => Tuple.Create(s.Requests.LifetimeRequests), c => c.Item1 >= 30);
        Assert.Equal(30L, count?.Item1);
    }

    [Fact]
    public async Task Bad_bodies_get_the_specified_status_with_a_reason_and_are_counted()
    {
        await using var daemon = new TestDaemon(Policy, new Dictionary<string, string?> { ["GateStream:Engine:MaxReceiveMessageBytes"] = "4096" });
        await daemon.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{daemon.HttpPort}") };
        var traces = new Uri("/v1/traces", UriKind.Relative);

        // Undecodable protobuf: 400 with a google.rpc.Status naming the byte.
        using var garbage = await http.PostAsync(traces, Body([0x0B], "application/x-protobuf"));
        Assert.Equal(HttpStatusCode.BadRequest, garbage.StatusCode);
        var status = RpcStatus(await garbage.Content.ReadAsByteArrayAsync());
        Assert.Equal(3, status.Code);
        Assert.Contains("at byte 0", status.Message, StringComparison.Ordinal);

        // JSON that is not an export request: 400 in JSON.
        using var notOtlp = await http.PostAsync(traces, Body("{\"resourceSpans\": 7}"u8.ToArray(), "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, notOtlp.StatusCode);
        Assert.Contains("\"code\":3", await notOtlp.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        // Another media type or encoding: 415.
        using var text = await http.PostAsync(traces, Body("hello"u8.ToArray(), "text/plain"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.StatusCode);
        var brotli = Body([], "application/x-protobuf");
        brotli.Headers.ContentEncoding.Add("br");
        using var unsupported = await http.PostAsync(traces, brotli);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, unsupported.StatusCode);

        // 64 KiB of zeros compresses to a few hundred bytes: refused after decompression, past the 4 KiB limit.
        using var bomb = await http.PostAsync(traces, Gzip(new byte[64 * 1024], "application/x-protobuf"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, bomb.StatusCode);
        Assert.Contains("larger than 4096 bytes", RpcStatus(await bomb.Content.ReadAsByteArrayAsync()).Message, StringComparison.Ordinal);

        Assert.Contains("gatestream_decode_errors_total{source=\"otlp\"} 5", await daemon.MetricsTextAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_ingest_tokens_an_export_needs_the_bearer_header()
    {
        var tokens = Path.GetTempFileName();
        await File.WriteAllTextAsync(tokens, "sidecars otlp-http-token-1\n");
        try
        {
            await using var daemon = new TestDaemon(Policy, new Dictionary<string, string?> { ["GateStream:Ingest:TokensFile"] = tokens });
            await daemon.StartAsync();
            var endpoint = new Uri($"http://127.0.0.1:{daemon.HttpPort}");
            using var anonymous = new HttpClient { BaseAddress = endpoint };
            var request = OtlpReceiverTests.Request(("checkout", "v3", 5)).ToByteArray();

            using var refused = await anonymous.PostAsync(new Uri("/v1/traces", UriKind.Relative), Body(request, "application/x-protobuf"));
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            Assert.Equal("Bearer", refused.Headers.WwwAuthenticate.ToString());

            using var service = new OtelService(endpoint, "checkout", "v3", headers: "Authorization=Bearer otlp-http-token-1", protocol: OtlpExportProtocol.HttpProtobuf);
            service.Span(DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(5));
            service.Flush();
            var count = await daemon.WaitForAsync("checkout", "v3", s => Tuple.Create(s.Requests.LifetimeRequests), c => c.Item1 >= 1);
            Assert.Equal(1L, count?.Item1);
            Assert.Contains("gatestream_auth_refused_total{listener=\"otlp\",reason=\"missing_token\"} 1", await daemon.MetricsTextAsync(), StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(tokens);
        }
    }

    private static ByteArrayContent Body(byte[] bytes, string mediaType)
    {
        var content = new ByteArrayContent(bytes);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return content;
    }

    private static ByteArrayContent Gzip(byte[] bytes, string mediaType)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(bytes);
        }

        var content = Body(compressed.ToArray(), mediaType);
        content.Headers.ContentEncoding.Add("gzip");
        return content;
    }

    /// <summary>google.rpc.Status { int32 code = 1; string message = 2; }, read with protobuf's own decoder.</summary>
    private static (int Code, string Message) RpcStatus(byte[] bytes)
    {
        var input = new CodedInputStream(bytes);
        int code = 0;
        var message = string.Empty;
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            switch (WireFormat.GetTagFieldNumber(tag))
            {
                case 1: code = input.ReadInt32(); break;
                case 2: message = input.ReadString(); break;
                default: input.SkipLastField(); break;
            }
        }

        return (code, message);
    }
}
