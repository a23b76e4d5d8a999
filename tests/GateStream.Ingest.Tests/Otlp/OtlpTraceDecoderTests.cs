using System.Buffers;
using GateStream.Contracts.Otlp.Common.V1;
using GateStream.Contracts.Otlp.Trace.V1;
using GateStream.Ingest.Otlp;
using Google.Protobuf;
using static GateStream.Ingest.Tests.Otlp.OtlpRequests;
using SpanKind = GateStream.Contracts.Otlp.Trace.V1.Span.Types.SpanKind;
using StatusCode = GateStream.Contracts.Otlp.Trace.V1.Status.Types.StatusCode;

namespace GateStream.Ingest.Tests.Otlp;

public class OtlpTraceDecoderTests
{
    [Fact]
    public void Server_and_consumer_spans_become_requests_with_exact_counts_errors_and_latencies_per_version()
    {
        var v1 = new List<Span>();
        for (var i = 0; i < 100; i++)
        {
            // 7 errors by span status, 5 by the stable HTTP attribute, 3 by the older one as a string; 4xx are not errors.
            var status = i < 7 ? StatusCode.Error : StatusCode.Ok;
            KeyValue[] http = i switch
            {
                >= 10 and < 15 => [Attr("http.response.status_code", 503)],
                >= 20 and < 23 => [Attr("http.status_code", "500")],
                >= 30 and < 40 => [Attr("http.response.status_code", 404)],
                _ => [Attr("http.response.status_code", 200)],
            };
            v1.Add(Span(endMicros: i * 1_000, latencyMicros: 1_000 + i, SpanKind.Server, status, http));
        }

        var noise = new[]
        {
            Span(5_000, 10, SpanKind.Client, StatusCode.Error),
            Span(5_000, 10, SpanKind.Internal),
            Span(5_000, 10, SpanKind.Producer),
            Span(5_000, 10, SpanKind.Unspecified),
        };
        var v2 = new List<Span>();
        for (var i = 0; i < 50; i++)
        {
            v2.Add(Span(i * 2_000, 20_000, i % 2 == 0 ? SpanKind.Server : SpanKind.Consumer, i % 10 == 0 ? StatusCode.Error : StatusCode.Unset));
        }

        var request = Traces(
            Spans(Resource("checkout", "v1"), [.. v1, .. noise]),
            Spans(Resource("checkout", "v2"), [.. v2]));
        var sink = new CollectingSink();

        Assert.True(sink.Decoder().TryDecodeTraces(request.ToByteArray(), sink, out var result));

        Assert.Equal(new OtlpDecodeResult(Accepted: 150, Rejected: 0, Ignored: 4, ErrorMessage: null), result);
        var perVersion = sink.PerVersion();
        Assert.Equal((100, 15), perVersion["checkout/v1"]);
        Assert.Equal((50, 5), perVersion["checkout/v2"]);
        var first = sink.Events[0];
        Assert.Equal("otlp", first.Source);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => 1_000L + i), first.Latencies);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => (long)(Epoch / 1_000) + (i * 1_000L)), first.Times);
        Assert.Equal(Enumerable.Range(0, 100).Select(i => i < 7 || i is >= 10 and < 15 or >= 20 and < 23), first.Errors);
        Assert.All(sink.Events[1].Latencies, l => Assert.Equal(20_000, l));
    }

    [Fact]
    public void The_first_configured_status_attribute_wins_wherever_it_is_on_the_span()
    {
        var spans = new[]
        {
            Span(1, 100, attributes: [Attr("http.status_code", 500), Attr("http.response.status_code", 200)]),
            Span(2, 100, attributes: [Attr("http.response.status_code", 200), Attr("http.status_code", 500)]),
            Span(3, 100, attributes: [Attr("http.status_code", 502)]),
            Span(4, 100, attributes: [Attr("http.response.status_code", 499)]),
            Span(5, 100, attributes: [Attr("http.response.status_code", "not a number")]),
            Span(6, 100, SpanKind.Server, StatusCode.Ok, Attr("http.response.status_code", 500)),
            Span(7, 100, attributes: [new KeyValue { Key = "http.response.status_code", Value = new() { DoubleValue = 504 } }]),
        };
        var sink = new CollectingSink();

        Assert.True(sink.Decoder().TryDecodeTraces(Traces(Spans(Resource("api", "1.2.3"), spans)).ToByteArray(), sink, out _));

        Assert.Equal([false, false, true, false, false, true, true], sink.Events.Single().Errors);
    }

    [Fact]
    public void Attribute_names_kinds_and_the_error_threshold_are_configurable()
    {
        var options = new OtlpOptions
        {
            DeploymentAttribute = "k8s.deployment.name",
            VersionAttribute = "app.revision",
            SpanKinds = OtlpSpanKinds.Client,
            StatusAttributes = ["app.status"],
            ErrorStatusCode = 400,
        };
        var resource = Resource("ignored", "ignored", Attr("k8s.deployment.name", "payments"), Attr("app.revision", "r7"));
        var request = Traces(Spans(resource,
            Span(1, 10, SpanKind.Client, attributes: [Attr("app.status", 404)]),
            Span(2, 10, SpanKind.Client, attributes: [Attr("http.response.status_code", 500)]),
            Span(3, 10, SpanKind.Server)));
        var sink = new CollectingSink();

        Assert.True(sink.Decoder(options).TryDecodeTraces(request.ToByteArray(), sink, out var result));

        Assert.Equal((2L, 1L), (result.Accepted, result.Ignored));
        var batch = Assert.Single(sink.Events);
        Assert.Equal(("payments", "r7"), (batch.Deployment, batch.Version));
        Assert.Equal([true, false], batch.Errors);
    }

    [Fact]
    public void A_resource_that_follows_its_spans_on_the_wire_still_keys_them()
    {
        var spansOnly = Spans(null, Span(1, 10), Span(2, 10));
        var resourceOnly = new ResourceSpans { Resource = Resource("checkout", "v9") };
        // Concatenated encodings of one message merge: this is one ResourceSpans whose resource comes last.
        var resourceSpans = spansOnly.ToByteArray().Concat(resourceOnly.ToByteArray()).ToArray();
        var request = Wire.LengthDelimited(1, resourceSpans);
        var sink = new CollectingSink();

        Assert.True(sink.Decoder().TryDecodeTraces(request, sink, out var result));

        Assert.Equal(2, result.Accepted);
        Assert.Equal(("checkout", "v9"), (sink.Events[0].Deployment, sink.Events[0].Version));
    }

    [Fact]
    public void Each_resource_is_its_own_batch_and_a_large_one_is_split()
    {
        var many = Enumerable.Range(0, 25).Select(i => Span(i, 10)).ToArray();
        var request = Traces(Spans(Resource("a", "1"), many), Spans(Resource("a", "1"), Span(1, 1)), Spans(Resource("b", "1"), Span(1, 1)));
        var sink = new CollectingSink();

        Assert.True(sink.Decoder(new OtlpOptions { MaxEventsPerBatch = 10 }).TryDecodeTraces(request.ToByteArray(), sink, out var result));

        Assert.Equal(27, result.Accepted);
        Assert.Equal([10, 10, 5, 1, 1], sink.Events.Select(e => e.Times.Length));
        Assert.Equal(["a", "a", "a", "a", "b"], sink.Events.Select(e => e.Deployment));
    }

    [Fact]
    public void Spans_of_a_resource_without_version_are_rejected_with_a_message_naming_the_attribute()
    {
        var request = Traces(
            Spans(Resource("checkout", "v1"), Span(1, 10), Span(2, 10)),
            Spans(Resource("checkout", null), Span(1, 10), Span(2, 10), Span(3, 10), Span(3, 10, SpanKind.Client)),
            Spans(null, Span(1, 10)));
        var sink = new CollectingSink();

        Assert.True(sink.Decoder().TryDecodeTraces(request.ToByteArray(), sink, out var result));

        Assert.Equal((2L, 4L, 1L, false), (result.Accepted, result.Rejected, result.Ignored, result.Malformed));
        Assert.Equal("resource_spans[1] (service.name=checkout): resource attribute 'service.version' is missing; its 3 spans were rejected", result.ErrorMessage);
        Assert.Equal("v1", Assert.Single(sink.Events).Version);
    }

    [Theory]
    [InlineData("service.name", "is missing")]
    [InlineData("huge", "is 300 bytes, over the 256-byte limit")]
    [InlineData("empty", "is empty")]
    [InlineData("int", "is not a string")]
    [InlineData("control", "is not valid UTF-8 or contains control characters")]
    public void Bad_deployment_attributes_reject_the_resource_with_a_clear_message(string what, string expected)
    {
        var resource = Resource(null, "v1");
        switch (what)
        {
            case "huge":
                resource.Attributes.Add(Attr("service.name", new string('x', 300)));
                break;
            case "empty":
                resource.Attributes.Add(Attr("service.name", ""));
                break;
            case "int":
                resource.Attributes.Add(Attr("service.name", 42));
                break;
            case "control":
                resource.Attributes.Add(Attr("service.name", "check\nout"));
                break;
        }

        var sink = new CollectingSink();

        Assert.True(sink.Decoder().TryDecodeTraces(Traces(Spans(resource, Span(1, 10))).ToByteArray(), sink, out var result));

        Assert.Equal((0L, 1L), (result.Accepted, result.Rejected));
        Assert.Equal($"resource_spans[0]: resource attribute 'service.name' {expected}; its 1 spans were rejected", result.ErrorMessage);
        Assert.Empty(sink.Events);
    }

    [Fact]
    public void A_version_at_the_limit_is_accepted_and_one_byte_over_it_is_not()
    {
        var sink = new CollectingSink();
        var request = Traces(
            Spans(Resource("api", new string('v', 256)), Span(1, 10)),
            Spans(Resource("api", new string('v', 257)), Span(1, 10)));

        Assert.True(sink.Decoder().TryDecodeTraces(request.ToByteArray(), sink, out var result));

        Assert.Equal((1L, 1L), (result.Accepted, result.Rejected));
        Assert.Contains("'service.version' is 257 bytes, over the 256-byte limit", result.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Spans_without_usable_times_are_rejected_and_the_rest_accepted()
    {
        var backwards = Span(1, 10);
        (backwards.StartTimeUnixNano, backwards.EndTimeUnixNano) = (backwards.EndTimeUnixNano, backwards.StartTimeUnixNano);
        var unstarted = Span(1, 10);
        unstarted.StartTimeUnixNano = 0;
        var sink = new CollectingSink();

        Assert.True(sink.Decoder().TryDecodeTraces(Traces(Spans(Resource("api", "1"), Span(1, 10), backwards, unstarted)).ToByteArray(), sink, out var result));

        Assert.Equal((1L, 2L), (result.Accepted, result.Rejected));
        Assert.StartsWith("resource_spans[0]: the span at byte ", result.ErrorMessage, StringComparison.Ordinal);
        Assert.Contains("ending no earlier than it starts", result.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_request_is_a_success_with_nothing_in_it()
    {
        var sink = new CollectingSink();

        Assert.True(sink.Decoder().TryDecodeTraces([], sink, out var result));

        Assert.Equal(default, result);
        Assert.Empty(sink.Events);
    }

    [Fact]
    public void A_request_split_over_many_segments_decodes_like_a_contiguous_one()
    {
        var request = Traces(Spans(Resource("checkout", "v1"), [.. Enumerable.Range(0, 40).Select(i => Span(i, i, status: i % 3 == 0 ? StatusCode.Error : StatusCode.Unset))]))
            .ToByteArray();
        var whole = new CollectingSink();
        var split = new CollectingSink();

        Assert.True(whole.Decoder().TryDecodeTraces(request, whole, out var expected));
        Assert.True(split.Decoder().TryDecodeTraces(Segments.Split(request, 7), split, out var actual));

        Assert.Equal(expected, actual);
        Assert.Equal(whole.Events.Single().Latencies, split.Events.Single().Latencies);
        Assert.Equal(whole.Events.Single().Errors, split.Events.Single().Errors);
    }

    [Fact]
    public void A_decoder_is_reusable_and_one_request_does_not_leak_into_the_next()
    {
        var sink = new CollectingSink();
        var decoder = sink.Decoder();

        Assert.True(decoder.TryDecodeTraces(Traces(Spans(Resource("a", null), Span(1, 1))).ToByteArray(), sink, out var bad));
        Assert.False(decoder.TryDecodeTraces(new byte[] { 0x0A, 0x05, 0x01 }, sink, out var malformed));
        Assert.True(decoder.TryDecodeTraces(Traces(Spans(Resource("a", "1"), Span(1, 1))).ToByteArray(), sink, out var good));

        Assert.Equal(1, bad.Rejected);
        Assert.True(malformed.Malformed);
        Assert.Equal(new OtlpDecodeResult(1, 0, 0, null), good);
    }
}

/// <summary>A <see cref="ReadOnlySequence{T}"/> over several segments, as a pipe hands over a large message.</summary>
internal sealed class Segments : ReadOnlySequenceSegment<byte>
{
    private Segments(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    public static ReadOnlySequence<byte> Split(byte[] data, int size)
    {
        if (data.Length <= size)
        {
            return new ReadOnlySequence<byte>(data);
        }

        var first = new Segments(data.AsMemory(0, size), 0);
        var last = first;
        for (var offset = size; offset < data.Length; offset += size)
        {
            var next = new Segments(data.AsMemory(offset, Math.Min(size, data.Length - offset)), offset);
            last.Next = next;
            last = next;
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
