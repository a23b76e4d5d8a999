using GateStream.Ingest.Kafka;

namespace GateStream.Daemon.Kafka;

/// <summary>The <c>GateStream:Kafka</c> configuration section (docs/kafka.md). Kafka is off while <see cref="BootstrapServers"/> is empty.</summary>
public sealed class KafkaOptions
{
    public const string Section = "GateStream:Kafka";

    /// <summary>Brokers, <c>host:port[,host:port...]</c>. Empty turns Kafka off.</summary>
    public string BootstrapServers { get; set; } = "";

    /// <summary>The consumer group every daemon of a fleet shares.</summary>
    public string GroupId { get; set; } = "gatestream";

    /// <summary>Topics to consume (<c>GateStream:Kafka:Topics:N:Name</c> / <c>:Encoding</c> / <c>:Signal</c>).</summary>
    public List<KafkaTopicOptions> Topics { get; set; } = [];

    /// <summary>When set, every decision is also published here (key: gate id, value: <c>gatestream.v1.Decision</c>), and gates are taken over from it.</summary>
    public string DecisionsTopic { get; set; } = "";

    /// <summary>How often consumed offsets are committed (also on every revocation and at shutdown).</summary>
    public TimeSpan CommitInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a new owner waits for the decisions topic to catch up before continuing the gates it takes over.</summary>
    public TimeSpan DecisionsCatchUpTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>librdkafka consumer settings passed through (<c>GateStream:Kafka:Consumer:fetch.min.bytes</c> ...), over GateStream's defaults.</summary>
    public Dictionary<string, string> Consumer { get; set; } = new(StringComparer.Ordinal);

    /// <summary>librdkafka settings for the decisions producer, passed through.</summary>
    public Dictionary<string, string> Producer { get; set; } = new(StringComparer.Ordinal);

    public bool Enabled => !string.IsNullOrWhiteSpace(BootstrapServers);

    /// <summary>The topics as the consumer uses them (call after validation).</summary>
    public IReadOnlyList<KafkaTopic> ToTopics() =>
        [.. Topics.Select(t => new KafkaTopic(t.Name, KafkaTopicOptions.ParseEncoding(t.Encoding)!.Value, KafkaTopicOptions.ParseSignal(t.Signal)!.Value))];
}

public sealed class KafkaTopicOptions
{
    public string Name { get; set; } = "";

    /// <summary><c>gatestream</c>, <c>otlp</c> or <c>json</c>.</summary>
    public string Encoding { get; set; } = "";

    /// <summary>For <c>otlp</c> topics: <c>traces</c> (default) or <c>metrics</c>.</summary>
    public string? Signal { get; set; }

    public static KafkaEncoding? ParseEncoding(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "gatestream" => KafkaEncoding.GateStream,
        "otlp" => KafkaEncoding.Otlp,
        "json" => KafkaEncoding.Json,
        _ => null,
    };

    public static KafkaSignal? ParseSignal(string? value) => string.IsNullOrWhiteSpace(value) ? KafkaSignal.Traces : value.Trim().ToLowerInvariant() switch
    {
        "traces" => KafkaSignal.Traces,
        "metrics" => KafkaSignal.Metrics,
        _ => null,
    };
}
