using System.Buffers.Binary;
using System.Runtime.CompilerServices;

namespace GateStream.Ingest.Internal;

/// <summary>
/// A forward-only protobuf reader over one message's bytes, a cursor on top of <see cref="ProtoWire"/> (varints and
/// skipping are ProtoWire's). Every read is a <c>Try</c> that returns false on malformed input after recording what
/// and where in the shared <see cref="WireError"/>; nothing here throws or allocates.
/// </summary>
/// <remarks>
/// Offsets in errors are absolute (from the start of the request), so a nested reader carries its origin.
/// Groups (wire types 3 and 4) are refused: OTLP never uses them, and skipping them needs a nesting walk.
/// </remarks>
internal ref struct WireReader
{
    private readonly ReadOnlySpan<byte> _data;
    private readonly int _origin;
    private readonly string _message;
    private readonly ref WireError _error;
    private int _position;
    private int _field;
    private int _tagStart;
    private bool _failed;

    /// <param name="data">The message's bytes.</param>
    /// <param name="origin">Absolute offset of <paramref name="data"/> in the request, for errors.</param>
    /// <param name="message">The message's type, for errors.</param>
    /// <param name="error">Where a failure is recorded.</param>
    /// <param name="position">Where to start reading in <paramref name="data"/> (a caller that read the fields before it).</param>
    public WireReader(ReadOnlySpan<byte> data, int origin, string message, ref WireError error, int position = 0)
    {
        _data = data;
        _origin = origin;
        _message = message;
        _error = ref error;
        _position = position;
    }

    public readonly bool HasMore => _position < _data.Length;

    /// <summary>Offset of the next byte in this reader's data.</summary>
    public readonly int Position => _position;

    /// <summary>Absolute offset of the next byte.</summary>
    public readonly int Offset => _origin + _position;

    /// <summary>A reader over a length-delimited value this reader returned, sharing the error record.</summary>
    public readonly WireReader Nested(ReadOnlySpan<byte> data, int origin, string message) => new(data, origin, message, ref _error);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryReadTag(out int field, out WireType wire)
    {
        // Fast path: a one-byte tag (fields 1-15) of a wire type OTLP uses (0, 1, 2, 5), which is every tag OTLP's
        // hot messages carry.
        var data = _data;
        var position = _position;
        if ((uint)position < (uint)data.Length)
        {
            int tag = data[position];
            if (tag is >= 8 and < 0x80 && ((OneByteWireTypes >> (tag & 7)) & 1) != 0)
            {
                _tagStart = position;
                _position = position + 1;
                field = tag >> 3;
                _field = field;
                wire = (WireType)(tag & 7);
                return true;
            }
        }

        return TryReadTagSlow(out field, out wire);
    }

    /// <summary>Bit n set for the wire types a tag may carry in OTLP: varint, 64-bit, length-delimited, 32-bit.</summary>
    private const int OneByteWireTypes = (1 << (int)WireType.Varint) | (1 << (int)WireType.Fixed64) | (1 << (int)WireType.LengthDelimited) | (1 << (int)WireType.Fixed32);

    private bool TryReadTagSlow(out int field, out WireType wire)
    {
        var start = _position;
        _field = 0;
        _tagStart = start;
        if (!TryReadVarint(out var tag))
        {
            field = 0;
            wire = default;
            return false;
        }

        wire = (WireType)(tag & 7);
        var number = tag >> 3;
        if (!ProtoWire.IsValidFieldNumber(number))
        {
            field = 0;
            return Fail(WireProblem.InvalidFieldNumber, start, number > int.MaxValue ? int.MaxValue : (int)number, wire);
        }

        field = (int)number;
        _field = field;
        if (wire is WireType.StartGroup or WireType.EndGroup)
        {
            return Fail(WireProblem.GroupWireType, start, field, wire);
        }

        if ((byte)wire > (byte)WireType.Fixed32)
        {
            return Fail(WireProblem.InvalidWireType, start, field, wire);
        }

        return true;
    }

    /// <summary>Checks a known field's wire type; on a mismatch records it against <paramref name="fieldName"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public readonly bool Expect(WireType wire, WireType expected, string fieldName) =>
        wire == expected || WrongWireType(wire, expected, fieldName);

    private readonly bool WrongWireType(WireType wire, WireType expected, string fieldName)
    {
        // The tag was the last thing read: point at it.
        _error = new WireError
        {
            Problem = WireProblem.WrongWireType,
            Offset = _origin + _tagStart,
            Field = _field,
            Wire = wire,
            Expected = expected,
            Message = _message,
            FieldName = fieldName,
        };
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryReadVarint(out ulong value)
    {
        var data = _data;
        var position = _position;
        // Fast path: one byte (small enums, lengths, tags).
        if ((uint)position < (uint)data.Length && data[position] < 0x80)
        {
            value = data[position];
            _position = position + 1;
            return true;
        }

        return TryReadVarintSlow(out value);
    }

    // Longer varints through ProtoWire, more strictly: a 10th byte above 1 overflows 64 bits and is refused.
    private bool TryReadVarintSlow(out ulong value)
    {
        var start = _position;
        var position = start;
        if (ProtoWire.TryReadVarint(_data, ref position, out value) && (position - start < ProtoWire.MaxVarintBytes || _data[position - 1] <= 1))
        {
            _position = position;
            return true;
        }

        value = 0;
        ProtoWire.FailVarint(_data, start, _field, ref _error);
        if (!ProtoWire.IsCutOffVarint(_data, start))
        {
            _error.Problem = WireProblem.VarintTooLong;
        }

        return Located();
    }

    public bool TryReadFixed64(out ulong value)
    {
        if (_data.Length - _position < 8)
        {
            value = 0;
            return Fail(WireProblem.TruncatedFixed, _position, _field, WireType.Fixed64, available: _data.Length - _position);
        }

        value = BinaryPrimitives.ReadUInt64LittleEndian(_data.Slice(_position, 8));
        _position += 8;
        return true;
    }

    public bool TryReadFixed32(out uint value)
    {
        if (_data.Length - _position < 4)
        {
            value = 0;
            return Fail(WireProblem.TruncatedFixed, _position, _field, WireType.Fixed32, available: _data.Length - _position);
        }

        value = BinaryPrimitives.ReadUInt32LittleEndian(_data.Slice(_position, 4));
        _position += 4;
        return true;
    }

    public bool TryReadDouble(out double value)
    {
        if (!TryReadFixed64(out var bits))
        {
            value = 0;
            return false;
        }

        value = BitConverter.UInt64BitsToDouble(bits);
        return true;
    }

    /// <summary>Reads a length-delimited value; <paramref name="origin"/> is the absolute offset of its first byte.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryReadLengthDelimited(out ReadOnlySpan<byte> value, out int origin)
    {
        // Fast path: a one-byte length that fits.
        var data = _data;
        var position = _position;
        if ((uint)position < (uint)data.Length)
        {
            int length = data[position];
            if (length < 0x80 && length < data.Length - position)
            {
                position++;
                origin = _origin + position;
                value = data.Slice(position, length);
                _position = position + length;
                return true;
            }
        }

        return TryReadLengthDelimitedSlow(out value, out origin);
    }

    private bool TryReadLengthDelimitedSlow(out ReadOnlySpan<byte> value, out int origin)
    {
        var start = _position;
        if (!TryReadVarint(out var length))
        {
            value = default;
            origin = 0;
            return false;
        }

        var available = _data.Length - _position;
        if (length > (ulong)available)
        {
            value = default;
            origin = 0;
            return Fail(WireProblem.TruncatedLength, start, _field, WireType.LengthDelimited, declared: length, available: available);
        }

        origin = _origin + _position;
        value = _data.Slice(_position, (int)length);
        _position += (int)length;
        return true;
    }

    /// <summary>True once <see cref="TryReadNext"/> stopped on malformed input (rather than at the end of the data).</summary>
    public readonly bool Failed => _failed;

    /// <summary>
    /// Moves to the next occurrence of the length-delimited field <paramref name="field"/> (named
    /// <paramref name="fieldName"/> in errors), skipping every other field. False at the end of the data, or on
    /// malformed input, which sets <see cref="Failed"/>.
    /// </summary>
    public bool TryReadNext(int field, string fieldName, out ReadOnlySpan<byte> value, out int origin)
    {
        while (HasMore)
        {
            if (!TryReadTag(out var found, out var wire))
            {
                return Stop(out value, out origin);
            }

            if (found == field)
            {
                return (Expect(wire, WireType.LengthDelimited, fieldName) && TryReadLengthDelimited(out value, out origin))
                    || Stop(out value, out origin);
            }

            if (!TrySkip(wire))
            {
                return Stop(out value, out origin);
            }
        }

        value = default;
        origin = 0;
        return false;
    }

    private bool Stop(out ReadOnlySpan<byte> value, out int origin)
    {
        _failed = true;
        value = default;
        origin = 0;
        return false;
    }

    /// <summary>Skips the value of a field this reader does not use, validating only its framing (through <see cref="ProtoWire"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TrySkip(WireType wire)
    {
        // Fast path: a length-delimited value with a one-byte length that fits (ids, names, unused sub-messages).
        var position = _position;
        if (wire == WireType.LengthDelimited && (uint)position < (uint)_data.Length)
        {
            int length = _data[position];
            if (length < 0x80 && length < _data.Length - position)
            {
                _position = position + 1 + length;
                return true;
            }
        }

        return TrySkipSlow(wire);
    }

    private bool TrySkipSlow(WireType wire)
    {
        // TryReadTag already refused groups and invalid wire types.
        if (ProtoWire.TrySkip(_data, ref _position, _field, (int)wire, ref _error))
        {
            return true;
        }

        return Located();
    }

    /// <summary>Makes an error ProtoWire recorded (offset relative to this reader's data) absolute and names the message.</summary>
    private readonly bool Located()
    {
        _error.Offset += _origin;
        _error.Message = _message;
        return false;
    }

    private readonly bool Fail(WireProblem problem, int position, int field, WireType wire, ulong declared = 0, int available = 0)
    {
        _error = new WireError
        {
            Problem = problem,
            Offset = _origin + position,
            Field = field,
            Wire = wire,
            Message = _message,
            Declared = declared,
            Available = available,
        };
        return false;
    }
}
