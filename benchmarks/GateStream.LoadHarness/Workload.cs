using Google.Protobuf;
using GateStream.Contracts.Otlp.Collector.Trace.V1;
using GateStream.Contracts.Otlp.Common.V1;
using GateStream.Contracts.Otlp.Resource.V1;
using GateStream.Contracts.Otlp.Trace.V1;
using GateStream.Contracts.V1;

namespace GateStream.LoadHarness;

/// <summary>One ingest path under load. <see cref="Completed"/> counts events the daemon has acknowledged.</summary>
internal interface ILoadPath : IAsyncDisposable
{
    string Name { get; }

    string Description { get; }

    long Completed { get; }

    /// <summary>Pre-encodes the payloads (just before the run, so event times are fresh) and connects.</summary>
    Task PrepareAsync();

    /// <summary>Runs the senders until <paramref name="stop"/> is cancelled.</summary>
    Task StartAsync(CancellationToken stop);
}

/// <summary>Realistic series keys and pre-encoded payloads: one payload per key, events over the last second.</summary>
internal static class Workload
{
    public static (string Deployment, string Version)[] Keys(int deployments, int versions)
    {
        string[] names = ["checkout", "payments", "search", "catalog", "cart", "auth", "profile", "shipping", "recommendations", "notifications"];
        var keys = new List<(string, string)>();
        for (var d = 0; d < deployments; d++)
        {
            for (var v = 0; v < versions; v++)
            {
                keys.Add(($"{names[d % names.Length]}{(d >= names.Length ? d.ToString(System.Globalization.CultureInfo.InvariantCulture) : "")}-api", $"v{41 + v}"));
            }
        }
        return [.. keys];
    }

    /// <summary>A PushRequest with one EventBatch of <paramref name="events"/> events for the key.</summary>
    public static PushRequest PushRequest((string Deployment, string Version) key, int events, Random random)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
        var batch = new EventBatch { Deployment = key.Deployment, Version = key.Version, BaseTimeUnixMicros = now - 1_000_000 };
        var step = 1_000_000L / events;
        long previous = 0;
        for (var i = 0; i < events; i++)
        {
            // Deltas chain: the first is relative to the base time, each later one to the previous event.
            var offset = i * step + random.Next((int)Math.Max(1, step));
            batch.TimeDeltasMicros.Add(offset - previous);
            previous = offset;
            batch.LatencyMicros.Add((uint)(2_000 + random.Next(60_000)));
            var status = random.Next(1000) < 3 ? 503u : random.Next(100) < 2 ? 404u : 200u;
            batch.StatusCodes.Add(status);
        }
        return new PushRequest { Events = { batch } };
    }

    /// <summary>An OTLP export request: one resource (the key), one scope, <paramref name="spans"/> SERVER spans.</summary>
    public static ExportTraceServiceRequest OtlpRequest((string Deployment, string Version) key, int spans, Random random)
    {
        var endBase = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000UL - 1_000_000_000UL;
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "Microsoft.AspNetCore", Version = "10.0.0" } };
        var traceId = new byte[16];
        var spanId = new byte[8];
        for (var i = 0; i < spans; i++)
        {
            random.NextBytes(traceId);
            random.NextBytes(spanId);
            var end = endBase + (ulong)i * (1_000_000_000UL / (ulong)spans);
            var latencyNanos = (ulong)(2_000 + random.Next(60_000)) * 1000UL;
            var status = random.Next(1000) < 3 ? 503 : random.Next(100) < 2 ? 404 : 200;
            var span = new Span
            {
                TraceId = ByteString.CopyFrom(traceId),
                SpanId = ByteString.CopyFrom(spanId),
                Name = "POST /api/orders",
                Kind = Span.Types.SpanKind.Server,
                StartTimeUnixNano = end - latencyNanos,
                EndTimeUnixNano = end,
                Status = new Status { Code = status >= 500 ? Status.Types.StatusCode.Error : Status.Types.StatusCode.Unset },
            };
            span.Attributes.Add(new KeyValue { Key = "http.request.method", Value = new AnyValue { StringValue = "POST" } });
            span.Attributes.Add(new KeyValue { Key = "http.route", Value = new AnyValue { StringValue = "/api/orders" } });
            span.Attributes.Add(new KeyValue { Key = "http.response.status_code", Value = new AnyValue { IntValue = status } });
            scope.Spans.Add(span);
        }
        var resource = new Resource();
        resource.Attributes.Add(new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = key.Deployment } });
        resource.Attributes.Add(new KeyValue { Key = "service.version", Value = new AnyValue { StringValue = key.Version } });
        resource.Attributes.Add(new KeyValue { Key = "host.name", Value = new AnyValue { StringValue = "node-7" } });
        var resourceSpans = new ResourceSpans { Resource = resource, ScopeSpans = { scope } };
        return new ExportTraceServiceRequest { ResourceSpans = { resourceSpans } };
    }
}
