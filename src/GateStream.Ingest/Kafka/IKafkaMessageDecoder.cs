namespace GateStream.Ingest.Kafka;

/// <summary>
/// Decodes the value of one Kafka message, straight from the client's buffer, into pooled Core batches.
/// One implementation per <see cref="KafkaEncoding"/>; instances are used by one consume thread only.
/// </summary>
public interface IKafkaMessageDecoder
{
    /// <summary>
    /// Decodes <paramref name="value"/> and hands every batch it yields to <paramref name="message"/> (batches come from
    /// <see cref="DecodedMessage.RentEvents"/> / <see cref="DecodedMessage.RentMetrics"/>, or from the same pools).
    /// </summary>
    /// <returns>
    /// Null when the message decoded (some of its items may still have been refused: see <see cref="DecodedMessage.Refused"/>);
    /// otherwise why it cannot be decoded, naming where. Must not throw for any input.
    /// </returns>
    string? Decode(ReadOnlySpan<byte> value, DecodedMessage message);
}
