using Grpc.Core;
using V1 = GateStream.Contracts.V1;
using Duration = Google.Protobuf.WellKnownTypes.Duration;

namespace GateStream.Daemon.Tests.Integration;

/// <summary>
/// Bad input on every RPC gets the status code the contracts (proto/gatestream/v1) promise, and none of it takes the
/// daemon down: after all of it the daemon still lists gates and reports itself healthy.
/// </summary>
public class BadInputTests
{
    private const string Gate = "checkout/v2";

    private static async Task<RpcException> Fails(StatusCode expected, Func<Task> call)
    {
        var e = await Assert.ThrowsAsync<RpcException>(call);
        Assert.True(expected == e.StatusCode, $"expected {expected}, got {e.StatusCode}: {e.Status.Detail}");
        return e;
    }

    [Fact]
    public async Task Bad_input_on_every_rpc_gets_the_documented_status_and_the_daemon_stays_healthy()
    {
        await using var daemon = new TestDaemon(
            TestPolicies.Fast(stepInterval: "1h"),
            new Dictionary<string, string?> { ["GateStream:Engine:MaxReceiveMessageBytes"] = (64 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture) });
        await daemon.StartAsync();
        var bearer = TestDaemon.Bearer();

        var gate = await daemon.Control.StartRolloutAsync(
            new V1.StartRolloutRequest { Deployment = "checkout", BaselineVersion = "v1", CanaryVersion = "v2" }, bearer);
        Assert.Equal(Gate, gate.Id);

        // Watch: a position beyond the end of the log.
        var list = await daemon.Decisions.ListGatesAsync(new V1.ListGatesRequest());
        await Fails(StatusCode.OutOfRange, async () =>
        {
            using var watch = daemon.Decisions.Watch(new V1.WatchRequest { FromSequence = list.LastSequence + 1_000 });
            await watch.ResponseStream.MoveNext();
        });

        // GetGate.
        await Fails(StatusCode.InvalidArgument, async () => await daemon.Decisions.GetGateAsync(new V1.GetGateRequest { Gate = "" }));
        await Fails(StatusCode.NotFound, async () => await daemon.Decisions.GetGateAsync(new V1.GetGateRequest { Gate = "nope/v9" }));

        // StartRollout.
        await Fails(StatusCode.InvalidArgument, async () => await daemon.Control.StartRolloutAsync(new V1.StartRolloutRequest(), bearer));
        await Fails(StatusCode.InvalidArgument, async () => await daemon.Control.StartRolloutAsync(
            new V1.StartRolloutRequest { Deployment = "checkout", BaselineVersion = "v1", CanaryVersion = "" }, bearer));
        await Fails(StatusCode.InvalidArgument, async () => await daemon.Control.StartRolloutAsync(
            new V1.StartRolloutRequest { Deployment = "checkout", BaselineVersion = "v1", CanaryVersion = "v2", InitialWeight = 500 }, bearer));
        await Fails(StatusCode.NotFound, async () => await daemon.Control.StartRolloutAsync(
            new V1.StartRolloutRequest { Deployment = "checkout", BaselineVersion = "v1", CanaryVersion = "v2", Policy = "no-such-policy" }, bearer));

        // Override.
        await Fails(StatusCode.InvalidArgument, async () => await daemon.Control.OverrideAsync(
            new V1.OverrideRequest { Gate = Gate, Kind = (V1.OverrideKind)99, Reason = "bad kind" }, bearer));
        var noRule = await Fails(StatusCode.InvalidArgument, async () => await daemon.Control.OverrideAsync(
            new V1.OverrideRequest { Gate = Gate, Kind = V1.OverrideKind.SuppressRule, Duration = Duration.FromTimeSpan(TimeSpan.FromMinutes(1)), Reason = "no rule" }, bearer));
        Assert.Contains("rule", noRule.Status.Detail, StringComparison.OrdinalIgnoreCase);
        var noDuration = await Fails(StatusCode.InvalidArgument, async () => await daemon.Control.OverrideAsync(
            new V1.OverrideRequest { Gate = Gate, Kind = V1.OverrideKind.SuppressRule, Rule = "errors", Reason = "no duration" }, bearer));
        Assert.Contains("duration", noDuration.Status.Detail, StringComparison.OrdinalIgnoreCase);

        // Push: one message over the listener's maximum (64 KiB here; this batch is ~200 KiB).
        var big = EventBatches.Batch("checkout", "v2", 36_000);
        Assert.True(new V1.PushRequest { Events = { big } }.CalculateSize() > 200 * 1024);
        await Fails(StatusCode.ResourceExhausted, async () =>
        {
            using var call = daemon.Ingest.Push();
            try
            {
                await call.RequestStream.WriteAsync(new V1.PushRequest { Events = { big } });
                await call.RequestStream.CompleteAsync();
            }
            catch (RpcException)
            {
                // The server may end the call while the client is still writing; its status is the call's outcome.
            }

            await call;
        });

        // Push: an empty request is fine and carries nothing.
        using (var call = daemon.Ingest.Push())
        {
            await call.RequestStream.WriteAsync(new V1.PushRequest());
            await call.RequestStream.CompleteAsync();
            var empty = await call;
            Assert.Equal(0ul, empty.AcceptedEvents);
            Assert.Equal(0ul, empty.RejectedEvents);
            Assert.Equal(0ul, empty.AcceptedSamples);
            Assert.Equal(0ul, empty.RejectedSamples);
            Assert.Equal("", empty.ErrorMessage);
        }

        // Push: a metric sample with an unknown kind is refused alone.
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000;
        using (var call = daemon.Ingest.Push())
        {
            var request = new V1.PushRequest();
            request.Metrics.Add(new V1.MetricBatch
            {
                Deployment = "checkout",
                Version = "v2",
                Samples =
                {
                    new V1.MetricSample { Name = "queue_depth", TimeUnixMicros = now, Value = 1, Kind = (V1.MetricKind)99 },
                    new V1.MetricSample { Name = "queue_depth", TimeUnixMicros = now, Value = 2, Kind = V1.MetricKind.Gauge },
                },
            });
            await call.RequestStream.WriteAsync(request);
            await call.RequestStream.CompleteAsync();
            var response = await call;
            Assert.Equal(1ul, response.RejectedSamples);
            Assert.Equal(1ul, response.AcceptedSamples);
            Assert.NotEqual("", response.ErrorMessage);
        }

        // Still standing.
        var after = await daemon.Decisions.ListGatesAsync(new V1.ListGatesRequest());
        Assert.Contains(after.Gates, g => g.Id == Gate);
        using var http = new HttpClient();
        var health = await http.GetStringAsync(new Uri($"http://127.0.0.1:{daemon.HttpPort}/healthz"));
        Assert.Equal("Healthy", health);
    }
}
