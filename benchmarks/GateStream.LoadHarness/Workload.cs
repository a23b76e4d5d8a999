using System.Buffers.Binary;
using System.Globalization;
using Google.Protobuf;
using GateStream.Contracts.Otlp.Collector.Trace.V1;
using GateStream.Contracts.Otlp.Common.V1;
using GateStream.Contracts.Otlp.Resource.V1;
using GateStream.Contracts.Otlp.Trace.V1;
using GateStream.Contracts.V1;

namespace GateStream.LoadHarness;

/// <summary>One ingest path under load.</summary>
internal interface ILoadPath : IAsyncDisposable
{
    string Name { get; }

    string Description { get; }

    /// <summary>Events handed to the daemon so far (sent; what it applied is read from its counters).</summary>
    long Sent { get; }

    /// <summary>Encodes the payload templates and connects.</summary>
    Task PrepareAsync();

    /// <summary>Sends one payload per key of <paramref name="keys"/>, once, and waits for each to be acknowledged.</summary>
    Task SendOnceAsync(IReadOnlyList<int> keys);

    /// <summary>Runs the senders until <paramref name="stop"/> is cancelled.</summary>
    Task StartAsync(CancellationToken stop);
}

/// <summary>
/// An encoded payload whose event times are rewritten in place just before each send, so every payload carries
/// events from the last second of the wall clock and the daemon's windows slide as they would in production.
/// Only fixed-width fields are rewritten (an 8-byte varint or fixed64s), so the bytes never change length.
/// Single writer: the one sender that owns this payload's key.
/// </summary>
internal sealed class TimedPayload
{
    private readonly int[] _offsets;
    private readonly bool _varint;
    private long _applied;

    private TimedPayload(byte[] bytes, int[] offsets, bool varint, long encodedBase)
    {
        Bytes = bytes;
        _offsets = offsets;
        _varint = varint;
        _applied = encodedBase;
    }

    public byte[] Bytes { get; }

    /// <summary>A native PushRequest: one EventBatch whose base_time_unix_micros (an 8-byte varint) is at <paramref name="offset"/>.</summary>
    public static TimedPayload Native(byte[] bytes, int offset, long baseMicros) => new(bytes, [offset], varint: true, baseMicros);

    /// <summary>An OTLP request whose span times (fixed64, nanoseconds) are at <paramref name="offsets"/>, all relative to <paramref name="baseNanos"/>.</summary>
    public static TimedPayload Otlp(byte[] bytes, int[] offsets, long baseNanos) => new(bytes, offsets, varint: false, baseNanos);

    /// <summary>Moves every event time so that the payload's base is one second before now.</summary>
    public void Restamp()
    {
        var nowMicros = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
        if (_varint)
        {
            Workload.WriteVarint8(Bytes.AsSpan(_offsets[0], 8), nowMicros - 1_000_000);
            return;
        }

        var target = (nowMicros - 1_000_000) * 1000;
        var delta = target - _applied;
        _applied = target;
        foreach (var offset in _offsets)
        {
            var field = Bytes.AsSpan(offset, 8);
            BinaryPrimitives.WriteInt64LittleEndian(field, BinaryPrimitives.ReadInt64LittleEndian(field) + delta);
        }
    }
}

/// <summary>
/// Series keys and payload templates. Every string is fixed-width, so payloads of one kind have one length.
/// Traffic is the same for both versions of a deployment (0.3% 503s, 2% 404s, latencies 2..62 ms): a gate's rules
/// stay passing, so the run measures evaluation in steady state, not decisions.
/// </summary>
internal static class Workload
{
    private const long VarintMin = 1L << 49;
    private const long VarintMax = (1L << 56) - 1;

    /// <summary><paramref name="deployments"/> deployments ("svc-000" ...) x versions "v41" (the baseline: first in the list) and "v42".</summary>
    public static (string Deployment, string Version)[] Keys(int deployments)
    {
        var keys = new List<(string, string)>();
        foreach (var version in (string[])["v41", "v42"])
        {
            for (var d = 0; d < deployments; d++)
            {
                keys.Add((string.Create(CultureInfo.InvariantCulture, $"svc-{d:D3}"), version));
            }
        }
        return [.. keys];
    }

