using System.Buffers.Binary;
using System.Runtime.InteropServices;
using GateStream.Ingest.Internal;

namespace GateStream.Ingest.Otlp;

/// <summary>Traces: one request per span of a configured kind, grouped per resource into an event batch.</summary>
public sealed partial class OtlpDecoder
{
    private const ulong StatusCodeError = 2;

    [StructLayout(LayoutKind.Auto)]
    private struct SpanFacts
    {
        public ulong Kind;
        public ulong StartNanos;
        public ulong EndNanos;
        public ulong StatusCode;
        public long HttpStatus;
        public int HttpStatusPriority;
    }

    private bool DecodeScopeSpans(ReadOnlySpan<byte> data, int origin, scoped ref ResourceKey key, bool keyOk, ref long refused)
    {
        var reader = new WireReader(data, origin, "ScopeSpans", ref _error);
        while (reader.TryReadNext(2, "spans", out var span, out var spanOrigin))
        {
            if (!DecodeSpan(span, spanOrigin, out var facts))
            {
                return false;
            }

            if (facts.Kind >= 32 || (_spanKinds & (1u << (int)facts.Kind)) == 0)
            {
                _ignored++;
            }
            else if (!keyOk)
            {
                refused++;
            }
            else if (facts.StartNanos == 0 || facts.EndNanos < facts.StartNanos)
            {
                _rejected++;
                if (WantsProblem)
                {
                    NoteProblem($"resource_spans[{_resourceIndex}]: the span at byte {spanOrigin} has start_time_unix_nano {facts.StartNanos} and "
                        + $"end_time_unix_nano {facts.EndNanos}; a request needs both, ending no earlier than it starts; span rejected");
                }
            }
            else
            {
                var error = facts.StatusCode == StatusCodeError || facts.HttpStatus >= _options.ErrorStatusCode;
                EventBatchFor(ref key).Add((long)(facts.EndNanos / 1_000), (long)((facts.EndNanos - facts.StartNanos) / 1_000), error);
                _accepted++;
            }
        }

        return !reader.Failed;
    }

    // One-byte tags of the Span fields read here (field << 3 | wire type).
    private const byte KindTag = (6 << 3) | (int)WireType.Varint;
    private const byte StartTimeTag = (7 << 3) | (int)WireType.Fixed64;
    private const byte EndTimeTag = (8 << 3) | (int)WireType.Fixed64;
    private const byte AttributesTag = (9 << 3) | (int)WireType.LengthDelimited;
    private const byte StatusTag = (15 << 3) | (int)WireType.LengthDelimited;

    /// <summary>Reads kind, times, status code and the HTTP status attribute of one <c>Span</c>; skips the rest.</summary>
    /// <remarks>
    /// The loop takes shortcuts for the layout exporters write (one-byte tags, lengths of one or two bytes, values
    /// that fit), with the position in a local; any other field, and any of these a shortcut does not fit, is read
    /// by <see cref="DecodeSpanField"/> through a <see cref="WireReader"/>, which checks and reports it. A shortcut
    /// accepts only bytes the reader would accept, with the same result.
    /// </remarks>
    private bool DecodeSpan(ReadOnlySpan<byte> data, int origin, out SpanFacts span)
    {
        span = new SpanFacts { HttpStatusPriority = int.MaxValue };
        var position = 0;
        while (position < data.Length)
        {
            var tag = data[position];
            int start, length;
            switch (tag)
            {
                case KindTag when data.Length - position >= 2 && data[position + 1] < 0x80:
                    span.Kind = data[position + 1];
                    position += 2;
                    continue;
                case StartTimeTag when data.Length - position > sizeof(ulong):
                    span.StartNanos = BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(position + 1, sizeof(ulong)));
                    position += 1 + sizeof(ulong);
                    continue;
                case EndTimeTag when data.Length - position > sizeof(ulong):
                    span.EndNanos = BinaryPrimitives.ReadUInt64LittleEndian(data.Slice(position + 1, sizeof(ulong)));
                    position += 1 + sizeof(ulong);
                    continue;
                case AttributesTag when TryReadShortLength(data, position + 1, out start, out length):
                    if (!ReadStatusAttribute(data.Slice(start, length), origin + start, ref span))
                    {
                        return false;
                    }

                    position = start + length;
                    continue;
                case StatusTag when TryReadShortLength(data, position + 1, out start, out length):
                    if (!ReadStatus(data.Slice(start, length), origin + start, ref span.StatusCode))
                    {
                        return false;
                    }

                    position = start + length;
                    continue;
                case >= 8 and < 0x80 when (tag & 7) == (int)WireType.LengthDelimited && tag is not (AttributesTag or StatusTag)
                    && TryReadShortLength(data, position + 1, out start, out length):
                    // ids, name, events, links and unknown fields: skipped, as the reader skips them.
                    position = start + length;
                    continue;
            }

            var reader = new WireReader(data, origin, "Span", ref _error, position);
            if (!DecodeSpanField(ref reader, ref span))
            {
                return false;
            }

            position = reader.Position;
        }

