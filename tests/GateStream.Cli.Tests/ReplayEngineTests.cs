using GateStream.Cli.Commands;
using GateStream.Cli.Replay;
using GateStream.Cli.Tests.Infrastructure;
using GateStream.Core.Gates;
using GateStream.Core.Policies;
using GateStream.Policies;
using Google.Protobuf;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Tests;

public sealed class ReplayEngineTests
{
    private const long Start = 1_767_225_600_000_000;

    [Fact]
    public void A_healthy_canary_is_promoted_and_a_failing_one_rolled_back()
    {
        var bytes = Traffic.EventsFileBytes(["checkout", "payments"], seconds: 8, bad: ["payments"]);
        var decisions = new List<GateDecision>();

        var summary = ReplayEngine.Run(new MemoryStream(bytes), Policies(Traffic.FastPolicy()), decided: decisions.Add);

        // The canary carries half the traffic when its gate opens by itself: the gate starts at 50.
        Assert.Equal(
            [("checkout/v2", DecisionAction.Promote, 75), ("checkout/v2", DecisionAction.Promote, 100)],
            decisions.Where(d => d.Gate == "checkout/v2").Select(d => (d.Gate, d.Action, d.Weight)));
        Assert.Equal([("payments/v2", DecisionAction.Rollback, 0)], decisions.Where(d => d.Gate == "payments/v2").Select(d => (d.Gate, d.Action, d.Weight)));
        Assert.Equal([1ul, 2ul, 3ul], decisions.Select(d => d.Sequence));

        Assert.Equal(3, summary.Decisions);
        Assert.Equal(2, summary.DecisionsByAction.Single(a => a.Key == DecisionAction.Promote).Value);
        Assert.Equal(1, summary.DecisionsByAction.Single(a => a.Key == DecisionAction.Rollback).Value);
        Assert.Equal(2 * 80 + 2 * 70, summary.Messages);
        Assert.Equal(summary.Events, summary.EventsAccepted);
        Assert.Equal(Start + 100_000, summary.FirstMicros);
        Assert.Equal(Start + 8_000_000, summary.LastMicros);

        var checkout = summary.Gates.Single(g => g.Id == "checkout/v2");
        Assert.Equal((GatePhase.Succeeded, 100, 2L, (DecisionAction?)null), (checkout.Phase, checkout.Weight, checkout.Decisions, checkout.FirstStopAction));
        var payments = summary.Gates.Single(g => g.Id == "payments/v2");
        Assert.Equal((GatePhase.RolledBack, 0, "v1"), (payments.Phase, payments.Weight, payments.BaselineVersion));
        // Opened once its traffic was real (its first batch arrives 1.1 s in; versions are checked once a second),
        // rolled back at the next tick.
        Assert.InRange(payments.StartedMicros, Start + 1_100_000, Start + 2_600_000);
        Assert.Equal((DecisionAction.Rollback, TimeSpan.FromMilliseconds(250)), (payments.FirstStopAction, payments.FirstStopAfter));
        Assert.Equal([new ReplayRuleSummary("fast", "errors", 1)], summary.FiringRules);
    }

    [Fact]
    public void Insufficient_evidence_is_the_time_a_rule_lacked_its_minimum_samples()
    {
        // 200 requests/s: 500 samples take 2.5 s to gather.
        var bytes = Traffic.EventsFileBytes(["checkout"], seconds: 10);

        var summary = ReplayEngine.Run(new MemoryStream(bytes), Policies(Traffic.FastPolicy(minSamples: 500)));

        var gate = Assert.Single(summary.Gates);
        // The gate opens once the version has shown real traffic (about a second in), which already counts.
        Assert.InRange(gate.InsufficientEvidence, TimeSpan.FromSeconds(0.75), TimeSpan.FromSeconds(2.75));
        Assert.Equal((GatePhase.Succeeded, 100), (gate.Phase, gate.Weight));
    }

    [Fact]
    public void Pending_rules_resolve_in_the_final_window()
    {
        // The canary fails from the start but only 1 s of it is recorded; the rule needs it for 2 s.
        var policy = Traffic.FastPolicy().Replace("minSamples: 10", "minSamples: 10\n      for: 2s", StringComparison.Ordinal);
        using var file = new MemoryStream();
        for (var t = 100_000L; t <= 2_000_000; t += 100_000)
        {
            EventsFile.Write(file, EventBatches.Message(EventBatches.Batch("checkout", "v1", 20, Start + t, 100_000)));
            if (t > 1_000_000)
            {
                EventsFile.Write(file, EventBatches.Message(EventBatches.Batch("checkout", "v2", 20, Start + t, 100_000, errorEvery: 2)));
            }
        }

        var decisions = new List<GateDecision>();
        var summary = ReplayEngine.Run(new MemoryStream(file.ToArray()), Policies(policy), decided: decisions.Add);

        var rollback = Assert.Single(decisions);
        Assert.Equal(DecisionAction.Rollback, rollback.Action);
        Assert.True(rollback.TimeMicros > summary.LastMicros, "decided after the last recorded event");
    }

    [Fact]
    public void The_clock_never_goes_back()
    {
        var engine = new ReplayEngine(Policies(Traffic.FastPolicy()));

        engine.Apply(EventBatches.Message(EventBatches.Batch("checkout", "v1", 10, Start + 5_000_000, 100_000)));
        engine.Apply(EventBatches.Message(EventBatches.Batch("checkout", "v1", 10, Start + 2_000_000, 100_000)));
        engine.Apply(new V1.PushRequest());

        Assert.Equal(Start + 5_000_000, engine.NowMicros);
        Assert.Equal(3, engine.Messages);
    }

