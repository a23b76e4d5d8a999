using System.Text;
using GateStream.Contracts.Otlp.Collector.Trace.V1;
using GateStream.Ingest.Otlp;
using Google.Protobuf;
using static GateStream.Ingest.Tests.Otlp.OtlpRequests;
using static GateStream.Ingest.Tests.Otlp.Wire;
using SpanKind = GateStream.Contracts.Otlp.Trace.V1.Span.Types.SpanKind;

namespace GateStream.Ingest.Tests.Otlp;

/// <summary>
/// The span reader takes shortcuts for the layout exporters write and hands every other field to the checking reader:
/// both must read the same request the same way, and the shortcuts must refuse nothing less than the reader does.
/// </summary>
public class OtlpSpanLayoutTests
{
    private static readonly byte[] Resource = OtlpRequests.Resource("checkout", "v1").ToByteArray();

    [Fact]
    public void Spans_in_any_field_order_with_long_lengths_and_unusual_encodings_decode_like_the_usual_layout()
    {
        // Three requests of 200 ms from the end time 5,000 µs after the epoch; the HTTP status decides the error.
        var end = Epoch + 5_000_000UL;
        var start = end - 200_000_000UL;
        byte[][] spans =
        [
            // Status attribute written value first, then key; attributes after the times.
            [
                .. Fixed64Field(8, end), .. Fixed64Field(7, start), .. VarintField(6, (ulong)SpanKind.Server),
                .. LengthDelimited(9, [.. LengthDelimited(2, VarintField(3, 503)), .. LengthDelimited(1, "http.response.status_code"u8.ToArray())]),
            ],
            // Kind as a two-byte varint, a 300-byte and a 20,000-byte attribute (two- and three-byte lengths), flags (a two-byte tag).
            [
                .. Tag(6, 0), 0x82, 0x00, .. Fixed32Field(16, 1),
                .. LengthDelimited(9, KeyValue("user_agent.original", LengthDelimited(1, Encoding.UTF8.GetBytes(new string('a', 300))))),
                .. LengthDelimited(9, KeyValue("http.request.body", LengthDelimited(1, new byte[20_000]))),
                .. Fixed64Field(7, start), .. Fixed64Field(8, end),
                .. LengthDelimited(9, KeyValue("http.response.status_code", VarintField(3, 500))),
            ],
            // The usual layout, with a key of 200 bytes (a two-byte key length the shortcut leaves to the reader) and an empty KeyValue.
            [
                .. LengthDelimited(1, new byte[16]), .. LengthDelimited(5, "GET /"u8.ToArray()), .. VarintField(6, (ulong)SpanKind.Server),
                .. Fixed64Field(7, start), .. Fixed64Field(8, end), .. LengthDelimited(9, []),
                .. LengthDelimited(9, KeyValue(new string('k', 200), VarintField(3, 503))),
                .. LengthDelimited(9, KeyValue("http.response.status_code", VarintField(3, 200))),
            ],
        ];
        var request = Request(spans);
        Assert.Equal(3, ExportTraceServiceRequest.Parser.ParseFrom(request).ResourceSpans[0].ScopeSpans[0].Spans.Count);
        var sink = new CollectingSink();

        Assert.True(sink.Decoder().TryDecodeTraces(request, sink, out var result), result.ErrorMessage);

        Assert.Equal(new OtlpDecodeResult(3, 0, 0, null), result);
        var batch = Assert.Single(sink.Events);
        Assert.Equal(new long[] { 200_000, 200_000, 200_000 }, batch.Latencies);
        Assert.Equal(new[] { true, true, false }, batch.Errors);
    }

    [Theory]
    [InlineData("value with invalid wire type 7", new byte[] { 0x17, 0x00 }, "field 2 in KeyValue at byte {0} has invalid wire type 7")]
    [InlineData("value longer than the KeyValue", new byte[] { 0x12, 0x05, 0x08 }, "field 2 in KeyValue at byte {1} declares 5 bytes but only 1 remain")]
    [InlineData("value as a varint", new byte[] { 0x10, 0x01 }, "field 2 (value) in KeyValue at byte {0} has wire type 0 (varint), expected 2 (length-delimited)")]
    [InlineData("field 0 after the value", new byte[] { 0x12, 0x00, 0x00 }, "invalid field number 0 in KeyValue at byte {2}")]
    public void An_attribute_whose_key_is_not_wanted_is_still_checked_to_its_end(string what, byte[] afterKey, string expected)
    {
        _ = what;
        byte[] key = LengthDelimited(1, "url.path"u8.ToArray());
        byte[] attribute = LengthDelimited(9, [.. key, .. afterKey]);
        byte[] span = [.. VarintField(6, (ulong)SpanKind.Server), .. attribute];
        var request = Request([span]);
        // Where the KeyValue's bytes after its key start in the request.
        var at = request.Length - afterKey.Length;
        var sink = new CollectingSink();

        Assert.False(sink.Decoder().TryDecodeTraces(request, sink, out var result));

        Assert.True(result.Malformed);
        Assert.Equal("malformed ExportTraceServiceRequest: " + string.Format(System.Globalization.CultureInfo.InvariantCulture, expected, at, at + 1, at + 2), result.ErrorMessage);
        Assert.Empty(sink.Events);
    }

    private static byte[] KeyValue(string key, byte[] anyValue) => [.. LengthDelimited(1, Encoding.UTF8.GetBytes(key)), .. LengthDelimited(2, anyValue)];

    private static byte[] Request(byte[][] spans)
    {
        byte[] scope = [.. spans.SelectMany(span => LengthDelimited(2, span))];
        byte[] resourceSpans = [.. LengthDelimited(1, Resource), .. LengthDelimited(2, scope)];
        return LengthDelimited(1, resourceSpans);
    }
}