        return true;
    }

    /// <summary>
    /// A length-delimited value's length prefix at <paramref name="at"/>, in one or two bytes, when the value fits in
    /// <paramref name="data"/>; false otherwise (then the reader reads it, or reports it).
    /// </summary>
    private static bool TryReadShortLength(ReadOnlySpan<byte> data, int at, out int start, out int length)
    {
        if ((uint)at < (uint)data.Length)
        {
            length = data[at];
            start = at + 1;
            if (length >= 0x80)
            {
                if ((uint)start >= (uint)data.Length || data[start] >= 0x80)
                {
                    return false;
                }

                length = (length & 0x7F) | (data[start] << 7);
                start++;
            }

            return length <= data.Length - start;
        }

        start = 0;
        length = 0;
        return false;
    }

    /// <summary>Reads one field of a <c>Span</c> (its tag and value) through the reader, checking it.</summary>
    private bool DecodeSpanField(ref WireReader reader, ref SpanFacts span)
    {
        if (!reader.TryReadTag(out var field, out var wire))
        {
            return false;
        }

        switch (field)
        {
            case 6:
                return reader.Expect(wire, WireType.Varint, "kind") && reader.TryReadVarint(out span.Kind);
            case 7:
                return reader.Expect(wire, WireType.Fixed64, "start_time_unix_nano") && reader.TryReadFixed64(out span.StartNanos);
            case 8:
                return reader.Expect(wire, WireType.Fixed64, "end_time_unix_nano") && reader.TryReadFixed64(out span.EndNanos);
            case 9:
                return reader.Expect(wire, WireType.LengthDelimited, "attributes")
                    && reader.TryReadLengthDelimited(out var attribute, out var attributeOrigin)
                    && ReadStatusAttribute(attribute, attributeOrigin, ref span);
            case 15:
                return reader.Expect(wire, WireType.LengthDelimited, "status")
                    && reader.TryReadLengthDelimited(out var status, out var statusOrigin)
                    && ReadStatus(status, statusOrigin, ref span.StatusCode);
            default:
                return reader.TrySkip(wire);
        }
    }

    /// <summary>Takes an HTTP status from a span attribute when its key is a configured one, preferring earlier keys.</summary>
    private bool ReadStatusAttribute(ReadOnlySpan<byte> data, int origin, ref SpanFacts span)
    {
        if (_statusKeys.Length == 0)
        {
            return true;
        }

        // The key decides whether the value is read at all; the usual layout is split without a reader.
        if (!TrySplitUsualKeyValue(data, origin, out var key, out var value, out var valueOrigin)
            && !ReadKeyValue(data, origin, out key, out value, out valueOrigin))
        {
            return false;
        }

        var priority = -1;
        for (var i = 0; i < _statusKeys.Length && i < span.HttpStatusPriority; i++)
        {
            if (key.SequenceEqual(_statusKeys[i]))
            {
                priority = i;
                break;
            }
        }

        if (priority < 0)
        {
            return true;
        }

        if (!ReadAnyValue(value, valueOrigin, out var any))
        {
            return false;
        }

        if (any.TryGetInteger(out var code))
        {
            span.HttpStatus = code;
            span.HttpStatusPriority = priority;
        }

        return true;
    }

    private bool ReadStatus(ReadOnlySpan<byte> data, int origin, ref ulong code)
    {
        var reader = new WireReader(data, origin, "Status", ref _error);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag(out var field, out var wire))
            {
                return false;
            }

            if (field == 3)
            {
                if (!reader.Expect(wire, WireType.Varint, "code") || !reader.TryReadVarint(out code))
                {
                    return false;
                }
            }
            else if (!reader.TrySkip(wire))
            {
                return false;
            }
        }

        return true;
    }
}
