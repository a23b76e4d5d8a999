using System.Buffers;
using System.IO.Hashing;
using Microsoft.Win32.SafeHandles;

namespace GateStream.Daemon.Decisions.Log;

/// <summary>
/// Checks a record's payload beyond its checksum (for the daemon: that it is a <c>Decision</c> carrying the
/// record's sequence). Returns null when the payload is acceptable, else a short reason.
/// </summary>
public delegate string? PayloadValidator(ulong sequence, ReadOnlySpan<byte> payload);

/// <summary>A run of bytes recovery could not read as good records.</summary>
/// <param name="Offset">Where the unreadable bytes start in the segment.</param>
/// <param name="Length">How many bytes were skipped.</param>
/// <param name="Reason">What was wrong at <paramref name="Offset"/>.</param>
/// <param name="SequenceBefore">The last good sequence before the gap (0: none).</param>
/// <param name="SequenceAfter">The first good sequence after it (0: none in this segment).</param>
public readonly record struct SkippedRange(long Offset, long Length, string Reason, ulong SequenceBefore, ulong SequenceAfter)
{
    public long End => Offset + Length;
}

/// <summary>One good record found by a scan.</summary>
public readonly record struct ScannedRecord(long Offset, int Length, ulong Sequence, long TimestampMicros);

/// <summary>What scanning one segment found.</summary>
/// <param name="Records">Good records, in file order (only when the scan was asked to keep them).</param>
/// <param name="Skipped">Unreadable runs between good records; each is followed by a good record.</param>
/// <param name="Tail">Unreadable bytes after the last good record (no record at any offset in them verifies); null when the segment ends cleanly.</param>
public sealed record SegmentScan(
    long FileLength,
    long RecordCount,
    ulong FirstSequence,
    ulong LastSequence,
    long NewestTimestampMicros,
    long GoodEnd,
    IReadOnlyList<ScannedRecord> Records,
    IReadOnlyList<SkippedRange> Skipped,
    SkippedRange? Tail)
{
    /// <summary>
    /// Sequences the tail may have held. Every record is at least <see cref="RecordFormat.HeaderLength"/> bytes and the
    /// writer numbers consecutively, so the tail held at most this many; recovery never gives them out again.
    /// </summary>
    public ulong TailSequences => Tail is { } tail ? (ulong)(tail.Length / RecordFormat.HeaderLength) : 0;

    /// <summary>The highest sequence this segment may have used: its last record's, or beyond it when its tail may have held more.</summary>
    public ulong TakenUpTo => Math.Max(LastSequence, Tail is { } tail ? tail.SequenceBefore + Math.Min(TailSequences, ulong.MaxValue - tail.SequenceBefore) : 0);

    /// <summary>
    /// Scans a segment held in memory: the entry point for fuzzing and property tests. <paramref name="previousSequence"/>
    /// is the last good sequence of the earlier segments.
    /// </summary>
    public static SegmentScan Of(ReadOnlyMemory<byte> segment, ulong previousSequence = 0, PayloadValidator? validator = null) =>
        SegmentScanner.Scan(new MemorySource(segment), previousSequence, validator, keepRecords: true);
}

/// <summary>
/// Reads a segment's records front to back; at a bad record it resynchronises on the next offset where a whole record
/// verifies, so one damaged record never hides the good ones after it (README.md in this folder, "Recovery").
/// </summary>
/// <remarks>
/// A resync candidate must have a length that fits in the file and a sequence above the last good one by at most
/// <see cref="MaxSequenceJump"/> before its checksum is computed, so a scan through garbage costs about one header decode
/// per byte, not one checksum. A checksummed record whose sequence does not increase (a stale copy) is skipped like
/// damage: its sequence was used already.
/// </remarks>
internal static class SegmentScanner
{
    /// <summary>A resync candidate's sequence may be at most this far beyond the last good one.</summary>
    public const ulong MaxSequenceJump = 1UL << 32;

