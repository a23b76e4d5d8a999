using Confluent.Kafka;
using GateStream.Core.Events;
using GateStream.Ingest.Kafka;
using GateStream.Ingest.Otlp;
using Google.Protobuf;
using GateStream.Contracts.Otlp.Collector.Trace.V1;
using GateStream.Contracts.Otlp.Common.V1;
using GateStream.Contracts.Otlp.Resource.V1;
using GateStream.Contracts.Otlp.Trace.V1;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Ingest.Tests.Kafka;

public class KafkaMessageDeserializerTests
{
    private readonly BatchPool<EventBatch> _events = BatchPools.CreateEventPool();
    private readonly BatchPool<MetricSampleBatch> _metrics = BatchPools.CreateMetricPool();

    private KafkaMessageDeserializer Deserializer(params KafkaTopic[] topics)
    {
        var otlp = OtlpOptions.Default with { Source = "kafka" };
        return new KafkaMessageDeserializer(
            KafkaMessageDeserializer.DecodersFor(topics, t => t.Encoding switch
            {
                KafkaEncoding.GateStream => new NativeMessageDecoder(),
                KafkaEncoding.Otlp => new OtlpMessageDecoder(new OtlpDecoder(otlp, _events, _metrics), t.Signal),
                _ => new JsonEventDecoder(),
            }),
            new DecodedMessage(_events, _metrics));
    }

    private static SerializationContext On(string topic) => new(MessageComponentType.Value, topic);

    private static byte[] Native(string deployment, string version, int count)
    {
        var batch = new V1.EventBatch { Deployment = deployment, Version = version, BaseTimeUnixMicros = 1_800_000_000_000_000 };
        for (var i = 0; i < count; i++)
        {
            batch.TimeDeltasMicros.Add(1_000);
            batch.LatencyMicros.Add(2_000);
            batch.StatusCodes.Add(i == 0 ? 500u : 200u);
        }

        return batch.ToByteArray();
    }

    private static byte[] Traces(params (string? Deployment, int Spans)[] resources)
    {
        var request = new ExportTraceServiceRequest();
        foreach (var (deployment, spans) in resources)
        {
            var resource = new Resource();
            if (deployment is not null)
            {
                resource.Attributes.Add(new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = deployment } });
            }

            resource.Attributes.Add(new KeyValue { Key = "service.version", Value = new AnyValue { StringValue = "v2" } });
            var scope = new ScopeSpans();
            for (var i = 0; i < spans; i++)
            {
                scope.Spans.Add(new Span
                {
                    Kind = Span.Types.SpanKind.Server,
                    StartTimeUnixNano = 1_800_000_000_000_000_000UL + ((ulong)i * 1_000_000UL),
                    EndTimeUnixNano = 1_800_000_000_000_000_000UL + ((ulong)i * 1_000_000UL) + 3_000_000UL,
                    Status = new Status { Code = i == 0 ? Status.Types.StatusCode.Error : Status.Types.StatusCode.Unset },
                });
            }

            request.ResourceSpans.Add(new ResourceSpans { Resource = resource, ScopeSpans = { scope } });
        }

        return request.ToByteArray();
    }

    [Fact]
    public void Decodes_each_message_with_its_topic_s_decoder_into_the_one_reused_holder()
    {
        var deserializer = Deserializer(new KafkaTopic("native", KafkaEncoding.GateStream), new KafkaTopic("otel", KafkaEncoding.Otlp), new KafkaTopic("logs", KafkaEncoding.Json));

        var native = deserializer.Deserialize(Native("api", "v1", 3), false, On("native"));
        Assert.True(native.Decoded);
        var batch = Assert.Single(native.EventBatches);
        Assert.Equal([true, false, false], batch.Errors.ToArray());
        Assert.Equal("kafka", batch.Source);
        Assert.Equal(1_800_000_000_003_000, native.NewestMicros);
        native.ReturnBatches();

        var otlp = deserializer.Deserialize(Traces(("api", 2), ("web", 1)), false, On("otel"));
        Assert.Same(native, otlp);
        Assert.Equal((2, 3L), (otlp.EventBatches.Count, otlp.Events));
        Assert.Equal([3_000L, 3_000L], otlp.EventBatches[0].LatenciesMicros.ToArray());
        Assert.True(otlp.EventBatches[0].Errors[0]);
        otlp.ReturnBatches();

        var json = deserializer.Deserialize("""{"deployment":"api","version":"v2","timestamp":1,"latencyMs":1}"""u8, false, On("logs"));
        Assert.Equal(1, json.Events);
    }

    [Fact]
    public void Reports_what_cannot_be_decoded_instead_of_throwing_and_keeps_nothing_of_it()
    {
        var deserializer = Deserializer(new KafkaTopic("native", KafkaEncoding.GateStream), new KafkaTopic("otel", KafkaEncoding.Otlp));

        Assert.Equal("the message has no value (a tombstone)", deserializer.Deserialize([], true, On("native")).Problem);
        Assert.StartsWith("not a gatestream.v1.EventBatch", deserializer.Deserialize([0x0A, 0xFF, 0x01], false, On("native")).Problem, StringComparison.Ordinal);
        var mismatched = V1.EventBatch.Parser.ParseFrom(Native("api", "v1", 3));
        mismatched.LatencyMicros.RemoveAt(0);
        Assert.StartsWith("EventBatch refused (3 events)", deserializer.Deserialize(mismatched.ToByteArray(), false, On("native")).Problem, StringComparison.Ordinal);
        Assert.Contains("malformed", deserializer.Deserialize("not protobuf"u8, false, On("otel")).Problem, StringComparison.Ordinal);
        var nobody = deserializer.Deserialize(Traces((null, 2)), false, On("otel"));
        Assert.StartsWith("every item was refused (2)", nobody.Problem, StringComparison.Ordinal);
        Assert.Empty(nobody.EventBatches);
        Assert.Equal("no decoder for topic 'elsewhere'", deserializer.Deserialize(Native("api", "v1", 1), false, On("elsewhere")).Problem);

        var partly = deserializer.Deserialize(Traces(("api", 2), (null, 1)), false, On("otel"));
        Assert.True(partly.Decoded);
        Assert.Equal((2L, 1L), (partly.Events, partly.Refused));
        Assert.NotNull(partly.RefusedReason);
    }

    [Fact]
    public void A_decoder_that_throws_costs_one_message()
    {
        var deserializer = new KafkaMessageDeserializer(
            new Dictionary<string, IKafkaMessageDecoder> { ["t"] = new Throwing() }, new DecodedMessage(_events, _metrics));
        Assert.Equal("the decoder failed (InvalidOperationException: bug)", deserializer.Deserialize([1], false, On("t")).Problem);
    }

    private sealed class Throwing : IKafkaMessageDecoder
    {
        public string? Decode(ReadOnlySpan<byte> value, DecodedMessage message)
        {
            message.Post(message.RentEvents());
            throw new InvalidOperationException("bug");
        }
    }
}
