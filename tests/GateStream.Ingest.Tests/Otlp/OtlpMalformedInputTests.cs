using System.Globalization;
using System.Text;
using GateStream.Contracts.Otlp.Collector.Trace.V1;
using GateStream.Contracts.Otlp.Common.V1;
using GateStream.Contracts.Otlp.Metrics.V1;
using GateStream.Contracts.Otlp.Trace.V1;
using GateStream.Ingest.Otlp;
using Google.Protobuf;
using static GateStream.Ingest.Tests.Otlp.OtlpRequests;
using static GateStream.Ingest.Tests.Otlp.Wire;
using SpanKind = GateStream.Contracts.Otlp.Trace.V1.Span.Types.SpanKind;
using StatusCode = GateStream.Contracts.Otlp.Trace.V1.Status.Types.StatusCode;

namespace GateStream.Ingest.Tests.Otlp;

/// <summary>Bad bytes: every one gets a result naming what and where, nothing is posted, nothing throws.</summary>
public class OtlpMalformedInputTests
{
    private const string Traces = "malformed ExportTraceServiceRequest: ";

    [Theory]
    [InlineData(new byte[] { 0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, "varint longer than 10 bytes in field 1 in ExportTraceServiceRequest at byte 1")]
    [InlineData(new byte[] { 0x0A, 0x80 }, "truncated varint in field 1 in ExportTraceServiceRequest at byte 1 (only 1 bytes left)")]
    [InlineData(new byte[] { 0x0A, 0x64, 1, 2, 3 }, "field 1 in ExportTraceServiceRequest at byte 1 declares 100 bytes but only 3 remain")]
    [InlineData(new byte[] { 0x0B, 0x0C }, "field 1 in ExportTraceServiceRequest at byte 0 has group wire type 3, which OTLP does not use")]
    [InlineData(new byte[] { 0x54 }, "field 10 in ExportTraceServiceRequest at byte 0 has group wire type 4, which OTLP does not use")]
    [InlineData(new byte[] { 0x0F, 0x00 }, "field 1 in ExportTraceServiceRequest at byte 0 has invalid wire type 7")]
    [InlineData(new byte[] { 0x02, 0x00 }, "invalid field number 0 in ExportTraceServiceRequest at byte 0")]
    [InlineData(new byte[] { 0x08, 0x01 }, "field 1 (resource_spans) in ExportTraceServiceRequest at byte 0 has wire type 0 (varint), expected 2 (length-delimited)")]
    [InlineData(new byte[] { 0x19, 1, 2, 3 }, "truncated 8-byte value of field 3 in ExportTraceServiceRequest at byte 1 (only 3 bytes left)")]
    [InlineData(new byte[] { 0x80 }, "truncated varint in ExportTraceServiceRequest at byte 0 (only 1 bytes left)")]
    public void Framing_errors_are_described_with_their_byte_offset(byte[] request, string expected)
    {
        var sink = new CollectingSink();

        Assert.False(sink.Decoder().TryDecodeTraces(request, sink, out var result));

        Assert.Equal(new OtlpDecodeResult(0, 0, 0, Traces + expected, Malformed: true), result);
    }

    [Fact]
    public void A_known_field_with_the_wrong_wire_type_deep_in_a_span_is_named_at_its_offset()
    {
        byte[] span = [.. Fixed64Field(7, Epoch), .. Fixed64Field(8, Epoch + 5_000), .. Fixed64Field(6, 2)];
        var request = LengthDelimited(1, [.. Message(1, Resource("checkout", "v1")), .. LengthDelimited(2, LengthDelimited(2, span))]);
        var tagOffset = request.Length - 9;
        var sink = new CollectingSink();

        Assert.False(sink.Decoder().TryDecodeTraces(request, sink, out var result));

        Assert.Equal($"{Traces}field 6 (kind) in Span at byte {tagOffset} has wire type 1 (64-bit), expected 0 (varint)", result.ErrorMessage);
    }

    [Fact]
    public void A_bad_request_posts_nothing_even_after_good_resources()
    {
        var good = Traces(Spans(Resource("checkout", "v1"), Span(1, 10), Span(2, 10))).ToByteArray();
        byte[] request = [.. good, .. LengthDelimited(1, [.. LengthDelimited(2, [0x12, 0x05, 0x01])])];
        var sink = new CollectingSink();

        Assert.False(sink.Decoder().TryDecodeTraces(request, sink, out var result));

        Assert.True(result.Malformed);
        Assert.Contains($"field 2 in ScopeSpans at byte {good.Length + 5} declares 5 bytes but only 1 remain", result.ErrorMessage, StringComparison.Ordinal);
        Assert.Empty(sink.Events);
    }

    [Fact]
    public void Unknown_fields_of_every_wire_type_are_skipped_at_every_level()
    {
        byte[] anyValue = [.. UnknownFields(), .. VarintField(3, 503), .. UnknownFields(950)];
        byte[] status = [.. KeyValueBytes("http.response.status_code", anyValue)];
        byte[] span = [.. UnknownFields(), .. Span(1, 10).ToByteArray(), .. LengthDelimited(9, status), .. LengthDelimited(15, [.. UnknownFields(), .. VarintField(3, 1)]), .. UnknownFields(950)];
        byte[] scope = [.. UnknownFields(), .. Message(1, new InstrumentationScope { Name = "s" }), .. LengthDelimited(2, span), .. UnknownFields(950)];
        byte[] resource =
        [
            .. UnknownFields(),
            .. LengthDelimited(1, KeyValueBytes("service.name", [.. UnknownFields(), .. LengthDelimited(1, "checkout"u8.ToArray())])),
            .. LengthDelimited(1, KeyValueBytes("service.version", LengthDelimited(1, "v1"u8.ToArray()))),
            .. UnknownFields(950),
        ];
        byte[] resourceSpans = [.. UnknownFields(), .. LengthDelimited(1, resource), .. LengthDelimited(2, scope), .. UnknownFields(950)];
        byte[] request = [.. UnknownFields(), .. LengthDelimited(1, resourceSpans), .. UnknownFields(950)];
        // The generated parser agrees the bytes are a valid request with those values.
        var parsed = ExportTraceServiceRequest.Parser.ParseFrom(request);
        Assert.Equal("checkout", parsed.ResourceSpans[0].Resource.Attributes[0].Value.StringValue);
        Assert.Equal(503, parsed.ResourceSpans[0].ScopeSpans[0].Spans[0].Attributes[^1].Value.IntValue);
        var sink = new CollectingSink();

        Assert.True(sink.Decoder().TryDecodeTraces(request, sink, out var result));

        Assert.Equal(new OtlpDecodeResult(1, 0, 0, null), result);
        var batch = Assert.Single(sink.Events);
        Assert.Equal(("checkout", "v1", 10L, true), (batch.Deployment, batch.Version, batch.Latencies[0], batch.Errors[0]));

        static byte[] KeyValueBytes(string key, byte[] value) =>
            [.. UnknownFields(), .. LengthDelimited(1, Encoding.UTF8.GetBytes(key)), .. UnknownFields(960), .. LengthDelimited(2, value)];
    }

    [Fact]
    public void Unknown_fields_in_metrics_are_skipped_too()
    {
        byte[] point = [.. UnknownFields(), .. Point(1, 4.5).ToByteArray(), .. UnknownFields(950)];
        byte[] gauge = [.. UnknownFields(), .. LengthDelimited(1, point), .. UnknownFields(950)];
        byte[] metric = [.. UnknownFields(), .. LengthDelimited(1, "lag"u8.ToArray()), .. LengthDelimited(5, gauge), .. UnknownFields(950)];
        byte[] scope = [.. UnknownFields(), .. LengthDelimited(2, metric)];
        byte[] resourceMetrics = [.. Message(1, Resource("db", "v3")), .. UnknownFields(), .. LengthDelimited(2, scope)];
        byte[] request = [.. UnknownFields(), .. LengthDelimited(1, resourceMetrics), .. UnknownFields(950)];
        _ = GateStream.Contracts.Otlp.Collector.Metrics.V1.ExportMetricsServiceRequest.Parser.ParseFrom(request);
        var sink = new CollectingSink();

        Assert.True(sink.Decoder().TryDecodeMetrics(request, sink, out var result));

        Assert.Equal(1, result.Accepted);
        Assert.Equal(4.5, Assert.Single(Assert.Single(sink.Samples).Samples).Value);
    }

    [Fact]
    public void Every_truncation_of_a_valid_trace_request_is_refused_or_read_as_a_prefix_and_never_throws()
    {
        var request = RichTraces().ToByteArray();
        var full = Decode(request, traces: true);
        Assert.True(full.Result.Accepted > 0);
        var refused = 0;
        for (var length = 0; length < request.Length; length++)
        {
            var (ok, result, posted, _) = Decode(request.AsSpan(0, length).ToArray(), traces: true);
            if (ok)
            {
                // A cut between two resource_spans is a shorter valid request.
                Assert.True(result.Accepted <= full.Result.Accepted, $"length {length}");
                continue;
            }

            refused++;
            AssertRefused(result, posted, "ExportTraceServiceRequest", length);
        }

        Assert.True(refused >= request.Length - 3, $"{refused} of {request.Length} truncations refused");
    }

    [Fact]
    public void Every_truncation_of_a_valid_metrics_request_is_refused_or_read_as_a_prefix_and_never_throws()
    {
        var request = MetricsRequest(
            Metrics(Resource("db", "v1"), Gauge("lag", Point(1, 1), IntPoint(2, 2)), Histogram("q", AggregationTemporality.Delta, 3, 4, 5)),
            Metrics(Resource("db", "v2"), Sum("n", AggregationTemporality.Cumulative, true, Point(1, 1)))).ToByteArray();
        var full = Decode(request, traces: false);
        Assert.Equal(4, full.Result.Accepted);
        for (var length = 0; length < request.Length; length++)
        {
            var (ok, result, posted, _) = Decode(request.AsSpan(0, length).ToArray(), traces: false);
            if (ok)
            {
                Assert.True(result.Accepted <= full.Result.Accepted, $"length {length}");
            }
            else
            {
                AssertRefused(result, posted, "ExportMetricsServiceRequest", length);
            }
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    [InlineData(5)]
    public void Random_garbage_is_refused_cleanly(int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < 500; i++)
        {
            var garbage = new byte[random.Next(0, 600)];
            random.NextBytes(garbage);
            foreach (var traces in new[] { true, false })
            {
                var (ok, result, posted, _) = Decode(garbage, traces);
                if (!ok)
                {
                    AssertRefused(result, posted, traces ? "ExportTraceServiceRequest" : "ExportMetricsServiceRequest", garbage.Length);
                }
            }
        }
    }

    /// <summary>
    /// Corrupts a few bytes of a valid request. Whatever the generated parser still reads as a request, the decoder
    /// reads too (once re-encoded), and its counts match a model of the mapping over the parsed message.
    /// </summary>
    [Theory]
    [InlineData(11)]
    [InlineData(12)]
    [InlineData(13)]
    public void Corrupted_requests_are_refused_cleanly_or_counted_like_the_generated_parser_reads_them(int seed)
    {
        var random = new Random(seed);
        var valid = RichTraces().ToByteArray();
        var parsedByBoth = 0;
        for (var i = 0; i < 1_500; i++)
        {
            var corrupt = (byte[])valid.Clone();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
            {
                corrupt[random.Next(corrupt.Length)] = (byte)random.Next(256);
            }

            var (ok, result, posted, _) = Decode(corrupt, traces: true);
            if (!ok)
            {
                AssertRefused(result, posted, "ExportTraceServiceRequest", corrupt.Length);
            }

            ExportTraceServiceRequest parsed;
            try
            {
                parsed = ExportTraceServiceRequest.Parser.WithDiscardUnknownFields(true).ParseFrom(corrupt);
            }
            catch (InvalidProtocolBufferException)
            {
                continue;
            }

            var canonical = Decode(parsed.ToByteArray(), traces: true);
            Assert.True(canonical.Ok, canonical.Result.ErrorMessage);
            Assert.Equal(Model(parsed), (canonical.Result.Accepted, canonical.Result.Rejected, canonical.Result.Ignored, canonical.Errors));
            parsedByBoth++;
        }

        Assert.True(parsedByBoth > 100, $"only {parsedByBoth} corrupted requests still parsed");
    }

    private static (long Accepted, long Rejected, long Ignored, int Errors) Model(ExportTraceServiceRequest request)
    {
        long accepted = 0, rejected = 0, ignored = 0;
        var errors = 0;
        foreach (var resource in request.ResourceSpans)
        {
            var attributes = resource.Resource?.Attributes ?? [];
            var deployment = attributes.LastOrDefault(a => a.Key == "service.name")?.Value;
            var version = attributes.LastOrDefault(a => a.Key == "service.version")?.Value;
            var keyOk = Usable(deployment) && Usable(version);
            foreach (var span in resource.ScopeSpans.SelectMany(s => s.Spans))
            {
                if (span.Kind is not (SpanKind.Server or SpanKind.Consumer))
                {
                    ignored++;
                }
                else if (!keyOk || span.StartTimeUnixNano == 0 || span.EndTimeUnixNano < span.StartTimeUnixNano)
                {
                    rejected++;
                }
                else
                {
                    accepted++;
                    var http = span.Attributes.FirstOrDefault(a => a.Key == "http.response.status_code" && a.Value?.ValueCase == AnyValue.ValueOneofCase.IntValue)
                        ?? span.Attributes.FirstOrDefault(a => a.Key == "http.status_code" && a.Value?.ValueCase == AnyValue.ValueOneofCase.IntValue);
                    if (span.Status?.Code == StatusCode.Error || http?.Value.IntValue >= 500)
                    {
                        errors++;
                    }
                }
            }
        }

        return (accepted, rejected, ignored, errors);

        static bool Usable(AnyValue? value) =>
            value?.ValueCase == AnyValue.ValueOneofCase.StringValue && value.StringValue.Length > 0
            && Encoding.UTF8.GetByteCount(value.StringValue) <= 256 && !value.StringValue.Any(char.IsControl);
    }

    private static ExportTraceServiceRequest RichTraces() => OtlpRequests.Traces(
        Spans(Resource("checkout", "v1"),
            Span(1, 10, SpanKind.Server, StatusCode.Error),
            Span(2, 20, SpanKind.Server, StatusCode.Unset, Attr("http.response.status_code", 503)),
            Span(3, 30, SpanKind.Client),
            Span(4, 40, SpanKind.Consumer, StatusCode.Ok, Attr("http.status_code", 200))),
        Spans(Resource("checkout", "v2"), Span(5, 50), Span(6, 60, SpanKind.Internal)),
        Spans(Resource("checkout", null), Span(7, 70)));

    private static (bool Ok, OtlpDecodeResult Result, int Posted, int Errors) Decode(byte[] request, bool traces)
    {
        var sink = new CollectingSink();
        var decoder = sink.Decoder();
        var ok = traces ? decoder.TryDecodeTraces(request, sink, out var result) : decoder.TryDecodeMetrics(request, sink, out result);
        return (ok, result, sink.Events.Count + sink.Samples.Count, sink.Events.Sum(e => e.Errors.Count(x => x)));
    }

    private static void AssertRefused(OtlpDecodeResult result, int posted, string request, int length)
    {
        Assert.True(result.Malformed);
        Assert.Equal(0, posted);
        Assert.Equal((0L, 0L, 0L), (result.Accepted, result.Rejected, result.Ignored));
        Assert.StartsWith($"malformed {request}: ", result.ErrorMessage, StringComparison.Ordinal);
        Assert.DoesNotContain("the decoder failed", result.ErrorMessage, StringComparison.Ordinal);
        var at = result.ErrorMessage!.IndexOf(" at byte ", StringComparison.Ordinal);
        Assert.True(at > 0, result.ErrorMessage);
        var digits = new string([.. result.ErrorMessage[(at + 9)..].TakeWhile(char.IsAsciiDigit)]);
        var offset = int.Parse(digits, CultureInfo.InvariantCulture);
        Assert.InRange(offset, 0, length);
    }
}
