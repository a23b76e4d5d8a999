using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Client.Tests;

/// <summary>The watcher against a scripted DecisionService: every way a stream can break, and what it resumes with.</summary>
public class DecisionWatcherTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    private static readonly DecisionWatcherOptions Fast = new() { ReconnectDelay = TimeSpan.FromMilliseconds(10), MaxReconnectDelay = TimeSpan.FromMilliseconds(50) };

    private static async Task<(GrpcTestHost Host, ScriptedDecisions Script)> StartAsync()
    {
        var script = new ScriptedDecisions();
        var host = await GrpcTestHost.StartAsync(s => s.AddSingleton(script), app => app.MapGrpcService<ScriptedDecisionService>());
        return (host, script);
    }

    private static ScriptedDecisions.Step Send(IEnumerable<ulong> sequences, StatusCode? thenFail = null) => async (request, stream, context) =>
    {
        foreach (var s in sequences)
        {
            await stream.WriteAsync(ScriptedDecisions.Decision(s));
        }

        if (thenFail is { } code)
        {
            throw new RpcException(new Status(code, "scripted failure"));
        }
    };

    private static async Task<List<V1.Decision>> TakeAsync(DecisionWatcher watcher, DecisionFilter filter, int count)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        var seen = new List<V1.Decision>();
        await foreach (var decision in watcher.WatchAsync(filter, timeout.Token))
        {
            seen.Add(decision);
            if (seen.Count == count)
            {
                break;
            }
        }

        return seen;
    }

    [Fact]
    public async Task Every_decision_is_seen_once_in_order_across_unavailable_resource_exhausted_and_a_stream_that_ends()
    {
        var (host, script) = await StartAsync();
        await using var _ = host;
        script.Steps.Enqueue(Send([1, 2, 3], StatusCode.Unavailable));
        // The daemon replays from the log: overlapping decisions must not be yielded twice.
        script.Steps.Enqueue(Send([2, 3, 4, 5], StatusCode.ResourceExhausted));
        script.Steps.Enqueue(Send([5, 6]));
        script.Steps.Enqueue(Send([7, 9]));
        var watcher = new DecisionWatcher(host.Channel, Fast);

        var seen = await TakeAsync(watcher, new DecisionFilter { FromStart = true }, 7);

        Assert.Equal([1ul, 2, 3, 4, 5, 6, 7], seen.Select(d => d.Sequence).Take(7));
        Assert.Equal([(0ul, true), (3ul, false), (5ul, false), (6ul, false)], script.Requests.Select(r => (r.FromSequence, r.FromStart)));
        Assert.Equal(3, watcher.Reconnects);
        Assert.Equal(7ul, watcher.LastSequence);
    }

    [Fact]
    public async Task Filters_are_sent_with_every_request_and_a_saved_position_is_resumed()
    {
        var (host, script) = await StartAsync();
        await using var _ = host;
        script.Steps.Enqueue(Send([41], StatusCode.Unavailable));
        script.Steps.Enqueue(Send([42]));
        var watcher = new DecisionWatcher(host.Channel, Fast);
        var filter = new DecisionFilter { FromSequence = 40, IncludeShadow = true, Gates = { "checkout/v2" }, Deployments = { "checkout" } };

        var seen = await TakeAsync(watcher, filter, 2);

        Assert.Equal([41ul, 42], seen.Select(d => d.Sequence));
        Assert.All(script.Requests, r =>
        {
            Assert.Equal(["checkout/v2"], r.Gates);
            Assert.Equal(["checkout"], r.Deployments);
            Assert.True(r.IncludeShadow);
            Assert.False(r.FromStart);
        });
        Assert.Equal([40ul, 41], script.Requests.Select(r => r.FromSequence));
    }

    [Fact]
    public async Task A_live_watch_is_anchored_at_the_daemons_last_sequence_so_a_reconnect_misses_nothing()
    {
        var (host, script) = await StartAsync();
        await using var _ = host;
        script.LastSequence = 17;
        script.Steps.Enqueue(Send([], StatusCode.Unavailable));
        script.Steps.Enqueue(Send([18]));
        var watcher = new DecisionWatcher(host.Channel, Fast);

        var seen = await TakeAsync(watcher, new DecisionFilter(), 1);

        Assert.Equal(18ul, seen[0].Sequence);
        Assert.Equal([17ul, 17], script.Requests.Select(r => r.FromSequence));
    }

    [Fact]
    public async Task An_out_of_range_position_is_not_retried_but_reported()
    {
        var (host, script) = await StartAsync();
        await using var _ = host;
        script.Steps.Enqueue(Send([], StatusCode.OutOfRange));
        var watcher = new DecisionWatcher(host.Channel, Fast);

        var error = await Assert.ThrowsAsync<RpcException>(() => TakeAsync(watcher, new DecisionFilter { FromSequence = 1_000 }, 1));

        Assert.Equal(StatusCode.OutOfRange, error.StatusCode);
        Assert.Single(script.Requests);
    }

    [Fact]
    public async Task A_channel_factory_lets_the_watcher_follow_a_server_that_moved()
    {
        var (first, firstScript) = await StartAsync();
        var (second, secondScript) = await StartAsync();
        await using var _ = second;
        firstScript.Steps.Enqueue(Send([1, 2]));
        secondScript.Steps.Enqueue(Send([2, 3]));
        var current = first;
        var watcher = new DecisionWatcher(() => current.Channel.CreateCallInvoker(), Fast);
        using var timeout = new CancellationTokenSource(Timeout);
        var seen = new List<ulong>();

        await foreach (var decision in watcher.WatchAsync(new DecisionFilter { FromStart = true }, timeout.Token))
        {
            seen.Add(decision.Sequence);
            if (decision.Sequence == 2)
            {
                current = second;
                await first.DisposeAsync();
            }

            if (decision.Sequence == 3)
            {
                break;
            }
        }

        Assert.Equal([1ul, 2, 3], seen);
        Assert.Equal(2ul, Assert.Single(secondScript.Requests).FromSequence);
    }

    [Fact]
    public async Task Cancelling_ends_the_enumeration()
    {
        var (host, _) = await StartAsync();
        await using var h = host;
        var watcher = new DecisionWatcher(host.Channel, Fast);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in watcher.WatchAsync(new DecisionFilter { FromStart = true }, cancel.Token))
            {
            }
        });
    }
    [Fact]
    public async Task Callbacks_tell_when_the_watch_is_live_when_it_broke_and_when_it_resumed()
    {
        var (host, script) = await StartAsync();
        await using var _ = host;
        script.Steps.Enqueue(Send([1, 2], StatusCode.Unavailable));
        script.Steps.Enqueue(Send([2, 3]));
        var events = new List<object>();
        var options = new DecisionWatcherOptions
        {
            ReconnectDelay = Fast.ReconnectDelay,
            MaxReconnectDelay = Fast.MaxReconnectDelay,
            Watching = events.Add,
            Reconnecting = events.Add,
        };
        var watcher = new DecisionWatcher(host.Channel, options);

        var seen = await TakeAsync(watcher, new DecisionFilter { FromStart = true }, 3);

        Assert.Equal([1ul, 2, 3], seen.Select(d => d.Sequence));
        Assert.Equal(3, events.Count);
        Assert.Equal(new DecisionWatchStarted(0, FromStart: true, Resumed: false), events[0]);
        var retry = Assert.IsType<DecisionWatchReconnecting>(events[1]);
        Assert.Equal(StatusCode.Unavailable, Assert.IsType<RpcException>(retry.Failure).StatusCode);
        Assert.Equal(2ul, retry.ResumeAfter);
        Assert.Equal(1, retry.Attempt);
        Assert.InRange(retry.Delay, TimeSpan.Zero, Fast.MaxReconnectDelay);
        Assert.Equal(new DecisionWatchStarted(2, FromStart: false, Resumed: true), events[2]);
    }

    [Fact]
    public async Task An_unreachable_daemon_is_retried_and_reported_until_it_answers()
    {
        var (host, script) = await StartAsync();
        await using var _ = host;
        script.LastSequence = 5;
        script.Steps.Enqueue(Send([6]));
        using var nowhere = Grpc.Net.Client.GrpcChannel.ForAddress($"http://127.0.0.1:{UnusedPort()}");
        var connects = 0;
        var retries = new List<DecisionWatchReconnecting>();
        var started = new List<DecisionWatchStarted>();
        var options = new DecisionWatcherOptions
        {
            ReconnectDelay = Fast.ReconnectDelay,
            MaxReconnectDelay = Fast.MaxReconnectDelay,
            Watching = started.Add,
            Reconnecting = retries.Add,
        };
        var watcher = new DecisionWatcher(() => (++connects <= 4 ? nowhere : host.Channel).CreateCallInvoker(), options);

        var seen = await TakeAsync(watcher, new DecisionFilter(), 1);

        Assert.Equal(6ul, Assert.Single(seen).Sequence);
        Assert.Equal([1, 2, 3, 4], retries.Select(r => r.Attempt));
        Assert.All(retries, r =>
        {
            Assert.Equal(StatusCode.Unavailable, Assert.IsType<RpcException>(r.Failure).StatusCode);
            Assert.Null(r.ResumeAfter); // ListGates never answered: no starting point yet.
        });
        Assert.Equal(new DecisionWatchStarted(5, FromStart: false, Resumed: false), Assert.Single(started));
    }

    private static int UnusedPort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var port = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
