using System.Buffers;
using GateStream.Core.Events;
using GateStream.Ingest.Native;

namespace GateStream.Fuzz;

/// <summary>
/// The native batch reader as its three callers drive it: a framed DATA frame's <c>PushRequest</c> (a pipe's
/// buffer, so possibly cut across segments), a <c>gatestream</c> Kafka topic's single <c>EventBatch</c>, and a single
/// <c>MetricBatch</c>. The first byte picks the message (low 2 bits) and where the buffer is cut (the rest); the other
/// bytes are the message. Beyond "no exception": a malformed message hands out nothing, what is handed out is what
/// the counts say, and every batch handed out is non-empty and keyed.
/// </summary>
internal static class NativeBatchReaderTarget
{
    private static readonly BatchPool<EventBatch> EventPool = BatchPools.CreateEventPool();
    private static readonly BatchPool<MetricSampleBatch> MetricPool = BatchPools.CreateMetricPool();
    private static readonly NativeBatchReader Reader = new(EventPool, MetricPool, "fuzz");

    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        var message = input[1..];
        switch (input[0] & 3)
        {
            case 0:
                PushRequest(message, input[0] >> 2);
                break;
            case 1:
                var events = EventPool.Rent();
                var eventsOk = NativeBatchReader.TryReadEventBatch(message, events, out var eventsResult);
                CheckBatch(eventsOk, eventsResult, events.Count, events.Key);
                EventPool.Return(events);
                break;
            default:
                var metrics = MetricPool.Rent();
                var metricsOk = NativeBatchReader.TryReadMetricBatch(message, metrics, out var metricsResult);
                CheckBatch(metricsOk, metricsResult, metrics.Count, metrics.Key);
                MetricPool.Return(metrics);
                break;
        }
    }

    private static void PushRequest(ReadOnlySpan<byte> message, int cut)
    {
        var payload = Segments.Split(message, cut);
        if (!Reader.TryBegin(payload, out var problem))
        {
            Check(problem is { Length: > 0 }, "a malformed message says why");
            Check(!Reader.TryReadNext(out _), "a malformed message hands out no batch");
            return;
        }

        long events = 0, samples = 0;
        var sawMetrics = false;
        while (Reader.TryReadNext(out var batch))
        {
            Check(batch.Events is null != batch.Metrics is null, "a batch is events or metrics, never both or neither");
            if (batch.Events is { } e)
            {
                Check(!sawMetrics, "event batches come out before metric batches");
                Check(e.Count > 0 && e.Key.Deployment.Length > 0 && e.Key.Version.Length > 0, "a batch handed out is non-empty and keyed");
                events += e.Count;
                EventPool.Return(e);
            }
            else
            {
                var m = batch.Metrics!;
                sawMetrics = true;
                Check(m.Count > 0 && m.Key.Deployment.Length > 0 && m.Key.Version.Length > 0, "a batch handed out is non-empty and keyed");
                samples += m.Count;
                MetricPool.Return(m);
            }
        }

        var counts = Reader.Counts;
        Check(counts.AcceptedEvents == events && counts.AcceptedSamples == samples, "the counts are what was handed out");
        Check(counts.RejectedEvents >= 0 && counts.RejectedSamples >= 0, "rejections are not negative");
        Check(counts.RejectedBatches > 0 == counts.FirstProblem is not null, "a rejection comes with its reason");
    }

    private static void CheckBatch(bool ok, NativeBatchResult result, int count, SeriesKeyBuffer key)
    {
        Check(ok || result.Problem is { Length: > 0 }, "a malformed batch says why");
        if (ok)
        {
            Check(result.Accepted == count, "Accepted is what the batch holds");
            Check(count == 0 || (key.Deployment.Length > 0 && key.Version.Length > 0), "a batch holding events is keyed");
            Check(result.Rejected == 0 || result.Problem is not null, "a rejection comes with its reason");
        }
    }

    private static void Check(bool condition, string invariant)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"NativeBatchReader invariant broken: {invariant}.");
        }
    }
}

/// <summary>Bytes as a pipe would hold them: up to three segments, cut where the fuzzer says.</summary>
internal static class Segments
{
    public static ReadOnlySequence<byte> Split(ReadOnlySpan<byte> bytes, int cut)
    {
        var data = bytes.ToArray();
        if (cut == 0 || data.Length < 2)
        {
            return new ReadOnlySequence<byte>(data);
        }

        var first = cut % data.Length;
        var second = first + ((data.Length - first) / 2);
        var head = new Segment(data.AsMemory(0, first));
        var tail = head.Append(data.AsMemory(first, second - first)).Append(data.AsMemory(second));
        return new ReadOnlySequence<byte>(head, 0, tail, tail.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }
}
