// The daemon's own work per single-event Kafka message, on the consume thread and after it: the value deserializer
// (JSON with Utf8JsonReader, or one OTLP span with the OTLP decoder) into the reused DecodedMessage, the partition's
// bookkeeping (deployment noted, offset consumed), the coalescer gathering the event into its series' batch, and that
// batch applied to a shard once per 1,024 messages. Everything the Kafka client itself does per message (fetch, poll,
// ConsumeResult) is outside: the Kafka harness measures that beside a plain consume loop.
//
// Anchor: what a plain consumer would do with the same bytes: System.Text.Json deserialising the JSON into an object,
// Google.Protobuf parsing the OTLP request into the generated classes (neither records anything).
//
// Budget: the Kafka path as a whole is <= 1.5 CPU-µs per message (GateStream.KafkaHarness); this part should be a
// small share of it, 0 B per message.
//
// Measured:
//   2026-12-04, commit 5e232ac, AMD EPYC (2 cores, shared), .NET 10.0.12, BenchmarkDotNet 0.15.8, load average 14-21
//   (other sessions building), so absolute figures are inflated; read the ratios:
//   dotnet run -c Release --project benchmarks/GateStream.Benchmarks -- --filter '*KafkaMessage*' --job short --inProcess
//   | Method                 | Mean       | Ratio | Allocated |
//   |----------------------- |-----------:|------:|----------:|
//   | JsonWithSystemTextJson |   503.4 ns |  1.02 |     307 B |
//   | Json                   |   557.5 ns |  1.13 |         - |
//   | JsonDecodeOnly         |   313.7 ns |  0.64 |         - |
//   | OtlpWithGoogleProtobuf | 1,602.2 ns |  3.25 |   2,907 B |
//   | OtlpSpans              |   580.2 ns |  1.18 |         - |
//   0 B per message on the daemon's side (before the boxed enumerator per message was removed: 40 B).

using System.Text;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Confluent.Kafka;
using GateStream.Contracts.Otlp.Collector.Trace.V1;
using GateStream.Contracts.Otlp.Common.V1;
using GateStream.Contracts.Otlp.Resource.V1;
using GateStream.Contracts.Otlp.Trace.V1;
using GateStream.Core.Events;
using GateStream.Core.Ingest;
using GateStream.Ingest;
using GateStream.Ingest.Kafka;
using GateStream.Ingest.Otlp;
using Google.Protobuf;

namespace GateStream.Benchmarks.Ingest;

