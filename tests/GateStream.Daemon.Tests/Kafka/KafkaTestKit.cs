using System.Globalization;
using System.Net.Http;
using System.Text;
using GateStream.Daemon.Tests.Integration;
using Google.Protobuf;
using Grpc.Core;
using GateStream.Contracts.Otlp.Collector.Trace.V1;
using GateStream.Contracts.Otlp.Common.V1;
using GateStream.Contracts.Otlp.Resource.V1;
using GateStream.Contracts.Otlp.Trace.V1;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Kafka;

/// <summary>Messages in each encoding, daemon settings for Kafka, and ways to watch what a daemon does.</summary>
internal static class KafkaTestKit
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    /// <summary>Settings for a daemon in <paramref name="group"/> consuming <paramref name="topics"/> (name, encoding).</summary>
    public static Dictionary<string, string?> Settings(MockKafka kafka, string group, string? decisionsTopic, params (string Name, string Encoding)[] topics)
    {
        var settings = new Dictionary<string, string?>
        {
            ["GateStream:Kafka:BootstrapServers"] = kafka.BootstrapServers,
            ["GateStream:Kafka:GroupId"] = group,
            ["GateStream:Kafka:CommitInterval"] = "00:00:01",
            // The mock cluster's coordinator waits session.timeout.ms - 1 s for members to rejoin a rebalance.
            ["GateStream:Kafka:Consumer:session.timeout.ms"] = "3000",
            ["GateStream:Kafka:Consumer:heartbeat.interval.ms"] = "500",
            ["GateStream:Engine:BucketWidth"] = "00:00:01",
        };
        if (decisionsTopic is not null)
        {
            settings["GateStream:Kafka:DecisionsTopic"] = decisionsTopic;
        }

        for (var i = 0; i < topics.Length; i++)
        {
            settings[$"GateStream:Kafka:Topics:{i}:Name"] = topics[i].Name;
            settings[$"GateStream:Kafka:Topics:{i}:Encoding"] = topics[i].Encoding;
        }

        return settings;
    }

    /// <summary>
    /// A policy for <paramref name="target"/> that advances by <paramref name="step"/> every <paramref name="stepInterval"/>
    /// up to 90, so a gate is still under way when a test moves it between daemons.
    /// </summary>
    public static string SteppingPolicy(string target, int step = 10, string stepInterval = "3s") => $$"""
        apiVersion: gatestream.io/v1
        kind: GatePolicy
        metadata:
          name: stepping
        spec:
          target: {{target}}
          opening: { minRequests: 10 } # tests send a few dozen events per version
          progression: { stepWeight: {{step}}, maxWeight: 90, stepInterval: {{stepInterval}} }
          rules:
            - name: errors
              signal: error-rate
              max: 0.05
              action: rollback
              minSamples: 10
        """;

    /// <summary>A native batch of <paramref name="count"/> events ending now.</summary>
    public static byte[] NativeMessage(string deployment, string version, int count, int errorEvery = 0) =>
        EventBatches.Batch(deployment, version, count, errorEvery).ToByteArray();

    /// <summary>An OTLP trace export with <paramref name="count"/> SERVER spans ending now (and a CLIENT span, ignored).</summary>
    public static byte[] OtlpMessage(string deployment, string version, int count, int errorEvery = 0)
    {
        var now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000UL;
        var resource = new Resource();
        resource.Attributes.Add(new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = deployment } });
        resource.Attributes.Add(new KeyValue { Key = "service.version", Value = new AnyValue { StringValue = version } });
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "test" } };
        for (var i = 0; i < count; i++)
        {
            var start = now - ((ulong)(count - i) * 1_000_000UL);
            var span = new Span
            {
                TraceId = ByteString.CopyFrom(Guid.NewGuid().ToByteArray()),
                SpanId = ByteString.CopyFrom(BitConverter.GetBytes((long)i + 1)),
                Name = "GET /cart",
                Kind = Span.Types.SpanKind.Server,
                StartTimeUnixNano = start,
                EndTimeUnixNano = start + 2_000_000UL,
            };
            var error = errorEvery > 0 && i % errorEvery == 0;
            span.Attributes.Add(new KeyValue { Key = "http.response.status_code", Value = new AnyValue { IntValue = error ? 503 : 200 } });
            scope.Spans.Add(span);
        }

        scope.Spans.Add(new Span { Name = "outgoing", Kind = Span.Types.SpanKind.Client, StartTimeUnixNano = now - 1_000_000UL, EndTimeUnixNano = now });
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(new ResourceSpans { Resource = resource, ScopeSpans = { scope } });
        return request.ToByteArray();
    }

    /// <summary>One JSON event per message, times spread over the last <paramref name="count"/> ms, alternating the two timestamp forms.</summary>
    public static IEnumerable<byte[]> JsonMessages(string deployment, string version, int count, int errorEvery = 0)
    {
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < count; i++)
        {
            var time = now.AddMilliseconds(i - count);
            var timestamp = i % 2 == 0
                ? "\"" + time.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) + "\""
                : time.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
            var error = errorEvery > 0 && i % errorEvery == 0;
            var latency = (2.5 + (i % 7)).ToString(CultureInfo.InvariantCulture);
            var status = error ? 503 : 200;
            yield return Encoding.UTF8.GetBytes(
                $$$"""{"deployment":"{{{deployment}}}","version":"{{{version}}}","timestamp":{{{timestamp}}},"latencyMs":{{{latency}}},"status":{{{status}}},"host":{"name":"node-1"}}""");
        }
    }

    /// <summary>Reads a watch stream in the background into a list the test can look at, until the stream ends.</summary>
    public sealed class Collector
    {
        private readonly List<V1.Decision> _seen = [];
        private readonly Task _reading;

        public Collector(AsyncServerStreamingCall<V1.Decision> call)
        {
            _reading = Task.Run(async () =>
            {
                try
                {
                    while (await call.ResponseStream.MoveNext(CancellationToken.None))
                    {
                        lock (_seen)
                        {
                            _seen.Add(call.ResponseStream.Current);
                        }
                    }
                }
                catch (RpcException)
                {
                    // The daemon stopped.
                }
            });
        }

        public List<V1.Decision> Seen
        {
            get
            {
                lock (_seen)
                {
                    return [.. _seen];
                }
            }
        }

        public Task Ended => _reading;

        public async Task<List<V1.Decision>> WaitForAsync(Func<List<V1.Decision>, bool> done, TimeSpan? timeout = null)
        {
            await Eventually.Until(() => Task.FromResult(done(Seen)), timeout ?? TimeSpan.FromSeconds(45), () => "decisions so far: " + string.Join("; ", Seen.Select(Describe)));
            return Seen;
        }
    }

    public static string Describe(V1.Decision d) => $"#{d.Sequence} {d.Gate} {d.Action} {d.Weight} samples={d.Evidence.FirstOrDefault()?.Samples}";

    /// <summary>The daemon's <c>/metrics</c> page.</summary>
    public static Task<string> MetricsTextAsync(TestDaemon daemon) =>
        Http.GetStringAsync(new Uri($"http://127.0.0.1:{daemon.HttpPort}/metrics"));

    /// <summary>A sample's value from the daemon's <c>/metrics</c> (0 when absent).</summary>
    public static async Task<double> MetricAsync(TestDaemon daemon, string series)
    {
        var text = await MetricsTextAsync(daemon);
        foreach (var line in text.Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }
}
