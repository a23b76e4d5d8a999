using GateStream.Daemon.Tests.Integration;
using Google.Protobuf;
using Grpc.Core;
using Grpc.Reflection.V1Alpha;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Services;

/// <summary>IngestService.Push as raw bytes reach it (the native batch reader behind a raw marshaller), over real gRPC.</summary>
public sealed class IngestServiceTests
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(static b => b, static b => b);

    private static readonly Method<byte[], byte[]> RawPush = new(MethodType.ClientStreaming, "gatestream.v1.IngestService", "Push", Bytes, Bytes);

    [Fact]
    public async Task A_message_that_is_not_a_PushRequest_fails_the_call_naming_it_and_the_ones_before_stay_applied()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast());
        await daemon.StartAsync();
        var invoker = daemon.Channel!.CreateCallInvoker();
        using var call = invoker.AsyncClientStreamingCall(RawPush, null, new CallOptions());
        await call.RequestStream.WriteAsync(new V1.PushRequest { Events = { EventBatches.Batch("checkout", "v1", 10) } }.ToByteArray());
        // Field 1 (events), length-delimited, with a length that runs past the end.
        await call.RequestStream.WriteAsync([0x0A, 0x7F, 0x01]);
        try
        {
            await call.RequestStream.CompleteAsync();
        }
        catch (RpcException)
        {
            // The server may end the call first; its status is the outcome.
        }

        var error = await Assert.ThrowsAsync<RpcException>(async () => await call.ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, error.StatusCode);
        Assert.StartsWith("message 1: not a PushRequest: malformed at byte 1", error.Status.Detail, StringComparison.Ordinal);

        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{daemon.HttpPort}") };
        var metrics = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
        Assert.Contains("gatestream_events_received_total{source=\"grpc\"} 10", metrics, StringComparison.Ordinal);
        Assert.Contains("gatestream_decode_errors_total{source=\"grpc\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rejections_of_every_message_are_counted_and_the_first_is_named_with_its_message()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast());
        await daemon.StartAsync();
        using var call = daemon.Ingest.Push();
        var good = EventBatches.Batch("checkout", "v1", 10);
        await call.RequestStream.WriteAsync(new V1.PushRequest { Events = { good } });
        var bad = EventBatches.Batch("checkout", "v2", 4);
        bad.StatusCodes.Add(200);
        var metrics = new V1.MetricBatch { Deployment = "db", Version = "m1" };
        metrics.Samples.Add(new V1.MetricSample { Name = "lag", TimeUnixMicros = good.BaseTimeUnixMicros, Value = 1, Kind = V1.MetricKind.Gauge });
        metrics.Samples.Add(new V1.MetricSample { Name = "lag", TimeUnixMicros = good.BaseTimeUnixMicros, Value = 2 });
        await call.RequestStream.WriteAsync(new V1.PushRequest { Events = { good, bad }, Metrics = { metrics } });
        await call.RequestStream.WriteAsync(new V1.PushRequest { Events = { bad } });
        await call.RequestStream.CompleteAsync();
        var response = await call;

        Assert.Equal((20ul, 8ul, 1ul, 1ul), (response.AcceptedEvents, response.RejectedEvents, response.AcceptedSamples, response.RejectedSamples));
        Assert.Equal("message 1, events[1] (checkout@v2): status_codes has 5 values for 4 events (it must be empty or one per event)", response.ErrorMessage);
    }

    [Fact]
    public async Task Server_reflection_still_describes_the_ingest_service()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast());
        await daemon.StartAsync();
        using var call = new ServerReflection.ServerReflectionClient(daemon.Channel!).ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext());

        var services = call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name).ToArray();
        Assert.Contains("gatestream.v1.IngestService", services);
        Assert.Contains("gatestream.v1.DecisionService", services);
    }
}
