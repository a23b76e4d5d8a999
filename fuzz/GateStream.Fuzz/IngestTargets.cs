using GateStream.Core.Events;
using GateStream.Ingest.Kafka;
using GateStream.Ingest.Otlp;

namespace GateStream.Fuzz;

/// <summary>
/// The ingest decoders as the listeners and the Kafka consumer drive them: one message in, batches out from the
/// shared pools, and given back. "Must not throw for any input" is their contract; the targets also check that a
/// refusal comes with a reason and that a decoded message holds no more events than it reports.
/// </summary>
internal static class IngestTargets
{
    private static readonly DecodedMessage Message = new(BatchPools.CreateEventPool(), BatchPools.CreateMetricPool());
    private static readonly JsonEventDecoder Json = new();
    private static readonly OtlpDecoder Otlp = new(new OtlpOptions(), Message.EventPool, Message.MetricPool);

    /// <summary>One Kafka message value of a topic with the <c>json</c> encoding.</summary>
    public static void KafkaJson(ReadOnlySpan<byte> input)
    {
        Message.Reset();
        var problem = Json.Decode(input, Message);
        Check(problem is null || problem.Length > 0, "a refusal has a reason");
        CheckCounts();
        Message.Reset();
    }

    /// <summary>The first byte picks the service (even: traces, odd: metrics); the rest is the Export request body.</summary>
    public static void OtlpExport(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        Message.Reset();
        var body = input[1..];
        var decoded = (input[0] & 1) == 0
            ? Otlp.TryDecodeTraces(body, Message, out var result)
            : Otlp.TryDecodeMetrics(body, Message, out result);
        Check(decoded || result.ErrorMessage is { Length: > 0 }, "a rejected request says why");
        CheckCounts();
        Message.Reset();
    }

    private static void CheckCounts()
    {
        Check(!Message.Decoded || Message.EventBatches.Sum(b => (long)b.Count) == Message.Events, "the batches hold the events counted");
    }

    private static void Check(bool condition, string invariant)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"ingest invariant broken: {invariant}.");
        }
    }
}
