using GateStream.Cli.Tests.Infrastructure;
using Google.Protobuf;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Tests;

[Collection(CliProcesses.Name)]
public sealed class RecordReplayTests
{
    /// <summary>
    /// The acceptance test for record and replay: live traffic is recorded while the daemon gates it, and replaying
    /// the recording against the same policy takes the same decisions (actions and weights, per gate, in order). The
    /// traffic is chosen so the decisions do not hinge on timing: a healthy canary promoted in one-second steps and
    /// a canary failing one request in five, rolled back at its first evaluation.
    /// </summary>
    [Fact]
    public async Task Replaying_a_recording_against_the_same_policy_takes_the_decisions_the_daemon_took()
    {
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy());
        var file = Path.Combine(daemon.Root, "traffic.gse");
        await using var record = CliProcess.Start(["record", "--out", file, "--server", daemon.Url]);
        await record.WaitForLineAsync(l => l.Contains("recording every deployment", StringComparison.Ordinal), stderr: true);

        await PushUntilFinishedAsync(daemon);
        await Task.Delay(500);
        record.Interrupt();
        var recordExit = await record.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, recordExit);
        Assert.Matches(@"^Recorded [\d,]+ messages \([\d,]+ events, 0 samples\) in .+ to .+traffic\.gse \([\d,]+ bytes\)\.$", Assert.Single(record.StdoutLines));
        var live = Sequences(await daemon.LoggedDecisionsAsync());
        // The canary carries half the traffic when its gate opens by itself: the gate starts at 50.
        Assert.Equal([(V1.Action.Promote, 75u), (V1.Action.Promote, 100u)], live["checkout/v2"]);
        Assert.Equal([(V1.Action.Rollback, 0u)], live["payments/v2"]);

        var replay = await CliProcess.RunAsync(["replay", "--events", file, "--policy", daemon.PolicyFile, "--json"]);

        Assert.Equal(0, replay.ExitCode);
        var lines = replay.StdoutLines;
        Assert.StartsWith("{\"summary\":", lines[^1], StringComparison.Ordinal);
        var replayed = Sequences(lines[..^1].Select(JsonParser.Default.Parse<V1.Decision>).ToList());
        Assert.Equal(live.Keys.Order(), replayed.Keys.Order());
        foreach (var gate in live.Keys)
        {
            Assert.Equal(live[gate], replayed[gate]);
        }

        // The recording holds the live decisions too, and the replay compares itself with them.
        using (var summary = System.Text.Json.JsonDocument.Parse(lines[^1]))
        {
            var comparison = summary.RootElement.GetProperty("summary").GetProperty("comparison");
            var liveCount = live.Values.Sum(l => l.Count);
            Assert.Equal(liveCount, comparison.GetProperty("liveDecisions").GetInt32());
            Assert.Equal(liveCount, comparison.GetProperty("alike").GetInt32());
            Assert.Equal(System.Text.Json.JsonValueKind.Null, comparison.GetProperty("firstDivergence").ValueKind);
        }

        // Byte for byte the same output on every run.
        var first = await CliProcess.RunAsync(["replay", "--events", file, "--policy", daemon.PolicyFile]);
        var second = await CliProcess.RunAsync(["replay", "--events", file, "--policy", daemon.PolicyFile]);
        Assert.Equal(0, first.ExitCode);
        Assert.Equal(first.Stdout, second.Stdout);
        Assert.Contains("checkout/v2 PROMOTE 100 Succeeded", first.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Record_stops_by_itself_after_its_duration_and_keeps_only_the_asked_deployments()
    {
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy());
        var file = Path.Combine(daemon.Root, "checkout.gse");
        await using var record = CliProcess.Start(["record", "--out", file, "--duration", "3s", "--deployment", "checkout", "--server", daemon.Url]);
        await record.WaitForLineAsync(l => l.Contains("recording deployments checkout", StringComparison.Ordinal), stderr: true);

        var now = EventBatches.NowMicros;
        await daemon.PushAsync(EventBatches.Batch("checkout", "v1", 100, now, 100_000), EventBatches.Batch("payments", "v1", 50, now, 100_000));
        var exit = await record.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(0, exit);
        await using var stream = File.OpenRead(file);
        var entries = GateStream.Cli.Replay.EventsFile.ReadEntries(stream).ToList();
        // First what the replay continues from (no gate was under way), then the tapped batch.
        Assert.Empty(entries[0].Start.Gates);
        var batch = Assert.Single(Assert.Single(entries.Skip(1)).Events);
        Assert.Equal(("checkout", "v1", 100), (batch.Deployment, batch.Version, batch.TimeDeltasMicros.Count));
    }

    private static async Task PushUntilFinishedAsync(TestDaemon daemon)
    {
        using var push = daemon.Ingest.Push();
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(40);
        var after = -1;
        for (var i = 0; ; i++)
        {
            var now = EventBatches.NowMicros;
            var message = new V1.PushRequest();
            message.Events.Add(EventBatches.Batch("checkout", "v1", 20, now, 100_000));
            message.Events.Add(EventBatches.Batch("payments", "v1", 20, now, 100_000));
            if (i >= 3)
            {
                message.Events.Add(EventBatches.Batch("checkout", "v2", 20, now, 100_000));
                message.Events.Add(EventBatches.Batch("payments", "v2", 20, now, 100_000, errorEvery: 5));
            }

            await push.RequestStream.WriteAsync(message);
            if (after < 0 && i % 5 == 4 && await FinishedAsync(daemon))
            {
                after = i;
            }

            if (after >= 0 && i >= after + 5)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline, "the live gates did not finish in time");
            await Task.Delay(100);
        }

        await push.RequestStream.CompleteAsync();
        await push;
    }

    private static async Task<bool> FinishedAsync(TestDaemon daemon)
    {
        var gates = (await daemon.Decisions.ListGatesAsync(new V1.ListGatesRequest { IncludeFinished = true })).Gates;
        return gates.Any(g => g.Id == "checkout/v2" && g.Phase == V1.Phase.Succeeded)
            && gates.Any(g => g.Id == "payments/v2" && g.Phase == V1.Phase.RolledBack);
    }

    private static Dictionary<string, List<(V1.Action, uint)>> Sequences(IEnumerable<V1.Decision> decisions) =>
        decisions.GroupBy(d => d.Gate).ToDictionary(g => g.Key, g => g.OrderBy(d => d.Sequence).Select(d => (d.Action, d.Weight)).ToList());
}
