using GateStream.Daemon.Tests.Integration;
using static GateStream.Daemon.Tests.Kafka.KafkaTestKit;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Kafka;

/// <summary>The Kafka source against librdkafka's mock cluster over TCP: each encoding end to end, and bad messages.</summary>
public class KafkaIngestTests
{
    private static void Produce(MockKafka kafka, string encoding, string topic, string deployment, string version, int count, int errorEvery = 0)
    {
        switch (encoding)
        {
            case "gatestream":
                kafka.Produce(topic, 0, deployment, NativeMessage(deployment, version, count, errorEvery));
                break;
            case "otlp":
                kafka.Produce(topic, 0, deployment, OtlpMessage(deployment, version, count, errorEvery));
                break;
            default:
                foreach (var message in JsonMessages(deployment, version, count, errorEvery))
                {
                    kafka.Produce(topic, 0, deployment, message);
                }

                break;
        }

        kafka.Flush();
    }

    [Theory]
    [InlineData("gatestream")]
    [InlineData("otlp")]
    [InlineData("json")]
    public async Task Events_in_each_encoding_fill_the_windows_and_drive_decisions(string encoding)
    {
        using var kafka = await MockKafka.StartAsync();
        kafka.CreateTopic("events");
        await using var daemon = new TestDaemon(TestPolicies.Fast("shop"), Settings(kafka, "group-" + encoding, null, ("events", encoding)));
        await daemon.StartAsync();
        var watch = new Collector(await daemon.WatchAsync(new V1.WatchRequest()));

        Produce(kafka, encoding, "events", "shop", "v1", 60);
        Produce(kafka, encoding, "events", "shop", "v2", 30, errorEvery: 30);

        var first = (await watch.WaitForAsync(seen => seen.Count > 0))[0];
        Assert.Equal(("shop/v2", "v1", V1.Action.Promote, 50u), (first.Gate, first.BaselineVersion, first.Action, first.Weight));
        var errors = Assert.Single(first.Evidence);
        Assert.Equal(30ul, errors.Samples);
        Assert.Equal(1.0 / 30, errors.Observed, 6);
        Assert.Equal(90, await MetricAsync(daemon, "gatestream_events_received_total{source=\"kafka\"}"));
        Assert.Equal(encoding == "json" ? 90 : 2, await MetricAsync(daemon, "gatestream_kafka_messages_total{outcome=\"applied\"}"));
        Assert.Equal(0, await MetricAsync(daemon, "gatestream_decode_errors_total{source=\"kafka\"}"));
    }

    [Fact]
    public async Task Undecodable_messages_of_every_encoding_are_counted_and_skipped_and_their_partitions_keep_flowing()
    {
        using var kafka = await MockKafka.StartAsync();
        foreach (var topic in new[] { "native-events", "otlp-events", "json-events" })
        {
            kafka.CreateTopic(topic);
        }

        await using var daemon = new TestDaemon(TestPolicies.Fast("shop-*"),
            Settings(kafka, "poison", null, ("native-events", "gatestream"), ("otlp-events", "otlp"), ("json-events", "json")));
        await daemon.StartAsync();
        var watch = new Collector(await daemon.WatchAsync(new V1.WatchRequest()));

        Produce(kafka, "gatestream", "native-events", "shop-native", "v1", 60);
        kafka.Produce("native-events", 0, "shop-native", [0x0A, 0xFF, 0x01]); // a deployment string running past the end
        var mismatched = EventBatches.Batch("shop-native", "v1", 5);
        mismatched.LatencyMicros.RemoveAt(0); // well-formed, but 4 latencies for 5 events
        kafka.Produce("native-events", 0, "shop-native", Google.Protobuf.MessageExtensions.ToByteArray(mismatched));
        Produce(kafka, "gatestream", "native-events", "shop-native", "v2", 30);

        Produce(kafka, "otlp", "otlp-events", "shop-otlp", "v1", 60);
        kafka.Produce("otlp-events", 0, "shop-otlp", "definitely not protobuf"u8.ToArray());
        Produce(kafka, "otlp", "otlp-events", "shop-otlp", "v2", 30);

        Produce(kafka, "json", "json-events", "shop-json", "v1", 60);
        kafka.Produce("json-events", 0, "shop-json", """{"deployment":"shop-json","version":"""u8.ToArray());
        kafka.Produce("json-events", 0, "shop-json", null); // a tombstone
        Produce(kafka, "json", "json-events", "shop-json", "v2", 30);

        var seen = await watch.WaitForAsync(s => s.Select(d => d.Gate).Distinct().Count() == 3);
        foreach (var gate in new[] { "shop-native/v2", "shop-otlp/v2", "shop-json/v2" })
        {
            var first = seen.First(d => d.Gate == gate);
            Assert.Equal((V1.Action.Promote, 30ul), (first.Action, first.Evidence[0].Samples));
        }

        Assert.Equal(5, await MetricAsync(daemon, "gatestream_decode_errors_total{source=\"kafka\"}"));
        Assert.Equal(5, await MetricAsync(daemon, "gatestream_kafka_messages_total{outcome=\"undecodable\"}"));
        Assert.Equal(270, await MetricAsync(daemon, "gatestream_events_received_total{source=\"kafka\"}"));
    }

    [Fact]
    public async Task An_unreachable_cluster_is_logged_and_survived_while_other_sources_keep_deciding()
    {
        using var unreachable = FreePort.Reserve();
        await using var daemon = new TestDaemon(TestPolicies.Fast("shop"), new Dictionary<string, string?>
        {
            ["GateStream:Kafka:BootstrapServers"] = unreachable.Endpoint,
            ["GateStream:Kafka:Topics:0:Name"] = "events",
            ["GateStream:Kafka:Topics:0:Encoding"] = "json",
        });
        await daemon.StartAsync();
        var watch = new Collector(await daemon.WatchAsync(new V1.WatchRequest()));
        await daemon.PushAsync(EventBatches.Batch("shop", "v1", 60));
        await daemon.PushAsync(EventBatches.Batch("shop", "v2", 30));

        var first = (await watch.WaitForAsync(seen => seen.Count > 0))[0];
        Assert.Equal(("shop/v2", V1.Action.Promote), (first.Gate, first.Action));
        var gate = await daemon.Decisions.GetGateAsync(new V1.GetGateRequest { Gate = "shop/v2" });
        Assert.Equal(V1.GateOwnership.Owned, gate.Ownership); // never seen from Kafka: owned here
        Assert.Equal(0, await MetricAsync(daemon, "gatestream_kafka_assigned_partitions"));

        var stopping = System.Diagnostics.Stopwatch.StartNew();
        await daemon.StopAsync();
        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(15), $"stopping took {stopping.Elapsed}");
    }
}
