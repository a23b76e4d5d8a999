using GateStream.Daemon.Tests.Integration;
using Grpc.Core;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Otlp;

/// <summary>From instrumented services to decisions: OTLP spans alone drive a gate to full promotion.</summary>
[Collection(OtlpSerialTests.Name)]
public class OtlpEndToEndTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Healthy_spans_from_two_versions_exported_over_OTLP_promote_the_canary_on_watch()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast("checkout"));
        await daemon.StartAsync();
        var endpoint = new Uri($"http://127.0.0.1:{daemon.GrpcPort}");
        using var watch = await daemon.WatchAsync(new V1.WatchRequest());
        using var v1 = new OtelService(endpoint, "checkout", "v1");
        using var v2 = new OtelService(endpoint, "checkout", "v2");

        // The baseline is the version already serving when the canary's first requests arrive.
        Send(v1, 40);
        using var stop = new CancellationTokenSource();
        var feeding = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                Send(v1, 40);
                Send(v2, 20);
                try
                {
                    await Task.Delay(100, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        });

        var decisions = await CollectAsync(watch, seen => seen.Any(d => d.Weight == 100));
        await stop.CancelAsync();
        await feeding;

        // The canary carries a third of the traffic (20 of 60 requests) when its gate opens by itself: the gate starts
        // at its observed share, about 33, and steps by 25 from there.
        var promotions = decisions.Where(d => d.Action == V1.Action.Promote).Select(d => d.Weight).ToList();
        Assert.InRange(promotions[0], 55u, 61u);
        Assert.Equal([75u, 100u], promotions[1..]);
        Assert.All(decisions, d => Assert.Equal(("checkout/v2", "v1", "v2"), (d.Gate, d.BaselineVersion, d.CanaryVersion)));
        Assert.Equal(V1.Phase.Succeeded, decisions[^1].Phase);
        var evidence = decisions[0].Evidence[0];
        Assert.Equal(V1.RuleStatus.Passing, evidence.Status);
    }

    private static void Send(OtelService service, int requests)
    {
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < requests; i++)
        {
            service.Span(now.AddMilliseconds(-i), TimeSpan.FromMilliseconds(8 + (i % 5)), httpStatus: 200);
        }

        service.Flush();
    }

    private static Task<List<V1.Decision>> CollectAsync(AsyncServerStreamingCall<V1.Decision> call, Func<List<V1.Decision>, bool> done) =>
        TestDaemon.CollectAsync(call, done, Timeout);
}
