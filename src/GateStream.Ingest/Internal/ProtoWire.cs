using System.Buffers;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace GateStream.Ingest.Internal;

/// <summary>Protobuf wire types (the low three bits of a tag).</summary>
internal enum WireType : byte
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    StartGroup = 3,
    EndGroup = 4,
    Fixed32 = 5,
}

/// <summary>
/// The one protobuf reading core of this assembly, shared by the native and OTLP decoders (the latter through
/// <see cref="WireReader"/>): varints, tags, length-delimited spans and skipping of any field, over a span with an
/// explicit position (and, for a message split across buffer segments, over a <see cref="SequenceReader{T}"/> by way
/// of the span code). Every method returns <c>false</c> on malformed input (never throws) and allocates nothing; the
/// variants that take a <see cref="WireError"/> record what and where, which becomes text only on the failure path.
/// </summary>
internal static class ProtoWire
{
    public const int Varint = (int)WireType.Varint;
    public const int Fixed64 = (int)WireType.Fixed64;
    public const int LengthDelimited = (int)WireType.LengthDelimited;
    public const int StartGroup = (int)WireType.StartGroup;
    public const int EndGroup = (int)WireType.EndGroup;
    public const int Fixed32 = (int)WireType.Fixed32;

    /// <summary>The longest varint protobuf allows (a 64-bit value).</summary>
    public const int MaxVarintBytes = 10;

    /// <summary>Nesting limit for skipped groups, as in protobuf's own parsers (recursion limit 100).</summary>
    public const int MaxGroupDepth = 100;

    /// <summary>The largest field number protobuf allows (2^29-1).</summary>
    public const uint MaxFieldNumber = (1u << 29) - 1;

    /// <summary>Whether a tag's field number (tag &gt;&gt; 3) is in protobuf's range 1 .. 2^29-1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsValidFieldNumber(ulong number) => number is not (0 or > MaxFieldNumber);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryReadVarint(ReadOnlySpan<byte> span, ref int position, out ulong value)
    {
        var p = position;
        if ((uint)p < (uint)span.Length)
        {
            var b = span[p];
            if (b < 0x80)
            {
                value = b;
                position = p + 1;
                return true;
            }
        }

        return TryReadVarintSlow(span, ref position, out value);
    }

