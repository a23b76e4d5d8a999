using GateStream.Client;
using Grpc.Core;
using Collector = GateStream.Contracts.Otlp.Collector.Trace.V1;
using Common = GateStream.Contracts.Otlp.Common.V1;
using OtlpResource = GateStream.Contracts.Otlp.Resource.V1.Resource;
using OtlpTrace = GateStream.Contracts.Otlp.Trace.V1;

namespace GateStream.Daemon.Tests.Integration;

/// <summary>
/// Events refused for the series cap or a budget are reported as refused to their sender on every path that answers:
/// the Push response, OTLP partial success, and the framed ACK. The deployment budget here is 3 versions.
/// </summary>
public class SeriesBudgetTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static Dictionary<string, string?> Budget(int perDeployment, string? framed = null) => new()
    {
        ["GateStream:Engine:MaxSeriesPerDeployment"] = perDeployment.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["GateStream:Framed:Endpoint"] = framed ?? "",
    };

    [Fact]
    public async Task Push_counts_versions_past_the_deployment_budget_as_rejected_and_says_why()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(target: "unrelated"), Budget(3));
        await daemon.StartAsync();

        var response = await daemon.PushAsync([.. Enumerable.Range(0, 5).Select(v => EventBatches.Batch("api", $"evil-{v}", 10))]);

        Assert.Equal((30ul, 20ul), (response.AcceptedEvents, response.RejectedEvents));
        Assert.Contains("deployment 'api' has its 3 live series (Engine:MaxSeriesPerDeployment)", response.ErrorMessage, StringComparison.Ordinal);

        // Another deployment is not affected, and a version that is already live keeps being accepted.
        var other = await daemon.PushAsync(EventBatches.Batch("checkout", "v2", 10), EventBatches.Batch("api", "evil-0", 10));
        Assert.Equal((20ul, 0ul, ""), (other.AcceptedEvents, other.RejectedEvents, other.ErrorMessage));
    }

    [Fact]
    public async Task Otlp_reports_spans_past_the_deployment_budget_as_a_partial_success()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(target: "unrelated"), Budget(3));
        await daemon.StartAsync();
        var client = new Collector.TraceService.TraceServiceClient(daemon.Channel);

        var response = await client.ExportAsync(Request("api", versions: 5, spans: 4));

        Assert.NotNull(response.PartialSuccess);
        Assert.Equal(8, response.PartialSuccess.RejectedSpans);
        Assert.Contains("(Engine:MaxSeriesPerDeployment)", response.PartialSuccess.ErrorMessage, StringComparison.Ordinal);
        var fine = await client.ExportAsync(Request("checkout", versions: 1, spans: 4));
        Assert.Null(fine.PartialSuccess);
    }

    [Fact]
    public async Task The_framed_ack_counts_events_past_the_deployment_budget_as_rejected()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(target: "unrelated"), Budget(3, "127.0.0.1:0"));
        await daemon.StartAsync();
        var endpoint = daemon.FramedEndpoint;
        await using var sender = new EventSender(new EventSenderOptions { Endpoint = endpoint, FlushInterval = TimeSpan.FromMilliseconds(50) });

        var now = DateTimeOffset.UtcNow;
        for (var v = 0; v < 5; v++)
        {
            for (var i = 0; i < 10; i++)
            {
                sender.Record("api", $"evil-{v}", now.AddMilliseconds(-i), TimeSpan.FromMilliseconds(2), 200);
            }
        }

        await sender.FlushAsync().WaitAsync(Timeout);

        Assert.Equal((30L, 20L), (sender.Stats.Acknowledged, sender.Stats.Rejected));
        Assert.Contains("(Engine:MaxSeriesPerDeployment)", sender.LastRejection, StringComparison.Ordinal);
    }

    private static Collector.ExportTraceServiceRequest Request(string service, int versions, int spans)
    {
        var request = new Collector.ExportTraceServiceRequest();
        var end = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        for (var v = 0; v < versions; v++)
        {
            var resource = new OtlpResource { Attributes = { Attr("service.name", service), Attr("service.version", $"evil-{v}") } };
            var scope = new OtlpTrace.ScopeSpans();
            for (var i = 0; i < spans; i++)
            {
                scope.Spans.Add(new OtlpTrace.Span { Name = "op", Kind = OtlpTrace.Span.Types.SpanKind.Server, StartTimeUnixNano = end - 5_000_000, EndTimeUnixNano = end });
            }

            request.ResourceSpans.Add(new OtlpTrace.ResourceSpans { Resource = resource, ScopeSpans = { scope } });
        }

        return request;
    }

    private static Common.KeyValue Attr(string key, string value) => new() { Key = key, Value = new Common.AnyValue { StringValue = value } };
}