    public static SegmentScan Scan(ScanSource source, ulong previous, PayloadValidator? validator, bool keepRecords)
    {
        var state = new Scanner(source, validator);
        try
        {
            return state.Run(previous, keepRecords);
        }
        finally
        {
            state.Dispose();
        }
    }

    private sealed class Scanner(ScanSource source, PayloadValidator? validator) : IDisposable
    {
        private const int WindowBytes = 64 * 1024;

        private readonly Crc32 _crc = new();
        private readonly byte[] _window = ArrayPool<byte>.Shared.Rent(WindowBytes);
        private long _windowStart;
        private int _windowLength;
        private byte[] _payload = ArrayPool<byte>.Shared.Rent(4096);

        public SegmentScan Run(ulong previous, bool keepRecords)
        {
            var length = source.Length;
            var records = new List<ScannedRecord>();
            var skipped = new List<SkippedRange>();
            SkippedRange? tail = null;
            long count = 0, goodEnd = 0, newest = 0;
            ulong first = 0, last = 0;

            // A gap's start and reason, while looking for the record that ends it.
            long gapStart = -1;
            string? gapReason = null;
            var gapBefore = previous;
            long position = 0;
            while (position < length)
            {
                var (status, header, reason) = ReadRecord(position, previous);
                if (status == Outcome.Good || status == Outcome.Rejected)
                {
                    if (gapStart >= 0)
                    {
                        skipped.Add(new SkippedRange(gapStart, position - gapStart, gapReason!, gapBefore, header.Sequence));
                        gapStart = -1;
                    }

                    var recordLength = RecordFormat.HeaderLength + header.PayloadLength;
                    if (status == Outcome.Rejected)
                    {
                        // Checksummed and in order, so someone wrote it with this sequence: the sequence stays taken.
                        skipped.Add(new SkippedRange(position, recordLength, reason!, previous, header.Sequence));
                    }
                    else
                    {
                        first = count == 0 ? header.Sequence : first;
                        count++;
                        newest = header.TimestampMicros;
                        if (keepRecords)
                        {
                            records.Add(new ScannedRecord(position, recordLength, header.Sequence, header.TimestampMicros));
                        }
                    }

                    last = header.Sequence;
                    previous = header.Sequence;
                    gapBefore = previous;
                    position += recordLength;
                    goodEnd = position;
                    continue;
                }

                if (gapStart < 0)
                {
                    gapStart = position;
                    gapReason = reason;
                }

                position = FindCandidate(position + 1, previous);
                if (position < 0)
                {
                    break;
                }
            }

            if (gapStart >= 0)
            {
                tail = new SkippedRange(gapStart, length - gapStart, gapReason!, gapBefore, 0);
            }

            return new SegmentScan(length, count, first, last, newest, goodEnd, records, skipped, tail);
        }

        /// <summary>The next offset at or after <paramref name="from"/> where a plausible header starts, or -1.</summary>
        private long FindCandidate(long from, ulong previous)
        {
            var length = source.Length;
            for (var position = from; position + RecordFormat.HeaderLength <= length; position++)
            {
                var header = Header(position);
                RecordFormat.TryReadHeader(header, out var decoded);
                if (decoded.PayloadLength >= 0
                    && decoded.PayloadLength <= length - position - RecordFormat.HeaderLength
                    && decoded.Sequence > previous
                    && decoded.Sequence - previous <= MaxSequenceJump
                    && Verifies(position, decoded))
                {
                    return position;
                }
            }

            return -1;
        }

        private enum Outcome
        {
            Good,
            Rejected,
            Bad,
        }

