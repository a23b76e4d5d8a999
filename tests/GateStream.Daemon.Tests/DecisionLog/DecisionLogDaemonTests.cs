using System.Net;
using GateStream.Daemon.Decisions.Log;
using GateStream.Daemon.Tests.Integration;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.DecisionLog;

/// <summary>
/// The attacks on the decision log from issue 12, re-run against a whole daemon: a bit flipped in the middle of the log,
/// a state directory pulled away while running, and a checksummed record that is not a decision.
/// </summary>
public sealed class DecisionLogDaemonTests
{
    private const string Gate = "checkout/v2";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_flipped_bit_in_record_5_of_25_loses_nothing_after_it_and_a_resuming_watcher_sees_every_new_decision()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"));
        await daemon.StartAsync();
        await StartRolloutAsync(daemon);
        for (var i = 1; i <= 24; i++)
        {
            await daemon.Control.OverrideAsync(Suppress($"decision {i}"), TestDaemon.Bearer());
        }

        var pause = await daemon.Control.OverrideAsync(Override(V1.OverrideKind.Pause, "the operator's pause"), TestDaemon.Bearer());
        Assert.Equal(25UL, pause.Sequence);
        await daemon.StopAsync();

        var segment = Assert.Single(Directory.GetFiles(daemon.StateDirectory, "decisions-*.log"));
        var record5 = RecordOffsets(segment)[4];
        LogFiles.FlipBit(segment, record5 + RecordFormat.HeaderLength + 10, bit: 2);

        await daemon.StartAsync();
        var gates = await daemon.Decisions.ListGatesAsync(new V1.ListGatesRequest { IncludeFinished = true });
        Assert.Equal(25UL, gates.LastSequence);
        Assert.Equal(V1.Phase.Paused, Assert.Single(gates.Gates).Phase); // the pause survived

        var everything = await ReadAsync(daemon, new V1.WatchRequest { FromStart = true }, 24);
        Assert.Equal([1UL, 2, 3, 4, .. Enumerable.Range(6, 20).Select(i => (ulong)i)], everything);

        using var resumed = await daemon.WatchAsync(new V1.WatchRequest { FromSequence = 25 });
        var resume = await daemon.Control.OverrideAsync(Override(V1.OverrideKind.Resume, "carry on"), TestDaemon.Bearer());
        Assert.Equal(26UL, resume.Sequence);
        using (var timeout = new CancellationTokenSource(Timeout))
        {
            Assert.True(await resumed.ResponseStream.MoveNext(timeout.Token));
            Assert.Equal(26UL, resumed.ResponseStream.Current.Sequence);
        }

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{daemon.HttpPort}") };
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains(
            $"gatestream_decision_log_recovery_skipped_bytes{{file=\"{Path.GetFileName(segment)}\",offset=\"{record5}\",sequence_before=\"4\",sequence_after=\"6\",truncated=\"false\"}}",
            metrics,
            StringComparison.Ordinal);
        Assert.Equal("Healthy", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
    }

    [Fact]
    public async Task An_override_the_log_cannot_make_durable_leaves_the_gate_unchanged_answers_Unavailable_and_turns_healthz_unhealthy()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"));
        await daemon.StartAsync();
        await StartRolloutAsync(daemon);
        using var watch = await daemon.WatchAsync(new V1.WatchRequest());
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{daemon.HttpPort}") };

        // The attack: the state directory stops taking writes while the daemon runs. As root chmod changes nothing, so
        // the directory is replaced by a file (the next append cannot create its segment: ENOTDIR, a real failure).
        var away = daemon.StateDirectory + ".away";
        Directory.Move(daemon.StateDirectory, away);
        await File.WriteAllTextAsync(daemon.StateDirectory, "not a directory");

        var refused = await Assert.ThrowsAsync<RpcException>(async () =>
            await daemon.Control.OverrideAsync(Override(V1.OverrideKind.Pause, "stop it"), TestDaemon.Bearer()));
        Assert.Equal(StatusCode.Unavailable, refused.StatusCode);
        Assert.Contains("decision log cannot append", refused.Status.Detail, StringComparison.Ordinal);

        var gate = Assert.Single((await daemon.Decisions.ListGatesAsync(new V1.ListGatesRequest())).Gates);
        Assert.Equal(V1.Phase.Progressing, gate.Phase); // not Paused: the log and the watchers never saw a pause
        Assert.Equal(0UL, (await daemon.Decisions.ListGatesAsync(new V1.ListGatesRequest())).LastSequence);

