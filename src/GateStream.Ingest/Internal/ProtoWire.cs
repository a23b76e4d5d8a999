using System.Runtime.CompilerServices;

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
/// The protobuf wire format over a span with an explicit position, shared by the native and OTLP decoders (the latter
/// through <see cref="WireReader"/>): varints, tags, length-delimited spans and skipping of any field. Every method
/// returns <c>false</c> on malformed input (never throws) and allocates nothing; callers build an error message only
/// on the failure path.
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

    /// <summary>Why <see cref="TryReadVarint"/> failed at <paramref name="position"/>: cut off, or longer than 10 bytes.</summary>
    public static string DescribeBadVarint(ReadOnlySpan<byte> span, int position) =>
        IsCutOffVarint(span, position) ? "varint cut off by the end of the message" : "varint longer than 10 bytes";

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

    /// <summary>
    /// Skips the value of a field whose tag was just read (any wire type, groups included, nested to
    /// <see cref="MaxGroupDepth"/>). Fails, leaving <paramref name="position"/> at the offending byte, on a truncated
    /// value, an invalid wire type (6, 7), an unmatched end-group, or a group nested too deep.
    /// </summary>
    public static bool TrySkip(ReadOnlySpan<byte> span, ref int position, int field, int wireType, out string? problem)
    {
        problem = null;
        switch (wireType)
        {
            case Varint:
                if (!TryReadVarint(span, ref position, out _))
                {
                    problem = DescribeBadVarint(span, position);
                    return false;
                }

                return true;
            case Fixed64:
                return TryAdvance(span, ref position, 8, out problem);
            case Fixed32:
                return TryAdvance(span, ref position, 4, out problem);
            case LengthDelimited:
                var start = position;
                if (!TryReadLength(span, ref position, out var length))
                {
                    problem = DescribeBadLength(span, start);
                    position = start;
                    return false;
                }

                position += length;
                return true;
            case StartGroup:
                return TrySkipGroup(span, ref position, field, out problem);
            case EndGroup:
                problem = $"end-group tag for field {field} without a matching start-group";
                return false;
            default:
                problem = $"invalid wire type {wireType} for field {field}";
                return false;
        }
    }

    private static bool TryAdvance(ReadOnlySpan<byte> span, ref int position, int count, out string? problem)
    {
        if (span.Length - position < count)
        {
            problem = $"{count}-byte fixed value cut off by the end of the message ({span.Length - position} bytes left)";
            return false;
        }

        position += count;
        problem = null;
        return true;
    }

    // Iterative, with an explicit stack of the open groups' field numbers: deep nesting cannot overflow the call stack.
    private static bool TrySkipGroup(ReadOnlySpan<byte> span, ref int position, int field, out string? problem)
    {
        Span<int> open = stackalloc int[MaxGroupDepth];
        var depth = 0;
        open[depth++] = field;
        while (depth > 0)
        {
            var tagAt = position;
            if (position >= span.Length)
            {
                problem = $"group (field {open[depth - 1]}) not closed before the end of the message";
                return false;
            }

            if (!TryReadTag(span, ref position, out var inner, out var innerType))
            {
                position = tagAt;
                problem = "invalid tag inside a group";
                return false;
            }

            switch (innerType)
            {
                case EndGroup:
                    if (inner != open[depth - 1])
                    {
                        position = tagAt;
                        problem = $"end-group for field {inner} closes a group opened by field {open[depth - 1]}";
                        return false;
                    }

                    depth--;
                    break;
                case StartGroup:
                    if (depth == MaxGroupDepth)
                    {
                        position = tagAt;
                        problem = $"groups nested deeper than {MaxGroupDepth}";
                        return false;
                    }

                    open[depth++] = inner;
                    break;
                default:
                    if (!TrySkip(span, ref position, inner, innerType, out problem))
                    {
                        return false;
                    }

                    break;
            }
        }

        problem = null;
        return true;
    }

    /// <summary>Why a length prefix at <paramref name="position"/> is bad: the varint itself, or a length past the end.</summary>
    public static string DescribeBadLength(ReadOnlySpan<byte> span, int position)
    {
        var p = position;
        if (!TryReadVarint(span, ref p, out var length))
        {
            return DescribeBadVarint(span, position);
        }

        return $"length {length} runs past the end of the message ({span.Length - p} bytes left)";
    }

    /// <summary>
    /// Checks that <paramref name="packed"/> is a sequence of whole varints of at most 10 bytes each and returns how
    /// many there are; on failure <paramref name="count"/> is the offset of the bad varint inside the span.
    /// </summary>
    public static bool TryCountPackedVarints(ReadOnlySpan<byte> packed, out int count)
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
