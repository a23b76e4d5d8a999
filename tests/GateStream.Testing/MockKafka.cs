using Confluent.Kafka;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Testing;

/// <summary>
/// librdkafka's built-in mock cluster: three real Kafka-protocol brokers on loopback, alive while this object is.
/// Producers and readers used by tests are separate clients from the daemons' consumers.
/// </summary>
/// <remarks>
/// The mock cluster does not implement CreateTopics: a topic is created (with the mock's 4 partitions) by asking for its
/// metadata with auto-creation allowed, before anyone subscribes.
/// </remarks>
public sealed class MockKafka : IDisposable
{
    public const int PartitionsPerTopic = 4;
    private const string Marker = "replaced with ";

    private readonly IProducer<Null, Null> _cluster;

    private MockKafka(IProducer<Null, Null> cluster, string bootstrapServers)
    {
        _cluster = cluster;
        BootstrapServers = bootstrapServers;
        Producer = new ProducerBuilder<string?, byte[]?>(new ProducerConfig { BootstrapServers = bootstrapServers, LingerMs = 0 }).Build();
    }

    public string BootstrapServers { get; }

    public IProducer<string?, byte[]?> Producer { get; }

    public static async Task<MockKafka> StartAsync()
    {
        var bootstrap = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var cluster = new ProducerBuilder<Null, Null>(new Dictionary<string, string>
            {
                ["bootstrap.servers"] = "unused:9092",
                ["test.mock.num.brokers"] = "3",
            })
            .SetLogHandler((_, m) =>
            {
                var at = m.Message.IndexOf(Marker, StringComparison.Ordinal);
                if (at >= 0)
                {
                    bootstrap.TrySetResult(m.Message[(at + Marker.Length)..].Trim());
                }
            })
            .Build();
        try
        {
            return new MockKafka(cluster, await bootstrap.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        }
        catch
        {
            cluster.Dispose();
            throw;
        }
    }

    public void CreateTopic(string name)
    {
        using var admin = new DependentAdminClientBuilder(Producer.Handle).Build();
        var topic = admin.GetMetadata(name, TimeSpan.FromSeconds(10)).Topics.Single();
        Assert.False(topic.Error.IsError, topic.Error.Reason);
        Assert.Equal(PartitionsPerTopic, topic.Partitions.Count);
    }

    public void Produce(string topic, int partition, string? key, byte[]? value) =>
        Producer.Produce(new TopicPartition(topic, partition), new Message<string?, byte[]?> { Key = key, Value = value });

    /// <summary>A keyless message stamped with <paramref name="timestampMs"/> (replay orders partitions by it).</summary>
    public void Produce(string topic, int partition, byte[] value, long timestampMs) =>
        Producer.Produce(
            new TopicPartition(topic, partition),
            new Message<string?, byte[]?> { Value = value, Timestamp = new Timestamp(timestampMs, TimestampType.CreateTime) });

    public void Flush() => Producer.Flush(TimeSpan.FromSeconds(10));

    /// <summary>Every message of <paramref name="topic"/> up to its current end, partition by partition.</summary>
    public List<(int Partition, string? Key, byte[]? Value)> ReadAll(string topic)
    {
        using var consumer = new ConsumerBuilder<string?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = BootstrapServers,
            GroupId = "test-reader-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
        }).Build();
        var read = new List<(int, string?, byte[]?)>();
        for (var partition = 0; partition < PartitionsPerTopic; partition++)
        {
            var tp = new TopicPartition(topic, partition);
            var end = consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)).High.Value;
            if (end == 0)
            {
                continue;
            }

            consumer.Assign(new TopicPartitionOffset(tp, Offset.Beginning));
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
            while (DateTime.UtcNow < deadline)
            {
                var result = consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (result?.Message is { } message)
                {
                    read.Add((partition, message.Key, message.Value));
                    if (result.Offset.Value + 1 >= end)
                    {
                        break;
                    }
                }
            }

            consumer.Unassign();
        }

        return read;
    }

    /// <summary>The decisions topic's content, in partition order (each gate's decisions are in order on its partition).</summary>
    public List<(string? Key, V1.Decision Decision)> ReadDecisions(string topic) =>
        [.. ReadAll(topic).Select(m => (m.Key, V1.Decision.Parser.ParseFrom(m.Value)))];

    public void Dispose()
    {
        Producer.Dispose();
        _cluster.Dispose();
    }
}
