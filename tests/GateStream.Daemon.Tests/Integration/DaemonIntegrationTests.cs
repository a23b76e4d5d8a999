using System.Net.Http;
using Grpc.Core;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Integration;

/// <summary>The daemon over real loopback sockets: ingest, the decision stream, resume, restart, the control API.</summary>
public class DaemonIntegrationTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    /// <summary>Healthy traffic for both versions until cancelled, so gates have evidence.</summary>
    private static async Task FeedAsync(TestDaemon daemon, string deployment, CancellationToken stop, int canaryErrorEvery = 0)
    {
        while (!stop.IsCancellationRequested)
        {
            await daemon.PushAsync(
                EventBatches.Batch(deployment, "v1", 40),
                EventBatches.Batch(deployment, "v2", 20, canaryErrorEvery));
            try
            {
                await Task.Delay(100, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private static Task<List<V1.Decision>> CollectAsync(AsyncServerStreamingCall<V1.Decision> call, Func<List<V1.Decision>, bool> done) =>
        TestDaemon.CollectAsync(call, done, Timeout);

    [Fact]
    public async Task Pushed_events_drive_promotions_on_watch_and_a_resume_misses_nothing()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast());
        await daemon.StartAsync();
        using var watch = await daemon.WatchAsync(new V1.WatchRequest());
        using var feeding = new CancellationTokenSource();
        var feed = FeedAsync(daemon, "checkout", feeding.Token);

        var live = await CollectAsync(watch, seen => seen.Any(d => d.Weight == 100));
        await feeding.CancelAsync();
        await feed;

        // The canary carries a third of the traffic (20 of 60 requests) when its gate opens by itself: the gate starts
        // at its observed share, about 33, and steps by 25 from there.
        var promotions = live.Where(d => d.Action == V1.Action.Promote).Select(d => d.Weight).ToList();
        Assert.InRange(promotions[0], 55u, 61u);
        Assert.Equal([75u, 100u], promotions[1..]);
        Assert.All(live, d => Assert.Equal("checkout/v2", d.Gate));
        Assert.Equal(V1.Phase.Succeeded, live[^1].Phase);
        Assert.Equal(live.Select(d => d.Sequence), live.Select((_, i) => (ulong)(i + 1)));
        Assert.NotEmpty(live[0].Evidence);
        Assert.Equal(V1.RuleStatus.Passing, live[0].Evidence[0].Status);

        // A controller that saw only the first decision resumes: it gets exactly the rest, from the log.
        using var resumed = daemon.Decisions.Watch(new V1.WatchRequest { FromSequence = 1 });
        var replay = await CollectAsync(resumed, seen => seen.Count == live.Count - 1);
        Assert.Equal(live.Skip(1).Select(d => d.Sequence), replay.Select(d => d.Sequence));
        Assert.Equal(live[^1], replay[^1]);

        var gates = await daemon.Decisions.ListGatesAsync(new V1.ListGatesRequest { IncludeFinished = true });
        var gate = Assert.Single(gates.Gates);
        Assert.Equal(("v1", "v2", 100u), (gate.BaselineVersion, gate.CanaryVersion, gate.Weight));
        Assert.Equal(live[^1].Sequence, gates.LastSequence);
    }

    [Fact]
    public async Task After_a_restart_the_sequence_continues_and_gates_resume_from_their_phase_and_weight()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "2s"));
        await daemon.StartAsync();
        V1.Decision first;
        using (var feeding = new CancellationTokenSource())
        {
            using var watch = await daemon.WatchAsync(new V1.WatchRequest());
            var feed = FeedAsync(daemon, "checkout", feeding.Token);
            first = (await CollectAsync(watch, seen => seen.Count == 1))[0];
            await feeding.CancelAsync();
            await feed;
        }

        var before = await daemon.Decisions.GetGateAsync(new V1.GetGateRequest { Gate = "checkout/v2" });
        await daemon.StopAsync();
        await daemon.StartAsync();

        // The gate may still have stepped between the read above and the stop (its window still held traffic), so the
        // restored gate is compared with the last decision the log holds for it, not with the earlier read.
        var restored = await daemon.Decisions.GetGateAsync(new V1.GetGateRequest { Gate = "checkout/v2" });
        Assert.True(restored.LastDecisionSequence >= before.LastDecisionSequence);
        var pause = await daemon.Control.OverrideAsync(
            new V1.OverrideRequest { Gate = "checkout/v2", Kind = V1.OverrideKind.Pause, Reason = "after restart" }, TestDaemon.Bearer());
        Assert.True(pause.Sequence > restored.LastDecisionSequence);

        using var fromLog = daemon.Decisions.Watch(new V1.WatchRequest { FromStart = true });
        var all = await CollectAsync(fromLog, seen => seen.Any(d => d.Sequence == pause.Sequence));
        Assert.Equal(first, all[0]);
        Assert.Equal(all.Select(d => d.Sequence), Enumerable.Range((int)first.Sequence, all.Count).Select(i => (ulong)i));
        var lastBeforeRestart = all.Single(d => d.Sequence == restored.LastDecisionSequence);
        Assert.Equal((lastBeforeRestart.Phase, lastBeforeRestart.Weight), (restored.Phase, restored.Weight));
    }

    [Fact]
    public async Task The_control_api_needs_a_token_and_names_what_is_wrong()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"));
        await daemon.StartAsync();
        var start = new V1.StartRolloutRequest { Deployment = "checkout", BaselineVersion = "v1", CanaryVersion = "v7" };

        var none = await Assert.ThrowsAsync<RpcException>(async () => await daemon.Control.StartRolloutAsync(start));
        Assert.Equal(StatusCode.Unauthenticated, none.StatusCode);
        var wrong = await Assert.ThrowsAsync<RpcException>(async () => await daemon.Control.StartRolloutAsync(start, TestDaemon.Bearer("guess")));
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);

        var gate = await daemon.Control.StartRolloutAsync(start, TestDaemon.Bearer());
        Assert.Equal(("checkout/v7", "alice", 25u), (gate.Id, gate.StartedBy, gate.Weight));

        var unknown = await Assert.ThrowsAsync<RpcException>(async () => await daemon.Control.OverrideAsync(
            new V1.OverrideRequest { Gate = "checkout/v9", Kind = V1.OverrideKind.Pause, Reason = "x" }, TestDaemon.Bearer()));
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        var noReason = await Assert.ThrowsAsync<RpcException>(async () => await daemon.Control.OverrideAsync(
            new V1.OverrideRequest { Gate = "checkout/v7", Kind = V1.OverrideKind.Pause }, TestDaemon.Bearer()));
        Assert.Equal(StatusCode.InvalidArgument, noReason.StatusCode);
        Assert.StartsWith("reason", noReason.Status.Detail, StringComparison.Ordinal);
        var illegal = await Assert.ThrowsAsync<RpcException>(async () => await daemon.Control.OverrideAsync(
            new V1.OverrideRequest { Gate = "checkout/v7", Kind = V1.OverrideKind.Resume, Reason = "nothing to resume" }, TestDaemon.Bearer()));
        Assert.Equal(StatusCode.FailedPrecondition, illegal.StatusCode);

        using var watch = await daemon.WatchAsync(new V1.WatchRequest { Gates = { "checkout/v7" } });
        var paused = await daemon.Control.OverrideAsync(
            new V1.OverrideRequest { Gate = "checkout/v7", Kind = V1.OverrideKind.Pause, Reason = "investigating latency" }, TestDaemon.Bearer());
        Assert.Equal((V1.Action.Pause, V1.Phase.Paused, "alice"), (paused.Action, paused.Phase, paused.Override.Actor));
        var streamed = (await CollectAsync(watch, seen => seen.Count == 1))[0];
        Assert.Equal(paused, streamed);
    }

    [Fact]
    public async Task A_slow_subscriber_is_cut_off_with_resource_exhausted_and_others_get_everything()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"), new Dictionary<string, string?>
        {
            ["GateStream:Engine:SubscriberBuffer"] = "64",
            ["GateStream:State:Fsync"] = "false",
        });
        await daemon.StartAsync();
        await daemon.Control.StartRolloutAsync(new V1.StartRolloutRequest { Deployment = "checkout", BaselineVersion = "v1", CanaryVersion = "v2" }, TestDaemon.Bearer());

        using var slow = await daemon.WatchAsync(new V1.WatchRequest());
        using var fast = await daemon.WatchAsync(new V1.WatchRequest());
        const int decisions = 600;
        var fastReader = CollectAsync(fast, seen => seen.Count == decisions);
        var reason = new string('x', 4_000); // large decisions fill the slow stream's HTTP/2 window sooner
        for (var i = 0; i < decisions; i++)
        {
            await daemon.Control.OverrideAsync(new V1.OverrideRequest
            {
                Gate = "checkout/v2",
                Kind = V1.OverrideKind.SuppressRule,
                Rule = "errors",
                Duration = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromMinutes(1)),
                Reason = reason,
            }, TestDaemon.Bearer());
        }

        Assert.Equal(decisions, (await fastReader).Count);
        var error = await Assert.ThrowsAsync<RpcException>(async () =>
        {
            while (await slow.ResponseStream.MoveNext())
            {
            }
        });
        Assert.Equal(StatusCode.ResourceExhausted, error.StatusCode);
        Assert.Contains("from_sequence", error.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Malformed_push_batches_are_refused_with_a_message_and_counted()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast());
        await daemon.StartAsync();
        var bad = EventBatches.Batch("checkout", "v1", 10);
        bad.LatencyMicros.RemoveAt(0);
        var response = await daemon.PushAsync(EventBatches.Batch("checkout", "v1", 10), bad, new V1.EventBatch { Version = "v1" });

        Assert.Equal(10ul, response.AcceptedEvents);
        Assert.Equal(10ul, response.RejectedEvents);
        Assert.Contains("latency_micros has 9 values for 10 events", response.ErrorMessage, StringComparison.Ordinal);

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{daemon.HttpPort}") };
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("gatestream_decode_errors_total{source=\"grpc\"} 2", metrics, StringComparison.Ordinal);
        Assert.Contains("gatestream_events_received_total{source=\"grpc\"} 10", metrics, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^gatestream_gc_heap_bytes [1-9]", metrics);
        Assert.Equal("Healthy", await http.GetStringAsync(new Uri("/healthz", UriKind.Relative)));
    }

    [Fact]
    public async Task Bad_metric_samples_are_refused_alone()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast());
        await daemon.StartAsync();
        var metrics = new V1.MetricBatch { Deployment = "db", Version = "m1" };
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000;
        metrics.Samples.Add(new V1.MetricSample { Name = "replication_lag_seconds", TimeUnixMicros = now, Value = 1.5, Kind = V1.MetricKind.Gauge });
        metrics.Samples.Add(new V1.MetricSample { Name = "replication_lag_seconds", TimeUnixMicros = now, Value = double.NaN, Kind = V1.MetricKind.Gauge });
        metrics.Samples.Add(new V1.MetricSample { Name = "pool", TimeUnixMicros = now, Value = 0.5 });
        using var call = daemon.Ingest.Push();
        var request = new V1.PushRequest();
        request.Metrics.Add(metrics);
        await call.RequestStream.WriteAsync(request);
        await call.RequestStream.CompleteAsync();
        var response = await call;

        Assert.Equal((1ul, 2ul), (response.AcceptedSamples, response.RejectedSamples));
        Assert.Contains("value must be finite", response.ErrorMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_setting_stops_the_daemon_with_a_message_naming_the_key()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(), new Dictionary<string, string?>
        {
            ["GateStream:Engine:TickInterval"] = "00:10:00",
        });
        var error = await Assert.ThrowsAnyAsync<Exception>(daemon.StartAsync);
        Assert.Contains("GateStream:Engine:TickInterval", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Shutdown_ends_watch_streams_with_unavailable_and_is_prompt()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast());
        await daemon.StartAsync();
        using var watch = await daemon.WatchAsync(new V1.WatchRequest());
        var reading = Task.Run(async () =>
        {
            while (await watch.ResponseStream.MoveNext())
            {
            }
        });

        var stopwatch = System.Diagnostics.Stopwatch.StartNew();
        await daemon.StopAsync();
        stopwatch.Stop();

        var error = await Assert.ThrowsAsync<RpcException>(() => reading);
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        Assert.Contains("from_sequence", error.Status.Detail, StringComparison.Ordinal);
        Assert.True(stopwatch.Elapsed < TimeSpan.FromSeconds(10), $"shutdown took {stopwatch.Elapsed}");
    }

    [Fact]
    public async Task Tap_streams_a_copy_of_every_ingested_batch()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast());
        await daemon.StartAsync();
        using var tap = daemon.Ingest.Tap(new V1.TapRequest { Deployments = { "checkout" } });
        await tap.ResponseHeadersAsync;

        var sent = EventBatches.Batch("checkout", "v1", 25, errorEvery: 5);
        await daemon.PushAsync(sent, EventBatches.Batch("other", "v1", 3));

        using var timeout = new CancellationTokenSource(Timeout);
        Assert.True(await tap.ResponseStream.MoveNext(timeout.Token));
        var copy = Assert.Single(tap.ResponseStream.Current.Events);
        Assert.Equal((sent.Deployment, sent.Version), (copy.Deployment, copy.Version));
        Assert.Equal(Times(sent), Times(copy));
        Assert.Equal(sent.LatencyMicros, copy.LatencyMicros);
        Assert.Equal(sent.StatusCodes.Select(s => s >= 500), copy.Errors);

        static IEnumerable<long> Times(V1.EventBatch b)
        {
            var t = b.BaseTimeUnixMicros;
            foreach (var d in b.TimeDeltasMicros)
            {
                yield return t += d;
            }
        }
    }
}