    private static bool TryReadVarintSlow(ReadOnlySpan<byte> span, ref int position, out ulong value)
    {
        ulong result = 0;
        var p = position;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if ((uint)p >= (uint)span.Length)
            {
                value = 0;
                return false;
            }

            var b = span[p++];
            result |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                value = result;
                position = p;
                return true;
            }
        }

        value = 0;
        return false;
    }

    /// <summary>
    /// Records why <see cref="TryReadVarint(ReadOnlySpan{byte}, ref int, out ulong)"/> failed at
    /// <paramref name="position"/>: cut off, or longer than 10 bytes. Returns false.
    /// </summary>
    public static bool FailVarint(ReadOnlySpan<byte> span, int position, int field, ref WireError error) =>
        IsCutOffVarint(span, position)
            ? error.Set(WireProblem.TruncatedVarint, position, field, WireType.Varint, available: span.Length - position)
            : error.Set(WireProblem.VarintTooLong, position, field, WireType.Varint);

    /// <summary>Whether a varint that failed at <paramref name="position"/> was cut off (rather than too long).</summary>
    public static bool IsCutOffVarint(ReadOnlySpan<byte> span, int position) =>
        span.Length - position < MaxVarintBytes && !span[position..].ContainsAnyInRange((byte)0, (byte)0x7F);

    /// <summary>Reads a tag; fails on a bad varint, field number 0 or one above 2^29-1.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryReadTag(ReadOnlySpan<byte> span, ref int position, out int field, out int wireType)
    {
        if (!TryReadVarint(span, ref position, out var tag) || tag > uint.MaxValue || !IsValidFieldNumber(tag >> 3))
        {
            field = 0;
            wireType = 0;
            return false;
        }

        field = (int)(tag >> 3);
        wireType = (int)(tag & 7);
        return true;
    }

    /// <summary>Reads the length prefix of a length-delimited field and checks that the bytes are there.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryReadLength(ReadOnlySpan<byte> span, ref int position, out int length)
    {
        if (!TryReadVarint(span, ref position, out var value) || value > (ulong)(span.Length - position))
        {
            length = 0;
            return false;
        }

        length = (int)value;
        return true;
    }

    /// <summary>Reads a tag like <see cref="TryReadTag(ReadOnlySpan{byte}, ref int, out int, out int)"/>, recording why it failed.</summary>
    public static bool TryReadTag(ReadOnlySpan<byte> span, ref int position, out int field, out int wireType, ref WireError error)
    {
        var start = position;
        if (TryReadTag(span, ref position, out field, out wireType))
        {
            return true;
        }

        var p = start;
        return TryReadVarint(span, ref p, out var tag)
            ? error.Set(WireProblem.InvalidFieldNumber, start, tag >> 3 > int.MaxValue ? int.MaxValue : (int)(tag >> 3), (WireType)(tag & 7), declared: tag)
            : FailVarint(span, start, 0, ref error);
    }

    /// <summary>Reads a length prefix like <see cref="TryReadLength"/>, recording why it failed (at the prefix).</summary>
    public static bool TryReadLength(ReadOnlySpan<byte> span, ref int position, int field, out int length, ref WireError error)
    {
        var start = position;
        if (TryReadLength(span, ref position, out length))
        {
            return true;
        }

        var p = start;
        return TryReadVarint(span, ref p, out var declared)
            ? error.Set(WireProblem.TruncatedLength, start, field, WireType.LengthDelimited, declared, span.Length - p)
            : FailVarint(span, start, field, ref error);
    }

    /// <summary>
    /// Skips the value of a field whose tag was just read (any wire type, groups included, nested to
    /// <see cref="MaxGroupDepth"/>). Fails, recording the offending byte in <paramref name="error"/>, on a truncated
    /// value, an invalid wire type (6, 7), an unmatched end-group, or a group nested too deep.
    /// </summary>
    public static bool TrySkip(ReadOnlySpan<byte> span, ref int position, int field, int wireType, ref WireError error)
    {
        switch (wireType)
        {
            case Varint:
                return TryReadVarint(span, ref position, out _) || FailVarint(span, position, field, ref error);
            case Fixed64:
            case Fixed32:
                var size = wireType == Fixed64 ? 8 : 4;
                if (span.Length - position < size)
                {
                    return error.Set(WireProblem.TruncatedFixed, position, field, (WireType)wireType, available: span.Length - position);
                }

                position += size;
                return true;
            case LengthDelimited:
                if (!TryReadLength(span, ref position, field, out var length, ref error))
                {
                    return false;
                }

                position += length;
                return true;
            case StartGroup:
                return TrySkipGroup(span, ref position, field, ref error);
            case EndGroup:
                return error.Set(WireProblem.UnmatchedEndGroup, position, field, WireType.EndGroup);
            default:
                return error.Set(WireProblem.InvalidWireType, position, field, (WireType)wireType);
        }
    }

    // Iterative, with an explicit stack of the open groups' field numbers: deep nesting cannot overflow the call stack.
    private static bool TrySkipGroup(ReadOnlySpan<byte> span, ref int position, int field, ref WireError error)
    {
        Span<int> open = stackalloc int[MaxGroupDepth];
        var depth = 0;
        open[depth++] = field;
        while (depth > 0)
        {
            var tagAt = position;
            if (position >= span.Length)
            {
                return error.Set(WireProblem.UnclosedGroup, position, open[depth - 1], WireType.StartGroup);
            }

            if (!TryReadTag(span, ref position, out var inner, out var innerType, ref error))
            {
                return false;
            }

            switch (innerType)
            {
                case EndGroup:
                    if (inner != open[depth - 1])
                    {
                        return error.Set(WireProblem.MismatchedEndGroup, tagAt, inner, WireType.EndGroup, declared: (ulong)open[depth - 1]);
                    }

                    depth--;
                    break;
                case StartGroup:
                    if (depth == MaxGroupDepth)
                    {
                        return error.Set(WireProblem.GroupTooDeep, tagAt, inner, WireType.StartGroup);
                    }

                    open[depth++] = inner;
                    break;
                default:
                    if (!TrySkip(span, ref position, inner, innerType, ref error))
                    {
                        return false;
                    }

                    break;
            }
        }

        return true;
    }

    /// <summary>
    /// Reads a varint at a sequence reader's position through the span reader: in place when the current segment
    /// holds it, else from a copy of its (at most 10) bytes. Offsets in <paramref name="error"/> are from the
    /// reader's start.
    /// </summary>
    public static bool TryReadVarint(ref SequenceReader<byte> reader, int field, out ulong value, ref WireError error)
    {
        Span<byte> head = stackalloc byte[MaxVarintBytes];
        scoped ReadOnlySpan<byte> span = reader.UnreadSpan;
        if (span.Length < MaxVarintBytes && span.Length < reader.Remaining)
        {
            var n = (int)Math.Min(reader.Remaining, MaxVarintBytes);
            reader.TryCopyTo(head[..n]);
            span = head[..n];
        }

        var position = 0;
        if (TryReadVarint(span, ref position, out value))
        {
            reader.Advance(position);
            return true;
        }

        FailVarint(span, 0, field, ref error);
        error.Offset = (int)reader.Consumed;
        return false;
    }

    /// <summary>
    /// Skips a field at a sequence reader's position, as <see cref="TrySkip(ReadOnlySpan{byte}, ref int, int, int, ref WireError)"/>
    /// does over a span. A group is walked over a contiguous copy of the rest (groups are rare: no sender of ours
    /// writes one).
    /// </summary>
    public static bool TrySkip(ref SequenceReader<byte> reader, int field, int wireType, ref WireError error)
    {
        switch (wireType)
        {
            case Varint:
                return TryReadVarint(ref reader, field, out _, ref error);
            case Fixed64:
            case Fixed32:
                var size = wireType == Fixed64 ? 8 : 4;
                if (reader.Remaining < size)
                {
                    return error.Set(WireProblem.TruncatedFixed, (int)reader.Consumed, field, (WireType)wireType, available: (int)reader.Remaining);
                }

                reader.Advance(size);
                return true;
            case LengthDelimited:
                var lengthAt = reader.Consumed;
                if (!TryReadVarint(ref reader, field, out var length, ref error))
                {
                    return false;
                }

                if (length > (ulong)reader.Remaining)
                {
                    return error.Set(WireProblem.TruncatedLength, (int)lengthAt, field, WireType.LengthDelimited, length, (int)reader.Remaining);
                }

                reader.Advance((long)length);
                return true;
            default:
                var start = (int)reader.Consumed;
                var rest = reader.UnreadSequence;
                byte[]? copy = null;
                var span = rest.IsSingleSegment ? rest.FirstSpan : (copy = ArrayPool<byte>.Shared.Rent((int)rest.Length)).AsSpan(0, (int)rest.Length);
                try
                {
                    if (copy is not null)
                    {
                        rest.CopyTo(copy);
                    }

                    var position = 0;
                    var ok = TrySkip(span, ref position, field, wireType, ref error);
                    if (!ok)
                    {
                        error.Offset += start;
                        return false;
                    }

                    reader.Advance(position);
                    return true;
                }
                finally
                {
                    if (copy is not null)
                    {
                        ArrayPool<byte>.Shared.Return(copy);
                    }
                }
        }
    }

    /// <summary>
    /// Checks that <paramref name="packed"/> is a sequence of whole varints of at most 10 bytes each and returns how
    /// many there are; on failure <paramref name="count"/> is the offset of the bad varint inside the span.
    /// </summary>
    /// <remarks>
    /// 64 bytes at a time: one bit per byte says whether it continues a varint, terminators are the clear bits, and a
    /// run of 10 set bits (inside the block or across its start) is a varint that is too long. Any failure is
    /// re-found byte by byte, which also gives its offset.
    /// </remarks>
    public static bool TryCountPackedVarints(ReadOnlySpan<byte> packed, out int count)
    {
        var n = 0;
        var run = 0;
        var i = 0;
        ref var start = ref MemoryMarshal.GetReference(packed);
        for (; packed.Length - i >= 64; i += 64)
        {
            var continues = ContinuationBits(ref Unsafe.Add(ref start, i));
            if (continues == ulong.MaxValue)
            {
                return TryCountPackedVarintsSlow(packed, out count);
            }

            // A run of 10 continuation bytes: set bits i..i+9 (m2: pairs, m4: fours, m8: eights, then two more).
            var m2 = continues & (continues >> 1);
            var m4 = m2 & (m2 >> 2);
            var m8 = m4 & (m4 >> 4);
            if ((m8 & (m2 >> 8)) != 0 || run + BitOperations.TrailingZeroCount(~continues) >= MaxVarintBytes)
            {
                return TryCountPackedVarintsSlow(packed, out count);
            }

            n += 64 - BitOperations.PopCount(continues);
            run = BitOperations.LeadingZeroCount(~continues);
        }

        for (; i < packed.Length; i++)
        {
            if (packed[i] < 0x80)
            {
                n++;
                run = 0;
            }
            else if (++run == MaxVarintBytes)
            {
                return TryCountPackedVarintsSlow(packed, out count);
            }
        }

        if (run != 0)
        {
            return TryCountPackedVarintsSlow(packed, out count);
        }

        count = n;
        return true;
    }

    /// <summary>Bit k set when byte k of the 64 at <paramref name="block"/> has its continuation bit set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static ulong ContinuationBits(ref byte block)
    {
        if (Vector512.IsHardwareAccelerated)
        {
            return Vector512.LoadUnsafe(ref block).ExtractMostSignificantBits();
        }

        if (Vector256.IsHardwareAccelerated)
        {
            return Vector256.LoadUnsafe(ref block).ExtractMostSignificantBits()
                | ((ulong)Vector256.LoadUnsafe(ref block, 32).ExtractMostSignificantBits() << 32);
        }

        return Vector128.LoadUnsafe(ref block).ExtractMostSignificantBits()
            | ((ulong)Vector128.LoadUnsafe(ref block, 16).ExtractMostSignificantBits() << 16)
            | ((ulong)Vector128.LoadUnsafe(ref block, 32).ExtractMostSignificantBits() << 32)
            | ((ulong)Vector128.LoadUnsafe(ref block, 48).ExtractMostSignificantBits() << 48);
    }

    private static bool TryCountPackedVarintsSlow(ReadOnlySpan<byte> packed, out int count)
    {
        var n = 0;
        var run = 0;
        for (var i = 0; i < packed.Length; i++)
        {
            if (packed[i] < 0x80)
            {
                n++;
                run = 0;
            }
            else if (++run == MaxVarintBytes)
            {
                count = i - (MaxVarintBytes - 1);
                return false;
            }
        }

        if (run != 0)
        {
            count = packed.Length - run;
            return false;
        }

        count = n;
        return true;
    }

    /// <summary>
    /// Reads the next varint of a packed run that <see cref="TryCountPackedVarints"/> accepted (so it is whole), with
    /// the bytes of the usual column values (up to 3 bytes, 2^21) read inline rather than in a loop; longer ones as
    /// <see cref="TryReadVarint(ReadOnlySpan{byte}, ref int, out ulong)"/> reads them.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong ReadPackedVarint(ReadOnlySpan<byte> packed, ref int position)
    {
        var p = position;
        if ((uint)p < (uint)packed.Length)
        {
            ulong b = packed[p];
            if (b < 0x80)
            {
                position = p + 1;
                return b;
            }

            var value = b & 0x7F;
            if ((uint)(p + 1) < (uint)packed.Length)
            {
                b = packed[p + 1];
                value |= (b & 0x7F) << 7;
                if (b < 0x80)
                {
                    position = p + 2;
                    return value;
                }

                if ((uint)(p + 2) < (uint)packed.Length)
                {
                    b = packed[p + 2];
                    value |= b << 14;
                    if (b < 0x80)
                    {
                        position = p + 3;
                        return value;
                    }
                }
            }
        }

        TryReadVarint(packed, ref position, out var longer);
        return longer;
    }

    /// <summary>The number of varints in a packed span already known to be well formed: its terminating bytes.</summary>
    public static int CountVarints(ReadOnlySpan<byte> packed)
    {
        var n = 0;
        foreach (var b in packed)
        {
            n += (b >> 7) ^ 1;
        }

        return n;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long DecodeZigZag(ulong value) => (long)(value >> 1) ^ -(long)(value & 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong EncodeZigZag(long value) => (ulong)((value << 1) ^ (value >> 63));
}
