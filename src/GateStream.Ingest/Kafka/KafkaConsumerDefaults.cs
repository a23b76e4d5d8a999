namespace GateStream.Ingest.Kafka;

/// <summary>
/// How GateStream configures its Kafka consumer: throughput defaults that may be overridden
/// (<c>GateStream:Kafka:Consumer:&lt;librdkafka key&gt;</c>) and the settings that may not, because offsets must only
/// be committed by GateStream, after the events are applied.
/// </summary>
public static class KafkaConsumerDefaults
{
    /// <summary>Defaults for a consumer that reads many small messages and must not sit on them for long.</summary>
    public static IReadOnlyDictionary<string, string> Overridable { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        // Wait for 64 KiB per fetch, but never more than 100 ms: a decision is only as fresh as its evidence.
        ["fetch.min.bytes"] = "65536",
        ["fetch.wait.max.ms"] = "100",
        // Up to 64 MiB per partition queue prefetched while the shards apply.
        ["queued.max.messages.kbytes"] = "65536",
        ["max.partition.fetch.bytes"] = "4194304",
        // Moving a partition must not stop the others: only the partitions that move are revoked.
        ["partition.assignment.strategy"] = "cooperative-sticky",
        // A new group starts from the oldest retained message; events older than the window are dropped as late.
        ["auto.offset.reset"] = "earliest",
    };

    /// <summary>Settings GateStream owns; a configuration that sets them is refused.</summary>
    public static IReadOnlyDictionary<string, string> Fixed { get; } = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["enable.auto.commit"] = "false",
        ["enable.auto.offset.store"] = "false",
        ["enable.partition.eof"] = "false",
        // Confluent.Kafka's own: each ConsumeResult carries only the topic (GateStream reads neither headers nor the
        // broker timestamp), which spares two native calls and a Headers object per message. With one topic, not even
        // that (Build's oneTopic): its name is known, and marshalling it costs a string per message.
        [ResultFields] = "topic",
    };

    private const string ResultFields = "dotnet.consumer.consume.result.fields";

    /// <summary>Keys set from their own GateStream settings, not from the passthrough.</summary>
    public static IReadOnlyCollection<string> Reserved { get; } = ["bootstrap.servers", "group.id", .. Fixed.Keys];

    /// <summary>
    /// The full librdkafka configuration: the defaults, then <paramref name="overrides"/>, then what GateStream fixes.
    /// With <paramref name="oneTopic"/> the consumer's results carry no topic name (<c>ConsumeResult.Topic</c> is null):
    /// the caller knows it.
    /// </summary>
    public static Dictionary<string, string> Build(string bootstrapServers, string groupId, IReadOnlyDictionary<string, string>? overrides, bool oneTopic = false)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(bootstrapServers);
        ArgumentException.ThrowIfNullOrWhiteSpace(groupId);
        var config = new Dictionary<string, string>(Overridable, StringComparer.Ordinal);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string>())
        {
            config[key] = value;
        }

        foreach (var (key, value) in Fixed)
        {
            config[key] = value;
        }

        if (oneTopic)
        {
            config[ResultFields] = "none";
        }

        config["bootstrap.servers"] = bootstrapServers;
        config["group.id"] = groupId;
        return config;
    }
}