    /// <summary>The policy the daemon runs: the README's layered rules on every deployment, steps an hour apart (no step while measuring).</summary>
    public const string PolicyYaml = """
        apiVersion: gatestream.io/v1
        kind: GatePolicy
        metadata: { name: load-layered }
        spec:
          target: "svc-*"
          progression: { stepWeight: 10, maxWeight: 50, stepInterval: 1h }
          rules:
            - { name: error-rate-rise, signal: error-rate, baseline: { increase: 0.0025 }, action: hold, minSamples: 500, for: 30s }
            - { name: error-rate-slo, signal: error-rate, max: 0.01, action: rollback, minSamples: 500, for: 10s }
            - { name: latency-p99, signal: latency-p99, baseline: { ratio: { max: 1.5 } }, action: pause, minSamples: 500, for: 30s }
        """;

    /// <summary>
    /// A PushRequest with one EventBatch of <paramref name="events"/> events for the key, spread over one second.
    /// <paramref name="errorsPer1000"/>: exactly that share of 503s, spread evenly (null: drawn at 0.3%).
    /// </summary>
    public static (PushRequest Request, long BaseMicros) PushRequest((string Deployment, string Version) key, int events, Random random, int? errorsPer1000 = null)
    {
        var baseMicros = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000 - 1_000_000;
        var batch = new EventBatch { Deployment = key.Deployment, Version = key.Version, BaseTimeUnixMicros = baseMicros };
        var step = 1_000_000L / events;
        long previous = 0;
        for (var i = 0; i < events; i++)
        {
            // Deltas chain: the first is relative to the base time, each later one to the previous event.
            var offset = i * step + random.Next((int)Math.Max(1, step));
            batch.TimeDeltasMicros.Add(offset - previous);
            previous = offset;
            batch.LatencyMicros.Add((uint)(2_000 + random.Next(60_000)));
            batch.StatusCodes.Add(EventStatus(random, i, events, errorsPer1000));
        }
        return (new PushRequest { Events = { batch } }, baseMicros);
    }

    /// <summary>The PushRequest encoded, with the place of its base time found for restamping.</summary>
    public static TimedPayload NativePayload((string, string) key, int events, Random random, int prefix = 0, Action<Span<byte>>? writePrefix = null, int? errorsPer1000 = null)
    {
        var (request, baseMicros) = PushRequest(key, events, random, errorsPer1000);
        var body = request.ToByteArray();
        var bytes = new byte[prefix + body.Length];
        writePrefix?.Invoke(bytes.AsSpan(0, prefix));
        body.CopyTo(bytes.AsSpan(prefix));
        // Field 3 of EventBatch, wire type varint: tag 0x18 then the 8-byte varint of the base time.
        Span<byte> pattern = stackalloc byte[9];
        pattern[0] = 0x18;
        WriteVarint8(pattern[1..], baseMicros);
        var at = bytes.AsSpan(prefix).IndexOf(pattern);
        if (at < 0)
        {
            throw new InvalidOperationException("base_time_unix_micros not found in the encoded PushRequest");
        }
        return TimedPayload.Native(bytes, prefix + at + 1, baseMicros);
    }

