using System.Buffers;
using GateStream.Core.Events;
using Google.Protobuf;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Ingest.Tests.Native;

/// <summary>Messages built with the generated Contracts classes, and what the engine should get from them.</summary>
internal static class NativeTestData
{
    public const long T0 = 1_700_000_000L * 1_000_000;

    public static V1.EventBatch Events(string deployment, string version, int count, int seed, bool statusCodes = true, bool errors = false)
    {
        var random = new Random(seed);
        var batch = new V1.EventBatch { Deployment = deployment, Version = version, BaseTimeUnixMicros = T0 + random.Next(1_000_000) };
        for (var i = 0; i < count; i++)
        {
            // Mostly forward, sometimes backwards (out-of-order events are negative deltas).
            batch.TimeDeltasMicros.Add(random.Next(-5_000, 50_000));
            batch.LatencyMicros.Add((uint)random.Next(1, 5_000_000));
            if (statusCodes)
            {
                batch.StatusCodes.Add(random.Next(10) == 0 ? 503u : 200u);
            }

            if (errors)
            {
                batch.Errors.Add(random.Next(7) == 0);
            }
        }

        return batch;
    }

    public static V1.MetricBatch Metrics(string deployment, string version, int count)
    {
        var batch = new V1.MetricBatch { Deployment = deployment, Version = version };
        for (var i = 0; i < count; i++)
        {
            batch.Samples.Add(new V1.MetricSample
            {
                Name = i % 2 == 0 ? "replication_lag_seconds" : "pool_saturation",
                TimeUnixMicros = T0 + (i * 1_000),
                Value = (i * 0.25) - 3,
                Kind = (V1.MetricKind)((i % 3) + 1),
            });
        }

        return batch;
    }

    public static V1.PushRequest Push(IEnumerable<V1.EventBatch> events, IEnumerable<V1.MetricBatch>? metrics = null)
    {
        var request = new V1.PushRequest();
        request.Events.Add(events);
        if (metrics is not null)
        {
            request.Metrics.Add(metrics);
        }

        return request;
    }

    /// <summary>The columns the engine must see for <paramref name="proto"/>, computed the way events.proto defines them.</summary>
    public static (long[] Times, long[] Latencies, bool[] Errors) Expected(V1.EventBatch proto)
    {
        var n = proto.TimeDeltasMicros.Count;
        var times = new long[n];
        var latencies = new long[n];
        var errors = new bool[n];
        var time = proto.BaseTimeUnixMicros;
        for (var i = 0; i < n; i++)
        {
            time += proto.TimeDeltasMicros[i];
            times[i] = time;
            latencies[i] = proto.LatencyMicros[i];
            errors[i] = proto.Errors.Count > 0 ? proto.Errors[i] : proto.StatusCodes.Count > 0 && proto.StatusCodes[i] >= 500;
        }

        return (times, latencies, errors);
    }

    public static void AssertSame(V1.EventBatch proto, EventBatch decoded)
    {
        var (times, latencies, errors) = Expected(proto);
        Assert.Equal(proto.Deployment, System.Text.Encoding.UTF8.GetString(decoded.Key.Deployment));
        Assert.Equal(proto.Version, System.Text.Encoding.UTF8.GetString(decoded.Key.Version));
        Assert.Equal(times, decoded.TimesMicros.ToArray());
        Assert.Equal(latencies, decoded.LatenciesMicros.ToArray());
        Assert.Equal(errors, decoded.Errors.ToArray());
    }

    public static void AssertSame(V1.MetricBatch proto, MetricSampleBatch decoded)
    {
        Assert.Equal(proto.Deployment, System.Text.Encoding.UTF8.GetString(decoded.Key.Deployment));
        Assert.Equal(proto.Version, System.Text.Encoding.UTF8.GetString(decoded.Key.Version));
        Assert.Equal(proto.Samples.Count, decoded.Count);
        for (var i = 0; i < decoded.Count; i++)
        {
            var s = proto.Samples[i];
            Assert.Equal(s.Name, System.Text.Encoding.UTF8.GetString(decoded.NameAt(i)));
            Assert.Equal(s.TimeUnixMicros, decoded.TimeAt(i));
            Assert.Equal(s.Value, decoded.ValueAt(i));
            Assert.Equal((int)s.Kind, (int)decoded.KindAt(i));
        }
    }

