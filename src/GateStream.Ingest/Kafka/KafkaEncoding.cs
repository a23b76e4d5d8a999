namespace GateStream.Ingest.Kafka;

/// <summary>How the messages of a topic are encoded (<c>GateStream:Kafka:Topics:N:Encoding</c>).</summary>
public enum KafkaEncoding
{
    /// <summary>One native <c>gatestream.v1.EventBatch</c> protobuf per message.</summary>
    GateStream,

    /// <summary>
    /// One OTLP protobuf export request per message (<c>ExportTraceServiceRequest</c> or <c>ExportMetricsServiceRequest</c>),
    /// as the OpenTelemetry Collector's Kafka exporter writes them with <c>encoding: otlp_proto</c>.
    /// </summary>
    Otlp,

    /// <summary>One request event per message, as a JSON object (see docs/kafka.md), for log shippers.</summary>
    Json,
}

/// <summary>Which OTLP export request an <see cref="KafkaEncoding.Otlp"/> topic carries (<c>GateStream:Kafka:Topics:N:Signal</c>).</summary>
public enum KafkaSignal
{
    Traces,
    Metrics,
}

/// <summary>A topic GateStream consumes and how its messages are decoded.</summary>
public sealed record KafkaTopic(string Name, KafkaEncoding Encoding, KafkaSignal Signal = KafkaSignal.Traces);
