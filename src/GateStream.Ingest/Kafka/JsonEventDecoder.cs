using System.Text.Json;
using GateStream.Core.Time;

namespace GateStream.Ingest.Kafka;

/// <summary>
/// <c>json</c> topics: one request event per message, for log shippers (docs/kafka.md, "json"):
/// <code>{"deployment":"api","version":"v2","timestamp":"2026-11-26T10:00:00.123Z","latencyMs":12.5,"status":503,"error":true}</code>
/// </summary>
/// <remarks>
/// Read with <see cref="Utf8JsonReader"/> straight from the message bytes: the deployment and version are unescaped
/// into stack buffers and copied into the batch's key, and nothing else is materialised (no strings, no DOM).
/// <c>timestamp</c> is an RFC 3339 string or a number of milliseconds since the Unix epoch; <c>status</c> and
/// <c>error</c> are optional (<c>error</c>, when present, alone decides; otherwise a status of 500 or more is an error).
/// Other properties are skipped, so shippers may add their own.
/// </remarks>
public sealed class JsonEventDecoder(string source = JsonEventDecoder.DefaultSource) : IKafkaMessageDecoder
{
    public const string DefaultSource = "kafka";

    /// <summary>Longest deployment or version accepted, in UTF-8 bytes.</summary>
    public const int MaxKeyBytes = 512;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 16 };

    public string? Decode(ReadOnlySpan<byte> value, DecodedMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        Span<byte> deployment = stackalloc byte[MaxKeyBytes];
        Span<byte> version = stackalloc byte[MaxKeyBytes];
        var deploymentLength = -1;
        var versionLength = -1;
        long? timeMicros = null;
        double? latencyMs = null;
        int? status = null;
        bool? error = null;
        var reader = new Utf8JsonReader(value, ReaderOptions);
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return "not a JSON object";
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var field = FieldOf(ref reader);
                if (field == Field.Deployment)
                {
                    if (!TryReadKey(ref reader, deployment, out deploymentLength, out var problem))
                    {
                        return "deployment: " + problem;
                    }
                }
                else if (field == Field.Version)
                {
                    if (!TryReadKey(ref reader, version, out versionLength, out var problem))
                    {
                        return "version: " + problem;
                    }
                }
                else if (field == Field.Timestamp)
                {
                    reader.Read();
                    if (!TryReadTimestamp(ref reader, out var micros))
                    {
                        return "timestamp: must be an RFC 3339 string or a number of milliseconds since the Unix epoch";
                    }

                    timeMicros = micros;
                }
                else if (field == Field.LatencyMs)
                {
                    reader.Read();
                    if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out var ms) || !double.IsFinite(ms))
                    {
                        return "latencyMs: must be a number";
                    }

                    latencyMs = ms;
                }
                else if (field == Field.Status)
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.Null)
                    {
                        status = null;
                    }
                    else if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt32(out var code))
                    {
                        return "status: must be an integer";
                    }
                    else
                    {
                        status = code;
                    }
                }
                else if (field == Field.Error)
                {
                    reader.Read();
                    error = reader.TokenType switch
                    {
                        JsonTokenType.True => true,
                        JsonTokenType.False => false,
                        JsonTokenType.Null => null,
                        _ => throw new JsonException("error: must be true or false"),
                    };
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            if (reader.TokenType != JsonTokenType.EndObject)
            {
                return "not a JSON object";
            }

            if (reader.Read())
            {
                return "more than one JSON value in the message";
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: Utf8JsonReader's copies refuse a string that is not valid UTF-8 (found by afl-fuzz).
            return "not valid JSON: " + e.Message;
        }

        if (deploymentLength <= 0 || versionLength <= 0)
        {
            return deploymentLength <= 0 ? "deployment: required, a non-empty string" : "version: required, a non-empty string";
        }

        if (timeMicros is not { } time)
        {
            return "timestamp: required";
        }

        if (latencyMs is not { } latency)
        {
            return "latencyMs: required";
        }

        // Out-of-range latencies pass through: the shard refuses and counts them like any other source's.
        var latencyMicros = latency * EventTime.MicrosPerMillisecond;
        var batch = message.RentEvents();
        batch.Key.Set(deployment[..deploymentLength], version[..versionLength]);
        batch.Source = source;
        batch.Add(time, latencyMicros >= long.MaxValue ? long.MaxValue : latencyMicros <= long.MinValue ? long.MinValue : (long)Math.Round(latencyMicros),
            error ?? status >= 500);
        message.Post(batch);
        return null;
    }

    private enum Field
    {
        Other,
        Deployment,
        Version,
        Timestamp,
        LatencyMs,
        Status,
        Error,
    }

    /// <summary>
    /// Which property the reader is on. A name without escapes (the common case) is matched on its bytes, by length
    /// first, so each property costs one comparison rather than one per known name.
    /// </summary>
    private static Field FieldOf(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped)
        {
            return reader.ValueTextEquals("deployment"u8) ? Field.Deployment
                : reader.ValueTextEquals("version"u8) ? Field.Version
                : reader.ValueTextEquals("timestamp"u8) ? Field.Timestamp
                : reader.ValueTextEquals("latencyMs"u8) ? Field.LatencyMs
                : reader.ValueTextEquals("status"u8) ? Field.Status
                : reader.ValueTextEquals("error"u8) ? Field.Error
                : Field.Other;
        }

        var name = reader.ValueSpan;
        return name.Length switch
        {
            10 when name.SequenceEqual("deployment"u8) => Field.Deployment,
            7 when name.SequenceEqual("version"u8) => Field.Version,
            9 when name.SequenceEqual("timestamp"u8) => Field.Timestamp,
            9 when name.SequenceEqual("latencyMs"u8) => Field.LatencyMs,
            6 when name.SequenceEqual("status"u8) => Field.Status,
            5 when name.SequenceEqual("error"u8) => Field.Error,
            _ => Field.Other,
        };
    }

    private static bool TryReadKey(ref Utf8JsonReader reader, scoped Span<byte> destination, out int length, out string? problem)
    {
        reader.Read();
        length = 0;
        if (reader.TokenType != JsonTokenType.String)
        {
            problem = "must be a string";
            return false;
        }

        if (reader.ValueSpan.Length > destination.Length)
        {
            problem = $"longer than {destination.Length} bytes";
            return false;
        }

        length = reader.CopyString(destination);
        problem = null;
        return true;
    }

    private static bool TryReadTimestamp(ref Utf8JsonReader reader, out long micros)
    {
        micros = 0;
        if (reader.TokenType == JsonTokenType.String)
        {
            if (!reader.TryGetDateTimeOffset(out var instant))
            {
                return false;
            }

            micros = EventTime.FromDateTimeOffset(instant);
            return true;
        }

        if (reader.TokenType != JsonTokenType.Number)
        {
            return false;
        }

        if (reader.TryGetInt64(out var ms))
        {
            if (ms is > long.MaxValue / EventTime.MicrosPerMillisecond or < 0)
            {
                return false;
            }

            micros = ms * EventTime.MicrosPerMillisecond;
            return true;
        }

        if (reader.TryGetDouble(out var fractional) && fractional is >= 0 and < long.MaxValue / EventTime.MicrosPerMillisecond)
        {
            micros = (long)Math.Round(fractional * EventTime.MicrosPerMillisecond);
            return true;
        }

        return false;
    }
}
