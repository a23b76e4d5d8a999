using Xunit.Abstractions;
using GateStream.Daemon.Tests.Integration;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Otlp;

/// <summary>
/// The two situations that used to defeat the gate, end to end: services instrumented with the real OpenTelemetry
/// SDK export spans over OTLP/gRPC, and a controller that follows every decision's weight shifts their traffic.
/// A canary that fails from its first request must be rolled back, whichever form the policy is written in; in
/// particular a Flagger rollout must not be stranded at weight 0 with no traffic and no evidence.
/// </summary>
[Collection(OtlpSerialTests.Name)]
public class BadCanaryEndToEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

    // Flagger's form as its users write it; interval at Flagger's 10 s minimum so the test takes seconds, not minutes.
    private const string FlaggerCanary = """
        apiVersion: flagger.app/v1beta1
        kind: Canary
        metadata: { name: checkout }
        spec:
          targetRef: { apiVersion: apps/v1, kind: Deployment, name: checkout }
          analysis:
            interval: 10s
            threshold: 2
            stepWeight: 10
            maxWeight: 50
            metrics:
            - name: request-success-rate
              thresholdRange: { min: 98 }
              interval: 30s
        """;

    private const string NativePolicy = """
        apiVersion: gatestream.io/v1
        kind: GatePolicy
        metadata: { name: checkout }
        spec:
          target: checkout
          progression: { stepWeight: 10, maxWeight: 50, stepInterval: 1m }
          rules:
            - { name: error-rate-rollback, signal: error-rate, max: 0.02, confidence: 0.99, action: rollback }
        """;

    [Theory]
    [InlineData("flagger", 0u)]
    [InlineData("native", 10u)]
    public async Task A_canary_failing_from_its_first_request_is_rolled_back_while_the_controller_follows_the_weight(string form, uint startWeight)
    {
        await using var daemon = new TestDaemon(form == "flagger" ? FlaggerCanary : NativePolicy);
        await daemon.StartAsync();
        var endpoint = new Uri($"http://127.0.0.1:{daemon.GrpcPort}");
        using var watch = await daemon.WatchAsync(new V1.WatchRequest());
        using var stable = new OtelService(endpoint, "checkout", "v1");
        using var canary = new OtelService(endpoint, "checkout", "v2");

        // The controller starts the rollout at the weight it has set (Flagger starts a canary at 0).
        await daemon.Control.StartRolloutAsync(new V1.StartRolloutRequest
        {
            Deployment = "checkout",
            BaselineVersion = "v1",
            CanaryVersion = "v2",
            CurrentWeight = startWeight,
        }, TestDaemon.Bearer());

        var weight = (int)startWeight; // written by the decision reader, read by the traffic loop
        using var stop = new CancellationTokenSource();
        var random = new Random(7);
        var traffic = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                // 200 requests per 100 ms, split by the weight the controller last applied; the canary fails 6%.
                var toCanary = 200 * Volatile.Read(ref weight) / 100;
                Send(stable, 200 - toCanary, random, errorRate: 0.001);
                Send(canary, toCanary, random, errorRate: 0.06);
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

        var decisions = new List<V1.Decision>();
        using var timeout = new CancellationTokenSource(Timeout);
        try
        {
            while (await watch.ResponseStream.MoveNext(timeout.Token))
            {
                var decision = watch.ResponseStream.Current;
                decisions.Add(decision);
                output.WriteLine($"{decision.Action} weight {decision.Weight} ({decision.Phase}): {decision.Reason}");
                Volatile.Write(ref weight, (int)decision.Weight);
                if (decision.Action == V1.Action.Rollback)
                {
                    break;
                }
            }
        }
        finally
        {
            await stop.CancelAsync();
            await traffic;
        }

        var last = Assert.IsType<V1.Decision>(decisions.LastOrDefault(), exactMatch: false);
        Assert.Equal((V1.Action.Rollback, 0u, V1.Phase.RolledBack), (last.Action, last.Weight, last.Phase));
        // Before the rollback, no decision lowered the weight: only a rollback may.
        for (var i = 1; i < decisions.Count - 1; i++)
        {
            Assert.True(decisions[i].Weight >= decisions[i - 1].Weight, $"decision {i} lowered the weight without rolling back");
        }
    }

    private static void Send(OtelService service, int requests, Random random, double errorRate)
    {
        if (requests <= 0)
        {
            return;
        }

        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < requests; i++)
        {
            service.Span(now.AddMilliseconds(-random.Next(100)), TimeSpan.FromMilliseconds(5 + random.Next(10)), httpStatus: random.NextDouble() < errorRate ? 503 : 200);
        }

        service.Flush();
    }
}
