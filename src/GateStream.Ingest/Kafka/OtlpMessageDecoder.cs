using GateStream.Ingest.Otlp;

namespace GateStream.Ingest.Kafka;

/// <summary>
/// <c>otlp</c> topics: one OTLP export request per message (traces or metrics, per topic), as the OpenTelemetry
/// Collector's Kafka exporter writes them with <c>otlp_proto</c>, read by the allocation-free <see cref="OtlpDecoder"/>.
/// </summary>
/// <remarks>
/// A request that is malformed, or none of whose items could be used while some were refused (every resource lacks
/// <c>service.name</c>, say), is undecodable. Partly refused requests are applied; the refusals are reported on the message.
/// </remarks>
public sealed class OtlpMessageDecoder : IKafkaMessageDecoder
{
    private readonly OtlpDecoder _decoder;
    private readonly KafkaSignal _signal;

    public OtlpMessageDecoder(OtlpDecoder decoder, KafkaSignal signal)
    {
        _decoder = decoder ?? throw new ArgumentNullException(nameof(decoder));
        _signal = signal;
    }

    public string? Decode(ReadOnlySpan<byte> value, DecodedMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var ok = _signal == KafkaSignal.Traces
            ? _decoder.TryDecodeTraces(value, message, out var result)
            : _decoder.TryDecodeMetrics(value, message, out result);
        if (!ok || result.Malformed)
        {
            return result.ErrorMessage ?? "malformed OTLP export request";
        }

        if (result.Accepted == 0 && result.Rejected > 0)
        {
            return $"every item was refused ({result.Rejected}): {result.ErrorMessage}";
        }

        if (result.Rejected > 0)
        {
            message.Refused += result.Rejected;
            message.RefusedReason ??= result.ErrorMessage;
        }

        return null;
    }
}
