using System.Buffers.Binary;
using System.IO.Hashing;
using GateStream.Daemon.Decisions;
using GateStream.Daemon.Decisions.Log;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Fuzz;

/// <summary>
/// Decision-log recovery on a damaged segment: <see cref="SegmentScan.Of"/> with the daemon's payload validator, and
/// (when bit 4 of the first byte is set) the whole <see cref="DecisionLog.Open"/> over the segment as a file, followed
/// by an append and a reopen.
/// </summary>
/// <remarks>
/// <para>
/// Input: byte 0 is the mode (bit 0: seal, bits 1-3: the last sequence of the earlier segments, bit 4: recover the
/// file too), bytes 1-2 a damage offset (u16 LE) and byte 3 an XOR mask, the rest the segment. A sealed segment has
/// the checksum of every record along its length chain recomputed before the damage is applied, so the fuzzer gets
/// past the CRC and tries exactly the attack of issue 12 point 5: one corrupted byte among good records.
/// </para>
/// <para>
/// Invariants checked against an oracle written here from the format (not the product's code): records come out
/// checksum-valid, in file order, with strictly increasing sequences above the earlier segments'; records, skipped
/// runs and tail tile the file; no offset inside a skipped run or the tail holds a record that verifies and follows
/// in sequence (a CRC-valid record is never reported as skipped); after recovery the next sequence is above every
/// sequence the segment may have used, an append succeeds, and a reopen finds the same records plus that one.
/// </para>
/// </remarks>
internal static class DecisionLogRecoveryTarget
{
    private const int HeaderLength = 24;
    private const int MaxPayloadLength = 16 * 1024 * 1024;
    private const ulong MaxSequenceJump = 1UL << 32;

