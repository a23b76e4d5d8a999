using GateStream.Daemon.Tests.Integration;
using static GateStream.Daemon.Tests.Kafka.KafkaTestKit;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Kafka;

/// <summary>Two daemons in one consumer group, each with its own consumer and state directory, one decisions topic.</summary>
public class KafkaScaleOutTests
{
    private const int Baseline = 80;
    private const int Canary = 40;
    private const int Step = 10;
    private static readonly string[] Gates = [.. Enumerable.Range(0, MockKafka.PartitionsPerTopic).Select(p => $"svc-{p}/v2")];

    private static TestDaemon Daemon(MockKafka kafka) =>
        new(SteppingPolicy("svc-*", Step), Settings(kafka, "fleet", "decisions", ("events", "gatestream")));

    private static async Task<MockKafka> ClusterAsync()
    {
        var kafka = await MockKafka.StartAsync();
        kafka.CreateTopic("events");
        kafka.CreateTopic("decisions");
        return kafka;
    }

    /// <summary>One deployment per partition, keyed by deployment as a fleet's producers would: a baseline, then a canary with one error.</summary>
    private static void ProduceRollouts(MockKafka kafka)
    {
        for (var p = 0; p < MockKafka.PartitionsPerTopic; p++)
        {
            kafka.Produce("events", p, $"svc-{p}", NativeMessage($"svc-{p}", "v1", Baseline));
        }

        kafka.Flush();
        for (var p = 0; p < MockKafka.PartitionsPerTopic; p++)
        {
            kafka.Produce("events", p, $"svc-{p}", NativeMessage($"svc-{p}", "v2", Canary, errorEvery: Canary));
        }

        kafka.Flush();
    }

    private static Task AssignedAsync(TestDaemon daemon, int partitions) =>
        Eventually.Until(async () => await MetricAsync(daemon, "gatestream_kafka_assigned_partitions") == partitions, TimeSpan.FromSeconds(40),
            () => $"expected {partitions} partitions assigned");

    private static void AssertFirstPromotion(V1.Decision first) =>
        Assert.Equal((V1.Action.Promote, (uint)(2 * Step), (ulong)Canary), (first.Action, first.Weight, first.Evidence[0].Samples));

    /// <summary>
    /// For each moved gate: the new owner's first decision follows the old owner's last one on the decisions topic, one
    /// step further (not from the start), on windows holding exactly the produced events (none lost, none counted twice).
    /// </summary>
    private static void AssertContinued(MockKafka kafka, IEnumerable<string> moved, List<V1.Decision> newOwner)
    {
        var published = kafka.ReadDecisions("decisions");
        Assert.All(published, m => Assert.Equal(m.Decision.Gate, m.Key));
        foreach (var gate in moved)
        {
            var firstHere = newOwner.First(d => d.Gate == gate);
            var history = published.Where(m => m.Key == gate).Select(m => m.Decision).ToList();
            var at = history.IndexOf(firstHere);
            Assert.True(at > 0, $"{gate}: {Describe(firstHere)} follows the old owner's decisions on the topic: {string.Join("; ", history.Select(Describe))}");
            var lastBefore = history[at - 1];
            Assert.Equal(V1.Action.Promote, firstHere.Action);
            Assert.Equal(lastBefore.Weight + Step, firstHere.Weight);
            Assert.Equal((ulong)Canary, firstHere.Evidence[0].Samples);
            Assert.Equal(1.0 / Canary, firstHere.Evidence[0].Observed, 6);
        }
    }