    /// <summary>
    /// An OTLP export request: one resource (the key), one scope, <paramref name="spans"/> SERVER spans over one
    /// second, each with the 10 attributes an HTTP server instrumentation sets (as in OtlpDecodeBenchmarks).
    /// </summary>
    public static TimedPayload OtlpPayload((string Deployment, string Version) key, int spans, Random random, int? errorsPer1000 = null)
    {
        var baseNanos = (DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000 - 1_000_000) * 1000;
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "Microsoft.AspNetCore", Version = "10.0.0" } };
        var traceId = new byte[16];
        var spanId = new byte[8];
        var times = new List<ulong>(2 * spans);
        for (var i = 0; i < spans; i++)
        {
            random.NextBytes(traceId);
            random.NextBytes(spanId);
            var end = (ulong)baseNanos + ((ulong)i * (1_000_000_000UL / (ulong)spans));
            var latencyNanos = (ulong)(2_000 + random.Next(60_000)) * 1000UL;
            var status = EventStatus(random, i, spans, errorsPer1000);
            var span = new Span
            {
                TraceId = ByteString.CopyFrom(traceId),
                SpanId = ByteString.CopyFrom(spanId),
                Name = "GET /api/orders/{id}",
                Kind = Span.Types.SpanKind.Server,
                StartTimeUnixNano = end - latencyNanos,
                EndTimeUnixNano = end,
                Status = new Status { Code = status >= 500 ? Status.Types.StatusCode.Error : Status.Types.StatusCode.Unset },
            };
            times.Add(span.StartTimeUnixNano);
            times.Add(span.EndTimeUnixNano);
            span.Attributes.Add(Attribute("http.request.method", "GET"));
            span.Attributes.Add(Attribute("http.route", "/api/orders/{id}"));
            span.Attributes.Add(Attribute("url.path", string.Create(CultureInfo.InvariantCulture, $"/api/orders/{random.Next(1_000_000):D6}")));
            span.Attributes.Add(Attribute("user_agent.original", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36"));
            span.Attributes.Add(new KeyValue { Key = "http.response.status_code", Value = new AnyValue { IntValue = status } });
            span.Attributes.Add(Attribute("server.address", key.Deployment + ".internal"));
            span.Attributes.Add(new KeyValue { Key = "server.port", Value = new AnyValue { IntValue = 8080 } });
            span.Attributes.Add(Attribute("url.scheme", "http"));
            span.Attributes.Add(Attribute("network.protocol.version", "2"));
            span.Attributes.Add(Attribute("client.address", string.Create(CultureInfo.InvariantCulture, $"10.1.{random.Next(100, 256)}.{random.Next(100, 256)}")));
            scope.Spans.Add(span);
        }
        var resource = new Resource();
        resource.Attributes.Add(Attribute("service.name", key.Deployment));
        resource.Attributes.Add(Attribute("service.version", key.Version));
        resource.Attributes.Add(Attribute("host.name", "node-7"));
        var request = new ExportTraceServiceRequest { ResourceSpans = { new ResourceSpans { Resource = resource, ScopeSpans = { scope } } } };
        var bytes = request.ToByteArray();

        // Span fields 7 and 8 are fixed64 (tags 0x39, 0x41), written in span order: find each one after the previous.
        var offsets = new int[times.Count];
        Span<byte> pattern = stackalloc byte[9];
        var from = 0;
        for (var t = 0; t < times.Count; t++)
        {
            pattern[0] = t % 2 == 0 ? (byte)0x39 : (byte)0x41;
            BinaryPrimitives.WriteUInt64LittleEndian(pattern[1..], times[t]);
            var at = bytes.AsSpan(from).IndexOf(pattern);
            if (at < 0)
            {
                throw new InvalidOperationException($"span time {t} not found in the encoded OTLP request");
            }
            offsets[t] = from + at + 1;
            from = offsets[t] + 8;
        }
        return TimedPayload.Otlp(bytes, offsets, baseNanos);
    }

    /// <summary>Writes <paramref name="value"/> as exactly 8 varint bytes (values in [2^49, 2^56), i.e. times from 1987 to 4253).</summary>
    public static void WriteVarint8(Span<byte> destination, long value)
    {
        if (value is < VarintMin or > VarintMax)
        {
            throw new ArgumentOutOfRangeException(nameof(value), value, "not an 8-byte varint");
        }
        for (var i = 0; i < 7; i++)
        {
            destination[i] = (byte)((value & 0x7F) | 0x80);
            value >>= 7;
        }
        destination[7] = (byte)value;
    }

    // Exact: event i is a 503 when the running count of errors (i * errors / events, rounded down) steps up at it.
    private static uint EventStatus(Random random, int i, int events, int? errorsPer1000)
    {
        if (errorsPer1000 is not { } per1000)
        {
            return DrawStatus(random);
        }
        var errors = (long)Math.Round(events * per1000 / 1000.0);
        return (i + 1) * errors / events != i * errors / events ? 503u : random.Next(100) < 2 ? 404u : 200u;
    }

    private static uint DrawStatus(Random random) => random.Next(1000) < 3 ? 503u : random.Next(100) < 2 ? 404u : 200u;

    private static KeyValue Attribute(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };
}