    [Fact]
    public void Malformed_batches_and_samples_are_refused_as_the_daemon_refuses_them()
    {
        var bad = EventBatches.Batch("checkout", "v1", 10, Start + 1_000_000, 100_000);
        bad.LatencyMicros.RemoveAt(0);
        var engine = new ReplayEngine(Policies(Traffic.FastPolicy()));

        var samples = new V1.PushRequest();
        samples.Metrics.Add(new V1.MetricBatch
        {
            Deployment = "checkout",
            Version = "v1",
            Samples =
            {
                new V1.MetricSample { Name = "lag", TimeUnixMicros = Start + 900_000, Value = 1.5, Kind = V1.MetricKind.Gauge },
                new V1.MetricSample { Name = "lag", TimeUnixMicros = Start + 950_000, Value = double.NaN, Kind = V1.MetricKind.Gauge },
            },
        });

        engine.Apply(EventBatches.Message(bad));
        engine.Apply(EventBatches.Message(EventBatches.Batch("checkout", "v1", 10, Start + 1_000_000, 100_000)));
        engine.Apply(samples);
        var summary = engine.Finish();

        Assert.Equal((1L, 20L, 10L, 10L), (summary.BatchesRefused, summary.Events, summary.EventsAccepted, summary.EventsDropped));
        Assert.Equal((2L, 1L, 1L), (summary.Samples, summary.SamplesAccepted, summary.SamplesDropped));
    }

    [Fact]
    public async Task The_same_file_and_policy_print_the_same_bytes()
    {
        var bytes = Traffic.EventsFileBytes(["checkout", "payments", "search"], seconds: 6, bad: ["search"]);
        var policies = Policies(Traffic.FastPolicy(action: "pause"));

        var text = await ReplayToStringAsync(bytes, policies, json: false);
        var again = await ReplayToStringAsync(bytes, policies, json: false);
        var json = await ReplayToStringAsync(bytes, policies, json: true);
        var jsonAgain = await ReplayToStringAsync(bytes, policies, json: true);

        Assert.Equal(text, again);
        Assert.Equal(json, jsonAgain);
        Assert.Contains("search/v2 PAUSE 25 Paused", text, StringComparison.Ordinal);
        Assert.Contains("Rules that fired (decisions whose evidence shows the rule firing):", text, StringComparison.Ordinal);
        var summaryLine = json.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        using var summary = System.Text.Json.JsonDocument.Parse(summaryLine);
        Assert.Equal(1, summary.RootElement.GetProperty("summary").GetProperty("decisionsByAction").GetProperty("ACTION_PAUSE").GetInt32());
    }

    [Fact]
    public async Task At_a_given_speed_the_replay_keeps_the_recorded_pace_and_decides_the_same()
    {
        // 3 s of traffic at 10x: at least 0.29 s.
        var bytes = Traffic.EventsFileBytes(["checkout"], seconds: 3);
        var policies = Policies(Traffic.FastPolicy());
        var output = new StringWriter();
        var clock = System.Diagnostics.Stopwatch.StartNew();

        var exit = await ReplayCommand.RunAsync(new MemoryStream(bytes), policies, new ReplayOptions(), 10, false, new CommandIO(output, new StringWriter()), CancellationToken.None);

        Assert.Equal(0, exit);
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.28), $"took {clock.Elapsed}");
        Assert.Equal(await ReplayToStringAsync(bytes, policies, json: false), output.ToString());
    }

    [Fact]
    public async Task A_file_cut_short_replays_its_whole_messages_with_a_warning()
    {
        var bytes = Traffic.EventsFileBytes(["checkout"], seconds: 3);
        var cut = bytes[..^7];
        var output = new StringWriter();
        var error = new StringWriter();

        var exit = await ReplayCommand.RunAsync(new MemoryStream(cut), Policies(Traffic.FastPolicy()), new ReplayOptions(), null, false, new CommandIO(output, error), CancellationToken.None);

        Assert.Equal(0, exit);
        Assert.StartsWith("gatestream replay: warning: the events file is damaged after 49 whole message(s)", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("Replayed 49 messages", output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_events_file_is_length_delimited_push_requests_and_nothing_else()
    {
        var first = EventBatches.Message(EventBatches.Batch("checkout", "v1", 3, Start, 3_000));
        var second = new V1.PushRequest();
        second.Metrics.Add(new V1.MetricBatch { Deployment = "db", Version = "1", Samples = { new V1.MetricSample { Name = "lag", TimeUnixMicros = Start, Value = 1.5, Kind = V1.MetricKind.Gauge } } });
        using var file = new MemoryStream();

        EventsFile.Write(file, first);
        EventsFile.Write(file, second);

        var expected = new MemoryStream();
        var coded = new CodedOutputStream(expected);
        coded.WriteLength(first.CalculateSize());
        first.WriteTo(coded);
        coded.WriteLength(second.CalculateSize());
        second.WriteTo(coded);
        coded.Flush();
        Assert.Equal(expected.ToArray(), file.ToArray());
        file.Position = 0;
        Assert.Equal([first, second], EventsFile.Read(file).ToList());
    }

    private static async Task<string> ReplayToStringAsync(byte[] bytes, PolicySet policies, bool json)
    {
        var output = new StringWriter();
        var exit = await ReplayCommand.RunAsync(new MemoryStream(bytes), policies, new ReplayOptions(), null, json, new CommandIO(output, new StringWriter()), CancellationToken.None);
        Assert.Equal(0, exit);
        return output.ToString();
    }

    private static PolicySet Policies(string yaml)
    {
        var result = PolicyLoader.LoadText(yaml, "policy.yaml");
        Assert.True(result.Success, result.ToString());
        return result.Policies!;
    }
}