    [Fact]
    public async Task Two_daemons_split_the_gates_and_when_one_stops_the_other_continues_its_gates_from_their_weight_with_the_same_evidence()
    {
        using var kafka = await ClusterAsync();
        await using var a = Daemon(kafka);
        await using var b = Daemon(kafka);
        await a.StartAsync();
        await b.StartAsync();
        await AssignedAsync(a, 2);
        await AssignedAsync(b, 2);
        var watchA = new Collector(await a.WatchAsync(new V1.WatchRequest()));
        var watchB = new Collector(await b.WatchAsync(new V1.WatchRequest()));

        ProduceRollouts(kafka);

        // Each gate is decided by the daemon that owns its partition, and only by it.
        await Eventually.Until(() => Task.FromResult(Gates.All(g => watchA.Seen.Concat(watchB.Seen).Any(d => d.Gate == g))), TimeSpan.FromSeconds(30),
            () => $"A: {string.Join("; ", watchA.Seen.Select(Describe))} B: {string.Join("; ", watchB.Seen.Select(Describe))}");
        var ofA = watchA.Seen.Select(d => d.Gate).Distinct().Order().ToArray();
        var ofB = watchB.Seen.Select(d => d.Gate).Distinct().Order().ToArray();
        Assert.Equal(2, ofA.Length);
        Assert.Equal(2, ofB.Length);
        Assert.Empty(ofA.Intersect(ofB));
        foreach (var gate in Gates)
        {
            AssertFirstPromotion(watchA.Seen.Concat(watchB.Seen).First(d => d.Gate == gate));
        }

        // A stops: its consumer leaves the group after committing the oldest offset still inside the window; B takes over.
        await a.StopAsync();
        await watchA.Ended;
        var ofBAfter = await watchB.WaitForAsync(seen => ofA.All(g => seen.Any(d => d.Gate == g)), TimeSpan.FromSeconds(40));
        AssertContinued(kafka, ofA, ofBAfter);

        var listed = await b.Decisions.ListGatesAsync(new V1.ListGatesRequest { IncludeFinished = true });
        Assert.Equal(Gates, listed.Gates.Select(g => g.Id).Order().ToArray());
        Assert.All(listed.Gates, g => Assert.Equal(V1.GateOwnership.Owned, g.Ownership));
        Assert.Equal(4, await MetricAsync(b, "gatestream_kafka_assigned_partitions"));
        Assert.Equal(2, await MetricAsync(b, "gatestream_kafka_gates_taken_over_total"));
    }

    [Fact]
    public async Task A_daemon_joining_a_running_fleet_takes_half_the_gates_and_the_first_stops_deciding_for_them()
    {
        using var kafka = await ClusterAsync();
        await using var a = Daemon(kafka);
        await a.StartAsync();
        await AssignedAsync(a, 4);
        var watchA = new Collector(await a.WatchAsync(new V1.WatchRequest()));
        ProduceRollouts(kafka);
        await watchA.WaitForAsync(seen => Gates.All(g => seen.Any(d => d.Gate == g)), TimeSpan.FromSeconds(30));
        Assert.All(Gates, g => AssertFirstPromotion(watchA.Seen.First(d => d.Gate == g)));

        // B joins: the cooperative rebalance moves two partitions, and only those, to it while A keeps consuming.
        await using var b = Daemon(kafka);
        await b.StartAsync();
        var watchB = new Collector(await b.WatchAsync(new V1.WatchRequest()));
        await AssignedAsync(b, 2);
        await AssignedAsync(a, 2);
        var ofB = (await watchB.WaitForAsync(seen => seen.Select(d => d.Gate).Distinct().Count() == 2, TimeSpan.FromSeconds(30)))
            .Select(d => d.Gate).Distinct().Order().ToArray();
        AssertContinued(kafka, ofB, watchB.Seen);

        // On A the moved gates are listed as owned elsewhere, and A decides no more for them.
        var onA = (await a.Decisions.ListGatesAsync(new V1.ListGatesRequest { IncludeFinished = true })).Gates.ToDictionary(g => g.Id);
        Assert.All(ofB, g => Assert.Equal(V1.GateOwnership.NotOwned, onA[g].Ownership));
        Assert.All(Gates.Except(ofB), g => Assert.Equal(V1.GateOwnership.Owned, onA[g].Ownership));
        var handedOver = watchA.Seen.Count;
        await Task.Delay(TimeSpan.FromSeconds(4)); // more than a step: A's own gates move on, the moved ones do not
        Assert.DoesNotContain(watchA.Seen.Skip(handedOver), d => ofB.Contains(d.Gate));
        Assert.Contains(watchB.Seen, d => ofB.Contains(d.Gate) && d.Weight >= (3 * Step) + Step);
    }
}