        private (Outcome Status, RecordHeader Header, string? Reason) ReadRecord(long position, ulong previous)
        {
            var remaining = source.Length - position;
            if (remaining < RecordFormat.HeaderLength)
            {
                return (Outcome.Bad, default, SegmentReader.Describe(RecordStatus.PartialHeader));
            }

            if (!RecordFormat.TryReadHeader(Header(position), out var header))
            {
                return (Outcome.Bad, header, SegmentReader.Describe(RecordStatus.BadLength));
            }

            if (remaining - RecordFormat.HeaderLength < header.PayloadLength)
            {
                return (Outcome.Bad, header, SegmentReader.Describe(RecordStatus.PartialPayload));
            }

            if (!Verifies(position, header))
            {
                return (Outcome.Bad, header, SegmentReader.Describe(RecordStatus.ChecksumMismatch));
            }

            if (header.Sequence <= previous)
            {
                return (Outcome.Bad, header, $"sequence {header.Sequence} does not follow {previous}");
            }

            if (validator?.Invoke(header.Sequence, _payload.AsSpan(0, header.PayloadLength)) is { } problem)
            {
                return (Outcome.Rejected, header, $"record {header.Sequence} is not a valid payload: {problem}");
            }

            return (Outcome.Good, header, null);
        }

        /// <summary>Reads the payload of the record at <paramref name="position"/> into <c>_payload</c> and checks its checksum.</summary>
        private bool Verifies(long position, in RecordHeader header)
        {
            if (_payload.Length < header.PayloadLength)
            {
                ArrayPool<byte>.Shared.Return(_payload);
                _payload = ArrayPool<byte>.Shared.Rent(header.PayloadLength);
            }

            var payload = _payload.AsSpan(0, header.PayloadLength);
            var start = position + RecordFormat.HeaderLength;
            if (start >= _windowStart && start + payload.Length <= _windowStart + _windowLength)
            {
                // The common case in a healthy segment: the payload was read ahead with its header.
                _window.AsSpan((int)(start - _windowStart), payload.Length).CopyTo(payload);
            }
            else if (source.Read(start, payload) < payload.Length)
            {
                return false;
            }

            Span<byte> headerBytes = stackalloc byte[RecordFormat.HeaderLength];
            Header(position).CopyTo(headerBytes);
            return RecordFormat.ComputeChecksum(_crc, headerBytes, payload) == header.Checksum;
        }

        /// <summary>The header bytes at <paramref name="position"/>, through a read-ahead window (the caller checked they exist).</summary>
        private ReadOnlySpan<byte> Header(long position)
        {
            if (position < _windowStart || position + RecordFormat.HeaderLength > _windowStart + _windowLength)
            {
                _windowStart = position;
                _windowLength = source.Read(position, _window.AsSpan(0, WindowBytes));
                if (_windowLength < RecordFormat.HeaderLength)
                {
                    // The file shrank under the scan: only possible if someone else truncated it.
                    throw new IOException($"The segment shrank while it was being read (at offset {position}).");
                }
            }

            return _window.AsSpan((int)(position - _windowStart), RecordFormat.HeaderLength);
        }

        public void Dispose()
        {
            ArrayPool<byte>.Shared.Return(_window);
            ArrayPool<byte>.Shared.Return(_payload);
        }
    }
}

/// <summary>Random-access bytes of one segment: a file or, for fuzzing and tests, memory.</summary>
internal abstract class ScanSource
{
    public abstract long Length { get; }

    /// <summary>Reads up to <c>destination.Length</c> bytes at <paramref name="offset"/>; fewer only at the end.</summary>
    public abstract int Read(long offset, Span<byte> destination);
}

internal sealed class MemorySource(ReadOnlyMemory<byte> bytes) : ScanSource
{
    public override long Length => bytes.Length;

    public override int Read(long offset, Span<byte> destination)
    {
        if (offset >= bytes.Length)
        {
            return 0;
        }

        var available = bytes.Span[(int)offset..];
        var count = Math.Min(available.Length, destination.Length);
        available[..count].CopyTo(destination);
        return count;
    }
}

internal sealed class FileSource(SafeFileHandle handle, long length) : ScanSource
{
    public override long Length => length;

    public override int Read(long offset, Span<byte> destination)
    {
        var total = 0;
        while (total < destination.Length && offset + total < length)
        {
            var read = RandomAccess.Read(handle, destination[total..(int)Math.Min(destination.Length, length - offset)], offset + total);
            if (read == 0)
            {
                break;
            }

            total += read;
        }

        return total;
    }
}
