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

    /// <summary>Reads kind, times, status code and the HTTP status attribute of one <c>Span</c>; skips the rest.</summary>
    private bool DecodeSpan(ReadOnlySpan<byte> data, int origin, out SpanFacts span)
    {
        span = new SpanFacts { HttpStatusPriority = int.MaxValue };
        var reader = new WireReader(data, origin, "Span", ref _error);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag(out var field, out var wire))
            {
                return false;
            }

            switch (field)
            {
                case 6:
                    if (!reader.Expect(wire, WireType.Varint, "kind") || !reader.TryReadVarint(out span.Kind))
                    {
                        return false;
                    }

                    break;
                case 7:
                    if (!reader.Expect(wire, WireType.Fixed64, "start_time_unix_nano") || !reader.TryReadFixed64(out span.StartNanos))
                    {
                        return false;
                    }

                    break;
                case 8:
                    if (!reader.Expect(wire, WireType.Fixed64, "end_time_unix_nano") || !reader.TryReadFixed64(out span.EndNanos))
                    {
                        return false;
                    }

                    break;
                case 9:
                    if (!reader.Expect(wire, WireType.LengthDelimited, "attributes")
                        || !reader.TryReadLengthDelimited(out var attribute, out var attributeOrigin)
                        || !ReadStatusAttribute(attribute, attributeOrigin, ref span))
                    {
                        return false;
                    }

                    break;
                case 15:
                    if (!reader.Expect(wire, WireType.LengthDelimited, "status")
                        || !reader.TryReadLengthDelimited(out var status, out var statusOrigin)
                        || !ReadStatus(status, statusOrigin, ref span.StatusCode))
                    {
                        return false;
                    }

                    break;
                default:
                    if (!reader.TrySkip(wire))
                    {
                        return false;
                    }

                    break;
            }
        }

        return true;
    }

    /// <summary>Takes an HTTP status from a span attribute when its key is a configured one, preferring earlier keys.</summary>
    private bool ReadStatusAttribute(ReadOnlySpan<byte> data, int origin, ref SpanFacts span)
    {
        if (_statusKeys.Length == 0)
        {
            return true;
        }

        if (!ReadKeyValue(data, origin, out var key, out var value, out var valueOrigin))
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
