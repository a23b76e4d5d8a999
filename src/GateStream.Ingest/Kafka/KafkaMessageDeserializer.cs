using Confluent.Kafka;

namespace GateStream.Ingest.Kafka;

/// <summary>
/// The consumer's value deserializer: decodes each message from the client's own buffer (a span over librdkafka's
/// memory, so the value is never copied into a managed array) into the one reused <see cref="DecodedMessage"/>,
/// with the decoder of the message's topic.
/// </summary>
/// <remarks>
/// Never throws: an undecodable message comes back with <see cref="DecodedMessage.Problem"/> set, so the consume loop can
/// count it, log it with its partition and offset, and move on. The returned holder is the same object for every message:
/// the consume loop must be done with one message before it consumes the next.
/// </remarks>
public sealed class KafkaMessageDeserializer : IDeserializer<DecodedMessage>
{
    private readonly Dictionary<string, IKafkaMessageDecoder> _byTopic;
    private readonly DecodedMessage _message;
    private readonly IKafkaMessageDecoder? _onlyDecoder;

    public KafkaMessageDeserializer(IReadOnlyDictionary<string, IKafkaMessageDecoder> decodersByTopic, DecodedMessage message)
    {
        ArgumentNullException.ThrowIfNull(decodersByTopic);
        _byTopic = new Dictionary<string, IKafkaMessageDecoder>(decodersByTopic, StringComparer.Ordinal);
        _message = message ?? throw new ArgumentNullException(nameof(message));
        _onlyDecoder = _byTopic.Count == 1 ? _byTopic.Values.First() : null;
    }

    /// <summary>The holder every call fills.</summary>
    public DecodedMessage Message => _message;

    public DecodedMessage Deserialize(ReadOnlySpan<byte> data, bool isNull, SerializationContext context)
    {
        _message.Reset();
        if (isNull)
        {
            _message.Fail("the message has no value (a tombstone)");
            return _message;
        }

        if (_onlyDecoder is null && !_byTopic.ContainsKey(context.Topic ?? ""))
        {
            _message.Fail($"no decoder for topic '{context.Topic}'");
            return _message;
        }

        var decoder = _onlyDecoder ?? _byTopic[context.Topic!];
        string? problem;
        try
        {
            problem = decoder.Decode(data, _message);
        }
#pragma warning disable CA1031 // A decoder bug must cost one message, not the consumer: the message is skipped and counted.
        catch (Exception e) when (e is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            problem = $"the decoder failed ({e.GetType().Name}: {e.Message})";
        }

        if (problem is not null)
        {
            _message.Fail(problem);
        }

        return _message;
    }

    /// <summary>The decoders for <paramref name="topics"/>, one per topic.</summary>
    public static Dictionary<string, IKafkaMessageDecoder> DecodersFor(IEnumerable<KafkaTopic> topics, Func<KafkaTopic, IKafkaMessageDecoder> create)
    {
        ArgumentNullException.ThrowIfNull(topics);
        ArgumentNullException.ThrowIfNull(create);
        var decoders = new Dictionary<string, IKafkaMessageDecoder>(StringComparer.Ordinal);
        foreach (var topic in topics)
        {
            decoders[topic.Name] = create(topic);
        }

        return decoders;
    }
}
