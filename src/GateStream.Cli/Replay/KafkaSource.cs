using System.Globalization;
using GateStream.Ingest.Kafka;

namespace GateStream.Cli.Replay;

/// <summary>
/// A Kafka topic as a replay source (<c>gatestream replay --events kafka://...</c>):
/// <c>kafka://host:port[,host:port]/topic?encoding=gatestream|otlp|json&amp;signal=traces|metrics&amp;from=X&amp;to=Y</c>,
/// or <c>kafka://topic?...</c> with the brokers given apart (<c>--bootstrap</c>). <c>from</c> and <c>to</c> are each an
/// offset (applied to every partition) or an RFC 3339 time (compared with the messages' timestamps); the range is
/// half-open: <c>from</c> included, <c>to</c> excluded.
/// </summary>
public sealed record KafkaSource(string BootstrapServers, string Topic, KafkaEncoding Encoding, KafkaSignal Signal, KafkaBound? From, KafkaBound? To)
{
    public const string Scheme = "kafka://";

    /// <summary>Whether <paramref name="source"/> names a Kafka topic rather than a file.</summary>
    public static bool IsKafka(string source) => source?.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase) == true;

    /// <summary>
    /// Parses a <c>kafka://</c> source. <paramref name="bootstrap"/> (the <c>--bootstrap</c> option) gives the brokers
    /// when the source names none; a source that names brokers must not be given others.
    /// </summary>
    /// <exception cref="FormatException">The source is malformed; the message says why.</exception>
    public static KafkaSource Parse(string source, string? bootstrap = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (!IsKafka(source))
        {
            throw new FormatException($"'{source}' does not start with {Scheme}");
        }

        var rest = source[Scheme.Length..];
        var query = "";
        var at = rest.IndexOf('?', StringComparison.Ordinal);
        if (at >= 0)
        {
            query = rest[(at + 1)..];
            rest = rest[..at];
        }

        string brokers;
        string topic;
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            brokers = rest[..slash];
            topic = rest[(slash + 1)..];
        }
        else
        {
            brokers = "";
            topic = rest;
        }

        topic = Uri.UnescapeDataString(topic);
        if (topic.Length == 0 || topic.Contains('/', StringComparison.Ordinal))
        {
            throw new FormatException($"'{source}' names no topic: use kafka://host:port/topic or kafka://topic with --bootstrap");
        }

        if (brokers.Length > 0 && !string.IsNullOrWhiteSpace(bootstrap))
        {
            throw new FormatException($"'{source}' names its brokers; --bootstrap must not name others");
        }

        if (brokers.Length == 0)
        {
            brokers = bootstrap?.Trim() ?? "";
        }

        if (brokers.Length == 0)
        {
            throw new FormatException($"'{source}' names no broker: use kafka://host:port[,host:port]/{topic} or --bootstrap host:port");
        }

        foreach (var broker in brokers.Split(','))
        {
            var colon = broker.LastIndexOf(':');
            if (colon <= 0 || !ushort.TryParse(broker.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port == 0)
            {
                throw new FormatException($"broker '{broker}' is not host:port");
            }
        }

        var encoding = KafkaEncoding.GateStream;
        var signal = KafkaSignal.Traces;
        KafkaBound? from = null;
        KafkaBound? to = null;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var pair in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(eq >= 0 ? pair[..eq] : pair);
            var value = eq >= 0 ? Uri.UnescapeDataString(pair[(eq + 1)..]) : "";
            if (!seen.Add(name))
            {
                throw new FormatException($"'{name}' is given twice");
            }

            switch (name)
            {
                case "encoding":
                    encoding = value switch
                    {
                        "gatestream" => KafkaEncoding.GateStream,
                        "otlp" => KafkaEncoding.Otlp,
                        "json" => KafkaEncoding.Json,
                        _ => throw new FormatException($"encoding '{value}' is not gatestream, otlp or json"),
                    };
                    break;
                case "signal":
                    signal = value switch
                    {
                        "traces" => KafkaSignal.Traces,
                        "metrics" => KafkaSignal.Metrics,
                        _ => throw new FormatException($"signal '{value}' is not traces or metrics"),
                    };
                    break;
                case "from":
                    from = KafkaBound.Parse("from", value);
                    break;
                case "to":
                    to = KafkaBound.Parse("to", value);
                    break;
                default:
                    throw new FormatException($"unknown parameter '{name}' (known: encoding, signal, from, to)");
            }
        }

        if (seen.Contains("signal") && encoding != KafkaEncoding.Otlp)
        {
            throw new FormatException("signal applies to encoding=otlp only");
        }

        if (from?.Offset is { } first && to?.Offset is { } last && last < first)
        {
            throw new FormatException($"to={last} is before from={first}");
        }

        if (from?.Time is { } start && to?.Time is { } end && end < start)
        {
            throw new FormatException($"to={to} is before from={from}");
        }

        return new KafkaSource(brokers, topic, encoding, signal, from, to);
    }
}

/// <summary>One end of a Kafka replay range: an offset (every partition's) or a time (the messages' timestamps).</summary>
public sealed record KafkaBound
{
    private KafkaBound(long? offset, DateTimeOffset? time)
    {
        Offset = offset;
        Time = time;
    }

    public long? Offset { get; }

    public DateTimeOffset? Time { get; }

    public static KafkaBound AtOffset(long offset)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        return new KafkaBound(offset, null);
    }

    public static KafkaBound AtTime(DateTimeOffset time) => new(null, time.ToUniversalTime());

    /// <summary>A non-negative integer is an offset; anything else must be an RFC 3339 time with a zone (Z or ±hh:mm).</summary>
    public static KafkaBound Parse(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.Length > 0 && value.All(char.IsAsciiDigit))
        {
            return long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var offset)
                ? AtOffset(offset)
                : throw new FormatException($"{name}: offset '{value}' is too large");
        }

        var zoned = value.EndsWith('Z') || value.EndsWith('z') || (value.Length > 6 && value[^6] is '+' or '-' && value[^3] == ':');
        if (zoned && value.Contains('T', StringComparison.OrdinalIgnoreCase)
            && DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out var time))
        {
            return AtTime(time);
        }

        throw new FormatException($"{name}: '{value}' is neither an offset nor an RFC 3339 time such as 2026-11-26T10:00:00Z");
    }

    public override string ToString() =>
        Offset is { } offset ? offset.ToString(CultureInfo.InvariantCulture) : Time!.Value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
