using Confluent.Kafka;
using GateStream.Cli.Replay;
using GateStream.Cli.Tests.Infrastructure;
using GateStream.Ingest.Kafka;
using Google.Protobuf;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Tests;

/// <summary>
/// <c>gatestream replay --events kafka://...</c> against librdkafka's mock cluster (three brokers on loopback, in the
/// test process; the CLI runs as a process and connects to them): the topic's messages replay to exactly what the
/// same batches replay to from an events file.
/// </summary>
[Collection(CliProcesses.Name)]
public sealed class KafkaReplayTests : IAsyncLifetime
{
    private const long Start = 1_767_225_600_000_000;
    private const string Topic = "events";
    private readonly string _root = Path.Combine(Path.GetTempPath(), "gatestream-kafka-replay-" + Guid.NewGuid().ToString("N"));
    private MockKafka _kafka = null!;
    private string _policy = null!;
    private List<(V1.EventBatch Batch, int Partition)> _batches = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_root);
        _policy = Path.Combine(_root, "fast.yaml");
        await File.WriteAllTextAsync(_policy, Traffic.FastPolicy());
        _kafka = await MockKafka.StartAsync();
        _kafka.CreateTopic(Topic);

        // Six seconds of traffic, one batch per version per 100 ms; payments' canary fails one request in five.
        // Each 100 ms slice's batches go to partitions 0, 1, 2, 3 in file order, all with the slice's end as their
        // timestamp: the merge (timestamp, then partition) gives back the file's order.
        _batches = [];
        for (var t = 100_000L; t <= 6_000_000; t += 100_000)
        {
            var slot = 0;
            foreach (var deployment in new[] { "checkout", "payments" })
            {
                _batches.Add((EventBatches.Batch(deployment, "v1", 20, Start + t, 100_000), slot++));
                if (t > 1_000_000)
                {
                    _batches.Add((EventBatches.Batch(deployment, "v2", 20, Start + t, 100_000, errorEvery: deployment == "payments" ? 5 : 0), slot++));
                }
            }
        }

        // Produced partition by partition, so the topic's interleaving across partitions is unlike the file's.
        foreach (var (batch, partition) in _batches.OrderByDescending(b => b.Partition))
        {
            _kafka.Produce(Topic, partition, batch.ToByteArray(), TimestampMs(batch));
        }

        FlushAll();
    }

    public Task DisposeAsync()
    {
        _kafka.Dispose();
        Directory.Delete(_root, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task A_topic_replays_to_the_same_decisions_and_summary_as_an_events_file_of_the_same_batches()
    {
        var file = WriteEventsFile("all.gse", _batches.Select(b => b.Batch));

        var fromFile = await CliProcess.RunAsync(["replay", "--events", file, "--policy", _policy]);
        var fromKafka = await CliProcess.RunAsync(["replay", "--events", $"kafka://{_kafka.BootstrapServers}/{Topic}?encoding=gatestream", "--policy", _policy]);

        Assert.True(fromFile.ExitCode == 0, fromFile.ToString());
        Assert.True(fromKafka.ExitCode == 0, fromKafka.ToString());
        Assert.Equal("", fromKafka.Stderr);
        Assert.Contains("checkout/v2 PROMOTE 100 Succeeded", fromFile.Stdout, StringComparison.Ordinal);
        Assert.Contains("payments/v2 ROLLBACK 0", fromFile.Stdout, StringComparison.Ordinal);
        Assert.Equal(fromFile.Stdout, fromKafka.Stdout);

        // --bootstrap instead of brokers in the source, and --json: the same decisions again.
        var json = await CliProcess.RunAsync(["replay", "--events", $"kafka://{Topic}", "--bootstrap", _kafka.BootstrapServers, "--policy", _policy, "--json"]);
        var jsonFromFile = await CliProcess.RunAsync(["replay", "--events", file, "--policy", _policy, "--json"]);
        Assert.True(json.ExitCode == 0, json.ToString());
        Assert.Equal(jsonFromFile.Stdout, json.Stdout);
    }

    [Fact]
    public async Task From_and_to_times_replay_the_messages_stamped_in_between()
    {
        var from = Start + 2_000_000;
        var to = Start + 4_500_000;
        var file = WriteEventsFile("range.gse", _batches.Select(b => b.Batch).Where(b => TimestampMs(b) * 1_000 >= from && TimestampMs(b) * 1_000 < to));

        var fromFile = await CliProcess.RunAsync(["replay", "--events", file, "--policy", _policy]);
        var fromKafka = await CliProcess.RunAsync(
            ["replay", "--events", $"kafka://{_kafka.BootstrapServers}/{Topic}?from={Rfc3339(from)}&to={Rfc3339(to)}", "--policy", _policy]);

        Assert.True(fromKafka.ExitCode == 0, fromKafka.ToString());
        Assert.Equal(fromFile.Stdout, fromKafka.Stdout);
        Assert.Contains("Replayed 100 messages", fromKafka.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task From_and_to_offsets_apply_to_every_partition()
    {
        // Partitions 0 and 1 hold 60 messages each, 2 and 3 hold 50 (the canaries join after one second); 5 to 24 of each.
        var perPartition = _batches.GroupBy(b => b.Partition).ToDictionary(g => g.Key, g => g.Select(b => b.Batch).ToList());
        var kept = perPartition.SelectMany(p => p.Value.Skip(5).Take(20).Select(b => (p.Key, b)))
            .OrderBy(x => TimestampMs(x.b)).ThenBy(x => x.Key).Select(x => x.b);
        var file = WriteEventsFile("offsets.gse", kept);

        var fromFile = await CliProcess.RunAsync(["replay", "--events", file, "--policy", _policy]);
        var fromKafka = await CliProcess.RunAsync(["replay", "--events", $"kafka://{_kafka.BootstrapServers}/{Topic}?from=5&to=25", "--policy", _policy]);

        Assert.True(fromKafka.ExitCode == 0, fromKafka.ToString());
        Assert.Equal(fromFile.Stdout, fromKafka.Stdout);
        Assert.Contains("Replayed 80 messages", fromKafka.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Undecodable_messages_are_skipped_with_a_warning_and_counted_as_refused()
    {
        const string Other = "mixed";
        _kafka.CreateTopic(Other);
        var good = EventBatches.Batch("checkout", "v1", 10, Start + 100_000, 100_000);
        _kafka.Produce(Other, 0, good.ToByteArray(), TimestampMs(good));
        _kafka.Produce(Other, 1, [0xff, 0xff, 0xff], TimestampMs(good) + 1);
        FlushAll();

        var result = await CliProcess.RunAsync(["replay", "--events", $"kafka://{_kafka.BootstrapServers}/{Other}", "--policy", _policy]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.StartsWith("gatestream replay: warning: mixed[1]@0: not a gatestream.v1.EventBatch", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("Replayed 2 messages: 10 events", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("1 batch refused", result.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("kafka://h:9092/t", null, "h:9092", "t", KafkaEncoding.GateStream, null, null)]
    [InlineData("kafka://a:1,b:2/my.topic?encoding=json&from=10", null, "a:1,b:2", "my.topic", KafkaEncoding.Json, "10", null)]
    [InlineData("kafka://t?encoding=otlp&signal=metrics&from=2026-11-26T10:00:00Z&to=2026-11-26T11:00:00%2B01:00", "h:1", "h:1", "t", KafkaEncoding.Otlp, "2026-11-26T10:00:00.000Z", "2026-11-26T10:00:00.000Z")]
    public void Kafka_sources_parse(string text, string? bootstrap, string brokers, string topic, KafkaEncoding encoding, string? from, string? to)
    {
        var source = KafkaSource.Parse(text, bootstrap);

        Assert.Equal(brokers, source.BootstrapServers);
        Assert.Equal(topic, source.Topic);
        Assert.Equal(encoding, source.Encoding);
        Assert.Equal(from, source.From?.ToString());
        Assert.Equal(to, source.To?.ToString());
    }

    [Theory]
    [InlineData("kafka://events?group=x", "names no broker")]
    [InlineData("kafka://h:9092/", "names no topic")]
    [InlineData("kafka://h/t", "is not host:port")]
    [InlineData("kafka://h:1/t?group=x", "unknown parameter 'group'")]
    [InlineData("kafka://h:1/t?encoding=avro", "encoding 'avro' is not gatestream, otlp or json")]
    [InlineData("kafka://h:1/t?signal=metrics", "signal applies to encoding=otlp only")]
    [InlineData("kafka://h:1/t?from=yesterday", "from: 'yesterday' is neither an offset nor an RFC 3339 time")]
    [InlineData("kafka://h:1/t?from=2026-11-26T10:00:00", "from: '2026-11-26T10:00:00' is neither")]
    [InlineData("kafka://h:1/t?from=9&to=3", "to=3 is before from=9")]
    public void Malformed_kafka_sources_are_refused(string text, string problem)
    {
        var e = Assert.Throws<FormatException>(() => KafkaSource.Parse(text));

        Assert.Contains(problem, e.Message, StringComparison.Ordinal);
    }

    private static long TimestampMs(V1.EventBatch batch) =>
        (batch.BaseTimeUnixMicros + batch.TimeDeltasMicros.Sum()) / 1_000;

    private static string Rfc3339(long micros) =>
        DateTimeOffset.FromUnixTimeMilliseconds(micros / 1_000).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private string WriteEventsFile(string name, IEnumerable<V1.EventBatch> batches)
    {
        var path = Path.Combine(_root, name);
        using var file = File.Create(path);
        foreach (var batch in batches)
        {
            EventsFile.Write(file, EventBatches.Message(batch));
        }

        return path;
    }

    /// <summary>Everything produced is on the brokers.</summary>
    private void FlushAll() => Assert.Equal(0, _kafka.Producer.Flush(TimeSpan.FromSeconds(10)));
}
