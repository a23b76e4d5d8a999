using GateStream.Daemon.Tests.Integration;

namespace GateStream.Daemon.Tests.Kafka;

/// <summary>A bad Kafka setting stops the daemon at start with a message naming the key.</summary>
public class KafkaOptionsTests
{
    private static async Task<string> StartFailureAsync(Dictionary<string, string?> settings)
    {
        settings.TryAdd("GateStream:Kafka:BootstrapServers", "127.0.0.1:1");
        await using var daemon = new TestDaemon(TestPolicies.Fast(), settings);
        var failure = await Assert.ThrowsAnyAsync<Exception>(daemon.StartAsync);
        return failure.Message;
    }

    [Fact]
    public async Task Every_bad_key_is_named()
    {
        var message = await StartFailureAsync(new()
        {
            ["GateStream:Kafka:BootstrapServers"] = "127.0.0.1:1",
            ["GateStream:Kafka:Topics:0:Name"] = "events",
            ["GateStream:Kafka:Topics:0:Encoding"] = "avro",
            ["GateStream:Kafka:Topics:1:Name"] = "bad topic!",
            ["GateStream:Kafka:Topics:1:Encoding"] = "json",
            ["GateStream:Kafka:Topics:1:Signal"] = "metrics",
            ["GateStream:Kafka:Topics:2:Name"] = "events",
            ["GateStream:Kafka:Topics:2:Encoding"] = "otlp",
            ["GateStream:Kafka:Topics:2:Signal"] = "logs",
            ["GateStream:Kafka:DecisionsTopic"] = "events",
            ["GateStream:Kafka:CommitInterval"] = "00:00:00.010",
            ["GateStream:Kafka:Consumer:enable.auto.commit"] = "true",
            ["GateStream:Kafka:Producer:acks"] = "1",
        });

        Assert.Contains("GateStream:Kafka:Topics:0:Encoding 'avro' must be gatestream, otlp or json.", message, StringComparison.Ordinal);
        Assert.Contains("GateStream:Kafka:Topics:1:Name 'bad topic!' is not a Kafka topic name", message, StringComparison.Ordinal);
        Assert.Contains("GateStream:Kafka:Topics:1:Signal applies to otlp topics only", message, StringComparison.Ordinal);
        Assert.Contains("GateStream:Kafka:Topics:2:Name 'events' is listed twice.", message, StringComparison.Ordinal);
        Assert.Contains("GateStream:Kafka:Topics:2:Signal 'logs' must be traces or metrics.", message, StringComparison.Ordinal);
        Assert.Contains("GateStream:Kafka:DecisionsTopic 'events' is also an input topic.", message, StringComparison.Ordinal);
        Assert.Contains("GateStream:Kafka:CommitInterval must be between 100 ms and 5 min", message, StringComparison.Ordinal);
        Assert.Contains("GateStream:Kafka:Consumer:enable.auto.commit cannot be set", message, StringComparison.Ordinal);
        Assert.Contains("GateStream:Kafka:Producer:acks cannot be set", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_librdkafka_setting_it_does_not_know_is_reported_at_start()
    {
        var message = await StartFailureAsync(new()
        {
            ["GateStream:Kafka:Topics:0:Name"] = "events",
            ["GateStream:Kafka:Topics:0:Encoding"] = "json",
            ["GateStream:Kafka:Consumer:fetch.min.byte"] = "1",
        });

        Assert.Contains("GateStream:Kafka:Consumer: the Kafka consumer cannot be created", message, StringComparison.Ordinal);
        Assert.Contains("fetch.min.byte", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Nothing_to_consume_or_publish_is_a_mistake()
    {
        var message = await StartFailureAsync(new());
        Assert.Contains("GateStream:Kafka:BootstrapServers is set, but neither GateStream:Kafka:Topics nor GateStream:Kafka:DecisionsTopic is", message, StringComparison.Ordinal);
    }
}