    private static readonly string Directory = Path.Combine(Path.GetTempPath(), $"gatestream-fuzz-decisionlog-{Environment.ProcessId}");
    private static readonly string SegmentFile = Path.Combine(Directory, "decisions-00000000000000000001.log");

    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.Length < 4)
        {
            return;
        }

        var mode = input[0];
        var previous = (ulong)((mode >> 1) & 7);
        var segment = input[4..].ToArray();
        if ((mode & 1) != 0)
        {
            Seal(segment);
            if (segment.Length > 0)
            {
                segment[BinaryPrimitives.ReadUInt16LittleEndian(input[1..]) % segment.Length] ^= input[3];
            }
        }

        var scan = SegmentScan.Of(segment, previous, DecisionHub.ValidatePayload);
        CheckScan(segment, previous, scan);
        if ((mode & 0x10) != 0)
        {
            CheckRecovery(segment);
        }
    }

    /// <summary>Writes a valid checksum into every record along the length chain from offset 0.</summary>
    private static void Seal(Span<byte> segment)
    {
        var position = 0;
        while (segment.Length - position >= HeaderLength)
        {
            var length = BinaryPrimitives.ReadUInt32LittleEndian(segment[position..]);
            if (length > segment.Length - position - HeaderLength)
            {
                return;
            }

            var end = position + HeaderLength + (int)length;
            BinaryPrimitives.WriteUInt32LittleEndian(segment[(position + 4)..], Crc32.HashToUInt32(segment[(position + 8)..end]));
            position = end;
        }
    }

    /// <summary>The sequence of a record that verifies at <paramref name="position"/>, or null.</summary>
    private static ulong? Verified(ReadOnlySpan<byte> segment, long position, out int length)
    {
        length = 0;
        if (segment.Length - position < HeaderLength)
        {
            return null;
        }

        var header = segment[(int)position..];
        var payload = BinaryPrimitives.ReadUInt32LittleEndian(header);
        if (payload > MaxPayloadLength || payload > header.Length - HeaderLength)
        {
            return null;
        }

        length = HeaderLength + (int)payload;
        return BinaryPrimitives.ReadUInt32LittleEndian(header[4..]) == Crc32.HashToUInt32(header[8..length])
            ? BinaryPrimitives.ReadUInt64LittleEndian(header[8..])
            : null;
    }

    private static void CheckScan(ReadOnlySpan<byte> segment, ulong previous, SegmentScan scan)
    {
        Check(scan.FileLength == segment.Length, "the scan covers the whole segment");
        Check(scan.RecordCount == scan.Records.Count, "the count is the records returned");

        var last = previous;
        foreach (var record in scan.Records)
        {
            Check(Verified(segment, record.Offset, out var length) == record.Sequence && length == record.Length, $"record {record.Sequence} at {record.Offset} verifies");
            Check(record.Sequence > last, $"sequences strictly increase ({record.Sequence} after {last})");
            Check(DecisionHub.ValidatePayload(record.Sequence, segment.Slice((int)record.Offset + HeaderLength, record.Length - HeaderLength)) is null, "a record returned is a valid Decision");
            last = record.Sequence;
        }

        Check(scan.Records.Count == 0 || (scan.FirstSequence == scan.Records[0].Sequence), "FirstSequence is the first record's");
        Check(scan.Records.Count == 0 || (scan.LastSequence >= last && scan.TakenUpTo >= scan.LastSequence), "LastSequence and TakenUpTo cover every record");

        // Records, skipped runs (damage, and checksummed records the validator refused) and the tail tile the file.
        var pieces = scan.Records.Select(r => (r.Offset, End: r.Offset + r.Length, Gap: (SkippedRange?)null))
            .Concat(scan.Skipped.Select(s => (s.Offset, s.End, Gap: (SkippedRange?)s)))
            .OrderBy(p => p.Offset)
            .ToList();
        long at = 0;
        foreach (var piece in pieces)
        {
            Check(piece.Offset == at && piece.End > piece.Offset, $"records and skipped runs tile the segment (a piece at {piece.Offset}, expected {at})");
            at = piece.End;
        }

        Check(at == scan.GoodEnd, "GoodEnd is where the last record or skipped run ends");
        if (scan.Tail is { } tail)
        {
            Check(tail.Offset == scan.GoodEnd && tail.End == segment.Length && tail.Length > 0, "the tail runs from GoodEnd to the end");
        }
        else
        {
            Check(scan.GoodEnd == segment.Length, "without a tail the segment ends cleanly");
        }

        foreach (var gap in scan.Skipped.Append(scan.Tail ?? default).Where(g => g.Length > 0))
        {
            var sequence = Verified(segment, gap.Offset, out var length);
            if (sequence == gap.SequenceAfter && length == gap.Length && sequence > gap.SequenceBefore)
            {
                // A checksummed record the validator refused: its sequence stays taken, its bytes are not searched.
                Check(DecisionHub.ValidatePayload(gap.SequenceAfter, segment.Slice((int)gap.Offset + HeaderLength, length - HeaderLength)) is not null, $"a record skipped at {gap.Offset} is one the validator refuses");
                continue;
            }

            for (var position = gap.Offset; position < gap.End; position++)
            {
                if (Verified(segment, position, out _) is { } found)
                {
                    Check(found <= gap.SequenceBefore || found - gap.SequenceBefore > MaxSequenceJump,
                        $"a record that verifies and follows in sequence ({found} at {position}, after {gap.SequenceBefore}) is never skipped");
                }
            }
        }
    }

    private static void CheckRecovery(byte[] segment)
    {
        System.IO.Directory.CreateDirectory(Directory);
        File.WriteAllBytes(SegmentFile, segment);
        // One segment however large the input: no rotation, so no retention either.
        var options = new DecisionLogOptions { Directory = Directory, Fsync = false, SegmentBytes = DecisionLogOptions.MaxSegmentBytes, MaxTotalBytes = DecisionLogOptions.MaxSegmentBytes };
        var scanned = SegmentScan.Of(segment, 0, DecisionHub.ValidatePayload);
        DecisionLog log;
        try
        {
            log = DecisionLog.Open(options, NullLogger.Instance, TimeProvider.System, DecisionHub.ValidatePayload);
        }
        catch (DecisionLogUnavailableException) when (scanned.TakenUpTo == ulong.MaxValue)
        {
            // The last sequence there is was used: refusing to open (the daemon exits naming the cause) is the answer.
            System.IO.Directory.Delete(Directory, recursive: true);
            return;
        }

        ulong appended;
        using (log)
        {
            Check(log.RecoveryReport.Records == scanned.RecordCount, "recovery keeps every record the scan found");
            Check(log.LastSequence >= scanned.TakenUpTo, $"the next sequence is above every one the segment may have used ({log.LastSequence} < {scanned.TakenUpTo})");
            appended = log.LastSequence + 1;
            log.Append(appended, new V1.Decision { Sequence = appended, Gate = "fuzz/v2" }.ToByteArray());
        }

        using (var reopened = DecisionLog.Open(options, NullLogger.Instance, TimeProvider.System, DecisionHub.ValidatePayload))
        {
            Check(reopened.RecoveryReport.Records == scanned.RecordCount + 1, "a reopen finds the same records and the one appended");
            Check(reopened.LastSequence == appended, "a reopen continues after the record appended");
        }

        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private static void Check(bool condition, string invariant)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"decision log invariant broken: {invariant}.");
        }
    }
}