        using (var health = await http.GetAsync(new Uri("/healthz", UriKind.Relative)))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
            var body = await health.Content.ReadAsStringAsync();
            Assert.StartsWith("Unhealthy\ndecision-log: Unhealthy: the decision log cannot append (", body, StringComparison.Ordinal);
        }

        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("gatestream_decision_log_healthy 0", metrics, StringComparison.Ordinal);
        Assert.Contains("gatestream_decision_log_append_failures_total 1", metrics, StringComparison.Ordinal);

        // Appends work again once the directory is back: the same override goes through, with the sequence never used.
        File.Delete(daemon.StateDirectory);
        Directory.Move(away, daemon.StateDirectory);
        var paused = await daemon.Control.OverrideAsync(Override(V1.OverrideKind.Pause, "stop it"), TestDaemon.Bearer());
        Assert.Equal(1UL, paused.Sequence);
        Assert.Equal(V1.Phase.Paused, Assert.Single((await daemon.Decisions.ListGatesAsync(new V1.ListGatesRequest())).Gates).Phase);
        using (var timeout = new CancellationTokenSource(Timeout))
        {
            Assert.True(await watch.ResponseStream.MoveNext(timeout.Token));
            Assert.Equal((1UL, V1.Action.Pause), (watch.ResponseStream.Current.Sequence, watch.ResponseStream.Current.Action));
        }

        Assert.Equal("Healthy", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
    }

    [Fact]
    public async Task A_rollback_the_log_cannot_make_durable_is_not_applied_and_is_taken_again_once_the_log_works()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"));
        await daemon.StartAsync();
        await StartRolloutAsync(daemon);
        using var watch = await daemon.WatchAsync(new V1.WatchRequest());
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{daemon.HttpPort}") };
        var before = Assert.Single((await daemon.Decisions.ListGatesAsync(new V1.ListGatesRequest())).Gates);

        var away = daemon.StateDirectory + ".away";
        Directory.Move(daemon.StateDirectory, away);
        await File.WriteAllTextAsync(daemon.StateDirectory, "not a directory");

        // Half the canary's requests fail: every tick decides to roll back, and every append fails.
        await daemon.PushAsync(EventBatches.Batch("checkout", "v1", 40), EventBatches.Batch("checkout", "v2", 40, errorEvery: 2));
        using (var timeout = new CancellationTokenSource(Timeout))
        {
            while (FailedAppends(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), timeout.Token)) < 3)
            {
                await Task.Delay(20, timeout.Token);
            }
        }

        var during = Assert.Single((await daemon.Decisions.ListGatesAsync(new V1.ListGatesRequest())).Gates);
        Assert.Equal((V1.Phase.Progressing, before.Weight, 0UL), (during.Phase, during.Weight, during.LastDecisionSequence));

        File.Delete(daemon.StateDirectory);
        Directory.Move(away, daemon.StateDirectory);
        using (var timeout = new CancellationTokenSource(Timeout))
        {
            Assert.True(await watch.ResponseStream.MoveNext(timeout.Token));
        }

        var rollback = watch.ResponseStream.Current;
        Assert.Equal((1UL, V1.Action.Rollback, 0u), (rollback.Sequence, rollback.Action, rollback.Weight));
        var after = Assert.Single((await daemon.Decisions.ListGatesAsync(new V1.ListGatesRequest { IncludeFinished = true })).Gates);
        Assert.Equal((V1.Phase.RolledBack, 1UL), (after.Phase, after.LastDecisionSequence));
        Assert.Equal("Healthy", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
    }

    [Fact]
    public async Task A_checksummed_record_that_is_not_a_decision_is_skipped_and_reported_and_its_sequence_stays_taken()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"));
        await daemon.StartAsync();
        await StartRolloutAsync(daemon);
        for (var i = 1; i <= 3; i++)
        {
            await daemon.Control.OverrideAsync(Suppress($"decision {i}"), TestDaemon.Bearer());
        }

        await daemon.StopAsync();
        var segment = Assert.Single(Directory.GetFiles(daemon.StateDirectory, "decisions-*.log"));
        var offset = new FileInfo(segment).Length;
        var stranger = "not a decision at all"u8.ToArray();
        var record = new byte[RecordFormat.HeaderLength + stranger.Length];
        RecordFormat.Write(record, 4, 1_700_000_000_000_000, stranger);
        await using (var file = new FileStream(segment, FileMode.Append, FileAccess.Write))
        {
            await file.WriteAsync(record);
        }

        await daemon.StartAsync(); // no crash, no stack trace
        var report = daemon.Services.GetRequiredService<GateStream.Daemon.Decisions.Log.DecisionLog>().RecoveryReport;
        var skip = Assert.Single(report.Skipped);
        Assert.Equal((segment, offset, (long)record.Length), (skip.File, skip.Offset, skip.Length));
        Assert.StartsWith("record 4 is not a valid payload: ", skip.Reason, StringComparison.Ordinal);

        Assert.Equal([1UL, 2, 3], await ReadAsync(daemon, new V1.WatchRequest { FromStart = true }, 3));
        var next = await daemon.Control.OverrideAsync(Suppress("after the stranger"), TestDaemon.Bearer());
        Assert.Equal(5UL, next.Sequence);
    }

    private static double FailedAppends(string metrics)
    {
        const string name = "gatestream_decision_log_append_failures_total ";
        var line = metrics.Split('\n').Single(l => l.StartsWith(name, StringComparison.Ordinal));
        return double.Parse(line[name.Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task StartRolloutAsync(TestDaemon daemon) =>
        await daemon.Control.StartRolloutAsync(new V1.StartRolloutRequest { Deployment = "checkout", BaselineVersion = "v1", CanaryVersion = "v2" }, TestDaemon.Bearer());

    private static V1.OverrideRequest Override(V1.OverrideKind kind, string reason) => new() { Gate = Gate, Kind = kind, Reason = reason };

    private static V1.OverrideRequest Suppress(string reason) => new()
    {
        Gate = Gate,
        Kind = V1.OverrideKind.SuppressRule,
        Rule = "errors",
        Duration = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromMinutes(1)),
        Reason = reason,
    };

    private static async Task<List<ulong>> ReadAsync(TestDaemon daemon, V1.WatchRequest request, int count)
    {
        using var call = await daemon.WatchAsync(request);
        var sequences = new List<ulong>();
        using var timeout = new CancellationTokenSource(Timeout);
        while (sequences.Count < count && await call.ResponseStream.MoveNext(timeout.Token))
        {
            sequences.Add(call.ResponseStream.Current.Sequence);
        }

        return sequences;
    }

    private static List<long> RecordOffsets(string segment) =>
        [.. SegmentScan.Of(File.ReadAllBytes(segment)).Records.Select(r => r.Offset)];
}