[MemoryDiagnoser]
public class KafkaMessageBenchmarks
{
    private const int Messages = 1_024;
    private const int Deployments = 16;
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);
    private readonly BatchPool<EventBatch> _events = BatchPools.CreateEventPool();
    private readonly BatchPool<MetricSampleBatch> _metrics = BatchPools.CreateMetricPool();
    private readonly byte[][] _json = new byte[Messages][];
    private readonly byte[][] _otlp = new byte[Messages][];
    private KafkaMessageDeserializer _jsonDeserializer = null!;
    private KafkaMessageDeserializer _otlpDeserializer = null!;
    private BatchCoalescer _coalescer = null!;
    private PartitionProgress _progress = null!;
    private ShardSink _sink = null!;
    private long _offset;

    [GlobalSetup]
    public void Setup()
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        for (var i = 0; i < Messages; i++)
        {
            var deployment = "svc-" + (i % Deployments);
            var version = i / Deployments % 2 == 0 ? "v1" : "v2";
            var time = now - 2_000 + i;
            // Half RFC 3339 strings, half milliseconds, as the Kafka harness writes them.
            var timestamp = i % 2 == 0
                ? "\"" + DateTimeOffset.FromUnixTimeMilliseconds(time).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture) + "\""
                : time.ToString(System.Globalization.CultureInfo.InvariantCulture);
            _json[i] = Encoding.UTF8.GetBytes(
                $$$"""{"deployment":"{{{deployment}}}","version":"{{{version}}}","timestamp":{{{timestamp}}},"latencyMs":{{{(2.5 + (i % 7)).ToString(System.Globalization.CultureInfo.InvariantCulture)}}},"status":{{{(i % 100 == 0 ? 503 : 200)}}},"host":{"name":"node-1"}}""");
            _otlp[i] = Otlp(deployment, version, (ulong)time * 1_000_000UL, i);
        }

        var json = new DecodedMessage(_events, _metrics);
        _jsonDeserializer = new KafkaMessageDeserializer(new Dictionary<string, IKafkaMessageDecoder> { ["json"] = new JsonEventDecoder() }, json);
        var otlp = new DecodedMessage(_events, _metrics);
        _otlpDeserializer = new KafkaMessageDeserializer(
            new Dictionary<string, IKafkaMessageDecoder> { ["otlp"] = new OtlpMessageDecoder(new OtlpDecoder(OtlpOptions.Default with { Source = "kafka" }, _events, _metrics), KafkaSignal.Traces) },
            otlp);
        _coalescer = new BatchCoalescer(_events, _metrics);
        _progress = new PartitionProgress();
        _progress.Assign(0, -1);
        var options = new IngestOptions { ShardCount = 1, Window = new GateStream.Core.Windows.WindowOptions { Length = TimeSpan.FromMinutes(5), AllowedLateness = TimeSpan.FromMinutes(5) } };
        _sink = new ShardSink(new Shard(0, options, new SeriesBudget(options)), _events, _metrics, EventTimeNow());
        if (Json() != Messages || OtlpSpans() != Messages)
        {
            throw new InvalidOperationException("the benchmark messages did not decode");
        }
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Messages)]
    public int JsonWithSystemTextJson()
    {
        var sum = 0;
        foreach (var value in _json)
        {
            var parsed = JsonSerializer.Deserialize<JsonEvent>(value, JsonOptions)!;
            sum += parsed.Status;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public int Json() => Consume(_jsonDeserializer, _json, "json");

    /// <summary>The JSON decoder alone: the message's batch goes straight back to its pool.</summary>
    [Benchmark(OperationsPerInvoke = Messages)]
    public int JsonDecodeOnly()
    {
        var context = new SerializationContext(MessageComponentType.Value, "json");
        var sum = 0;
        foreach (var value in _json)
        {
            var message = _jsonDeserializer.Deserialize(value, isNull: false, context);
            sum += (int)message.Events;
            message.ReturnBatches();
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public int OtlpWithGoogleProtobuf()
    {
        var sum = 0;
        foreach (var value in _otlp)
        {
            sum += ExportTraceServiceRequest.Parser.ParseFrom(value).ResourceSpans.Count;
        }

        return sum;
    }

    [Benchmark(OperationsPerInvoke = Messages)]
    public int OtlpSpans() => Consume(_otlpDeserializer, _otlp, "otlp");

    // The consume loop's per-message steps (KafkaIngestService.Handle), without the client.
    private int Consume(KafkaMessageDeserializer deserializer, byte[][] values, string topic)
    {
        var before = _sink.Applied;
        var context = new SerializationContext(MessageComponentType.Value, topic);
        foreach (var value in values)
        {
            var message = deserializer.Deserialize(value, isNull: false, context);
            if (!message.Decoded)
            {
                throw new InvalidOperationException(message.Problem);
            }

            for (var i = 0; i < message.EventBatches.Count; i++)
            {
                _progress.AddDeployment(message.EventBatches[i].Key.Deployment, out _);
            }

            var offset = _offset++;
            _coalescer.Absorb(message, _sink);
            _progress.Consumed(offset, message.NewestMicros, applied: true);
        }

        _coalescer.Flush(_sink);
        return (int)(_sink.Applied - before);
    }

    private static long EventTimeNow() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000;

    private static byte[] Otlp(string deployment, string version, ulong start, int seq)
    {
        var span = new Span
        {
            TraceId = ByteString.CopyFrom(new byte[16]),
            SpanId = ByteString.CopyFrom(new byte[8]),
            Name = "GET /api/orders/{id}",
            Kind = Span.Types.SpanKind.Server,
            StartTimeUnixNano = start,
            EndTimeUnixNano = start + (ulong)(2_500_000 + (seq % 7) * 1_000_000),
        };
        span.Attributes.Add(new KeyValue { Key = "http.request.method", Value = new AnyValue { StringValue = "GET" } });
        span.Attributes.Add(new KeyValue { Key = "http.route", Value = new AnyValue { StringValue = "/api/orders/{id}" } });
        span.Attributes.Add(new KeyValue { Key = "http.response.status_code", Value = new AnyValue { IntValue = seq % 100 == 0 ? 503 : 200 } });
        span.Attributes.Add(new KeyValue { Key = "server.address", Value = new AnyValue { StringValue = "checkout.internal" } });
        span.Attributes.Add(new KeyValue { Key = "url.scheme", Value = new AnyValue { StringValue = "http" } });
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "Microsoft.AspNetCore" } };
        scope.Spans.Add(span);
        var resource = new ResourceSpans { Resource = new Resource() };
        resource.Resource.Attributes.Add(new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = deployment } });
        resource.Resource.Attributes.Add(new KeyValue { Key = "service.version", Value = new AnyValue { StringValue = version } });
        resource.Resource.Attributes.Add(new KeyValue { Key = "host.name", Value = new AnyValue { StringValue = "node-1" } });
        resource.ScopeSpans.Add(scope);
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(resource);
        return request.ToByteArray();
    }

    private sealed class JsonEvent
    {
        public string? Deployment { get; set; }

        public string? Version { get; set; }

        public JsonElement Timestamp { get; set; }

        public double LatencyMs { get; set; }

        public int Status { get; set; }

        public bool? Error { get; set; }
    }

    /// <summary>Applies each posted batch to the shard at once (the shard loop's work, on this thread).</summary>
    private sealed class ShardSink(Shard shard, BatchPool<EventBatch> events, BatchPool<MetricSampleBatch> metrics, long nowMicros) : IBatchSink
    {
        public long Applied { get; private set; }

        public BatchPool<EventBatch> EventPool => events;

        public BatchPool<MetricSampleBatch> MetricPool => metrics;

        public ValueTask PostAsync(EventBatch batch, CancellationToken cancellationToken)
        {
            Applied += shard.Apply(batch, nowMicros + 60_000_000);
            events.Return(batch);
            return ValueTask.CompletedTask;
        }

        public ValueTask PostAsync(MetricSampleBatch batch, CancellationToken cancellationToken)
        {
            metrics.Return(batch);
            return ValueTask.CompletedTask;
        }
    }
}
