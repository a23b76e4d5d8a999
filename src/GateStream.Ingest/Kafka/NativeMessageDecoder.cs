using GateStream.Ingest.Native;

namespace GateStream.Ingest.Kafka;

/// <summary>
/// <c>gatestream</c> topics: one <c>gatestream.v1.EventBatch</c> per message, read by the allocation-free
/// <see cref="NativeBatchReader"/> straight from the message bytes.
/// </summary>
/// <remarks>
/// A batch that is well-formed but breaks the rules of events.proto (columns of different lengths, an empty key) is
/// refused whole; on Kafka there is no sender to tell, so it is reported like an undecodable message.
/// </remarks>
public sealed class NativeMessageDecoder(string source = NativeMessageDecoder.DefaultSource) : IKafkaMessageDecoder
{
    public const string DefaultSource = "kafka";

    public string? Decode(ReadOnlySpan<byte> value, DecodedMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var batch = message.RentEvents();
        if (!NativeBatchReader.TryReadEventBatch(value, batch, out var result))
        {
            message.EventPool.Return(batch);
            return "not a gatestream.v1.EventBatch: " + result.Problem;
        }

        if (result.Rejected > 0)
        {
            message.EventPool.Return(batch);
            return $"EventBatch refused ({result.Rejected} events): {result.Problem}";
        }

        batch.Source = source;
        message.Post(batch);
        return null;
    }
}
