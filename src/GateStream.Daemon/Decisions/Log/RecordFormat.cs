using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;

namespace GateStream.Daemon.Decisions.Log;

/// <summary>
/// The on-disk layout of one record and of segment file names. README.md in this folder is the
/// specification; this class and that file change together.
/// </summary>
internal static class RecordFormat
{
    public const int HeaderLength = 24;

    /// <summary>Larger lengths are treated as corruption, so a damaged length never makes a reader allocate gigabytes.</summary>
    public const int MaxPayloadLength = 16 * 1024 * 1024;

    public const string SegmentSearchPattern = "decisions-*.log";

    private const string SegmentPrefix = "decisions-";
    private const string SegmentSuffix = ".log";
    private const int SequenceDigits = 20;

    // Offsets inside the header. The checksum covers [SequenceOffset, end of payload).
    private const int LengthOffset = 0;
    private const int ChecksumOffset = 4;
    private const int SequenceOffset = 8;
    private const int TimestampOffset = 16;

    public static string SegmentFileName(ulong firstSequence) =>
        SegmentPrefix + firstSequence.ToString("D20", CultureInfo.InvariantCulture) + SegmentSuffix;

    public static bool TryParseSegmentFileName(string fileName, out ulong firstSequence)
    {
        firstSequence = 0;
        if (fileName.Length != SegmentPrefix.Length + SequenceDigits + SegmentSuffix.Length
            || !fileName.StartsWith(SegmentPrefix, StringComparison.Ordinal)
            || !fileName.EndsWith(SegmentSuffix, StringComparison.Ordinal))
        {
            return false;
        }

        var digits = fileName.AsSpan(SegmentPrefix.Length, SequenceDigits);
        foreach (var c in digits)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
        }

        return ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out firstSequence);
    }

    /// <summary>Encodes one record into <paramref name="destination"/>, which must hold <see cref="HeaderLength"/> + payload bytes.</summary>
    public static void Write(Span<byte> destination, ulong sequence, long timestampMicros, ReadOnlySpan<byte> payload)
    {
        var record = destination[..(HeaderLength + payload.Length)];
        BinaryPrimitives.WriteUInt32LittleEndian(record[LengthOffset..], (uint)payload.Length);
        BinaryPrimitives.WriteUInt64LittleEndian(record[SequenceOffset..], sequence);
        BinaryPrimitives.WriteInt64LittleEndian(record[TimestampOffset..], timestampMicros);
        payload.CopyTo(record[HeaderLength..]);
        BinaryPrimitives.WriteUInt32LittleEndian(record[ChecksumOffset..], Crc32.HashToUInt32(record[SequenceOffset..]));
    }

    /// <summary>Decodes a header; false when its length field is beyond <see cref="MaxPayloadLength"/>.</summary>
    public static bool TryReadHeader(ReadOnlySpan<byte> header, out RecordHeader result)
    {
        var length = BinaryPrimitives.ReadUInt32LittleEndian(header[LengthOffset..]);
        result = new RecordHeader(
            length > MaxPayloadLength ? -1 : (int)length,
            BinaryPrimitives.ReadUInt32LittleEndian(header[ChecksumOffset..]),
            BinaryPrimitives.ReadUInt64LittleEndian(header[SequenceOffset..]),
            BinaryPrimitives.ReadInt64LittleEndian(header[TimestampOffset..]));
        return length <= MaxPayloadLength;
    }

    /// <summary>The checksum a record with this header and payload must carry.</summary>
    public static uint ComputeChecksum(Crc32 crc, ReadOnlySpan<byte> header, ReadOnlySpan<byte> payload)
    {
        crc.Reset();
        crc.Append(header[SequenceOffset..HeaderLength]);
        crc.Append(payload);
        return crc.GetCurrentHashAsUInt32();
    }
}

/// <summary>A decoded record header. <see cref="PayloadLength"/> is -1 when the stored length was out of range.</summary>
internal readonly record struct RecordHeader(int PayloadLength, uint Checksum, ulong Sequence, long TimestampMicros);