    /// <summary>The same bytes cut into segments of the given sizes (cycled), as a pipe would hand them over.</summary>
    public static ReadOnlySequence<byte> Segmented(ReadOnlyMemory<byte> bytes, params int[] sizes)
    {
        if (bytes.Length == 0)
        {
            return ReadOnlySequence<byte>.Empty;
        }

        Segment? first = null;
        Segment? last = null;
        var offset = 0;
        var i = 0;
        while (offset < bytes.Length)
        {
            var size = Math.Min(sizes[i++ % sizes.Length], bytes.Length - offset);
            // Copy each piece so no segment shares memory with its neighbour, like pooled pipe blocks.
            var piece = bytes.Slice(offset, size).ToArray();
            if (first is null)
            {
                first = last = new Segment(piece, 0);
            }
            else
            {
                last = last!.Append(piece);
            }

            offset += size;
        }

        return new ReadOnlySequence<byte>(first!, 0, last!, last!.Memory.Length);
    }

    public static byte[] Bytes(IMessage message) => message.ToByteArray();

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}

/// <summary>Collects what a reader hands out, copying each batch so the pooled one can be reused.</summary>
internal sealed class DecodedPush
{
    public List<(string Deployment, string Version, long[] Times, long[] Latencies, bool[] Errors)> Events { get; } = [];

    public List<(string Deployment, string Version, (string Name, long Time, double Value, int Kind)[] Samples)> Metrics { get; } = [];

    public static DecodedPush Drain(GateStream.Ingest.Native.NativeBatchReader reader, BatchPool<EventBatch> events, BatchPool<MetricSampleBatch> metrics)
    {
        var result = new DecodedPush();
        while (reader.TryReadNext(out var batch))
        {
            if (batch.Events is { } e)
            {
                result.Events.Add((Utf8(e.Key.Deployment), Utf8(e.Key.Version), e.TimesMicros.ToArray(), e.LatenciesMicros.ToArray(), e.Errors.ToArray()));
                events.Return(e);
            }
            else
            {
                var m = batch.Metrics!;
                var samples = new (string, long, double, int)[m.Count];
                for (var i = 0; i < m.Count; i++)
                {
                    samples[i] = (Utf8(m.NameAt(i)), m.TimeAt(i), m.ValueAt(i), (int)m.KindAt(i));
                }

                result.Metrics.Add((Utf8(m.Key.Deployment), Utf8(m.Key.Version), samples));
                metrics.Return(m);
            }
        }

        return result;
    }

    public void AssertEquals(V1.PushRequest expected)
    {
        Assert.Equal(expected.Events.Count, Events.Count);
        for (var i = 0; i < Events.Count; i++)
        {
            var (times, latencies, errors) = NativeTestData.Expected(expected.Events[i]);
            Assert.Equal(expected.Events[i].Deployment, Events[i].Deployment);
            Assert.Equal(expected.Events[i].Version, Events[i].Version);
            Assert.Equal(times, Events[i].Times);
            Assert.Equal(latencies, Events[i].Latencies);
            Assert.Equal(errors, Events[i].Errors);
        }

        Assert.Equal(expected.Metrics.Count, Metrics.Count);
        for (var i = 0; i < Metrics.Count; i++)
        {
            Assert.Equal(expected.Metrics[i].Deployment, Metrics[i].Deployment);
            Assert.Equal(expected.Metrics[i].Samples.Select(s => (s.Name, s.TimeUnixMicros, s.Value, (int)s.Kind)), Metrics[i].Samples);
        }
    }

    private static string Utf8(ReadOnlySpan<byte> bytes) => System.Text.Encoding.UTF8.GetString(bytes);
}
