using System.IO.Hashing;

namespace GateStream.Daemon.Decisions.Log;

/// <summary>What reading the next record found.</summary>
internal enum RecordStatus
{
    Ok,

    /// <summary>The limit was reached exactly at a record boundary.</summary>
    End,
    PartialHeader,
    BadLength,
    PartialPayload,
    ChecksumMismatch,
}

/// <summary>
/// Reads one segment's records front to back, never past <c>limit</c> bytes. Recovery uses it with the
/// file's length, readers with the length committed when they started.
/// </summary>
internal sealed class SegmentReader : IDisposable
{
    private const int BufferBytes = 64 * 1024;

    private readonly FileStream _stream;
    private readonly byte[] _header = new byte[RecordFormat.HeaderLength];
    private readonly Crc32 _crc = new();

    private SegmentReader(FileStream stream, long limit)
    {
        _stream = stream;
        Limit = limit;
    }

    /// <summary>Bytes of the file this reader may read.</summary>
    public long Limit { get; }

    /// <summary>Offset of the next unread record: after the last record read whole and verified (or skipped).</summary>
    public long Position { get; private set; }

    /// <summary>Opens a segment to read at most <paramref name="limit"/> bytes of it (null: its current length).</summary>
    public static SegmentReader Open(string path, long? limit)
    {
        var stream = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Read,

            // The writer keeps appending and retention may delete the file while it is being read.
            Share = FileShare.ReadWrite | FileShare.Delete,
            BufferSize = BufferBytes,
            Options = FileOptions.SequentialScan,
        });
        return new SegmentReader(stream, limit ?? stream.Length);
    }

    public static string Describe(RecordStatus status) => status switch
    {
        RecordStatus.PartialHeader => "partial record header",
        RecordStatus.BadLength => $"payload length beyond {RecordFormat.MaxPayloadLength} bytes",
        RecordStatus.PartialPayload => "partial record payload",
        RecordStatus.ChecksumMismatch => "checksum mismatch",
        _ => status.ToString(),
    };

    /// <summary>Reads the next header. On <see cref="RecordStatus.Ok"/> the caller must read or skip the payload next.</summary>
    public RecordStatus ReadHeader(out RecordHeader header)
    {
        header = default;
        var remaining = Limit - Position;
        if (remaining == 0)
        {
            return RecordStatus.End;
        }

        if (remaining < RecordFormat.HeaderLength
            || _stream.ReadAtLeast(_header, RecordFormat.HeaderLength, throwOnEndOfStream: false) < RecordFormat.HeaderLength)
        {
            return RecordStatus.PartialHeader;
        }

        if (!RecordFormat.TryReadHeader(_header, out header))
        {
            return RecordStatus.BadLength;
        }

        return remaining - RecordFormat.HeaderLength < header.PayloadLength ? RecordStatus.PartialPayload : RecordStatus.Ok;
    }

    /// <summary>Reads the payload of the header just read into <paramref name="payload"/> and verifies the checksum.</summary>
    public RecordStatus ReadPayload(in RecordHeader header, Span<byte> payload)
    {
        var destination = payload[..header.PayloadLength];
        if (_stream.ReadAtLeast(destination, destination.Length, throwOnEndOfStream: false) < destination.Length)
        {
            // The file shrank under us; only possible if someone else truncated it.
            return RecordStatus.PartialPayload;
        }

        if (RecordFormat.ComputeChecksum(_crc, _header, destination) != header.Checksum)
        {
            return RecordStatus.ChecksumMismatch;
        }

        Position += RecordFormat.HeaderLength + header.PayloadLength;
        return RecordStatus.Ok;
    }

    /// <summary>Steps over the payload of the header just read without verifying it.</summary>
    public void SkipPayload(in RecordHeader header)
    {
        Position += RecordFormat.HeaderLength + header.PayloadLength;
        _stream.Seek(Position, SeekOrigin.Begin);
    }

    /// <summary>Continues at <paramref name="position"/> (the end of a run recovery skipped).</summary>
    public void SkipTo(long position)
    {
        Position = position;
        _stream.Seek(position, SeekOrigin.Begin);
    }

    public void Dispose() => _stream.Dispose();
}
