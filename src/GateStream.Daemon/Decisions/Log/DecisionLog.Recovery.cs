using Microsoft.Extensions.Logging;

namespace GateStream.Daemon.Decisions.Log;

public sealed partial class DecisionLog
{
    /// <summary>
    /// Scans every segment in order, validates every record (length, checksum, strictly increasing sequence, and the
    /// payload validator when one is given) and resynchronises after damage, so a bad record never hides good ones.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Unreadable bytes between good records are skipped in place: the file is not changed, the run is reported (file,
    /// offset, length, the good sequences on either side), and readers step over it.
    /// </para>
    /// <para>
    /// Unreadable bytes after the last good record of the <em>last</em> segment (a tail: no offset in it holds a record
    /// that verifies) are what a crash during an append leaves behind, so the file is truncated there and appends
    /// continue. A tail of an <em>earlier</em> segment cannot come from a crash; the file is left as it is for
    /// inspection and never appended to.
    /// </para>
    /// <para>
    /// Sequences are never given out twice: a tail might have held records that were published before it was damaged,
    /// at most one per <see cref="RecordFormat.HeaderLength"/> bytes, so the log continues after all of them
    /// (<see cref="RecoveryReport.ReservedSequences"/>).
    /// </para>
    /// </remarks>
    private static List<Segment> Recover(string directory, bool fsync, PayloadValidator? validator, ILogger logger, out RecoveryReport report, out ulong lastSequence)
    {
        var files = new List<(ulong NamedSequence, string Path)>();
        foreach (var path in System.IO.Directory.EnumerateFiles(directory, RecordFormat.SegmentSearchPattern))
        {
            var name = Path.GetFileName(path);
            if (RecordFormat.TryParseSegmentFileName(name, out var namedSequence))
            {
                files.Add((namedSequence, path));
            }
            else
            {
                logger.UnrecognizedFile(name);
            }
        }

        files.Sort((a, b) => a.NamedSequence.CompareTo(b.NamedSequence));

        var segments = new List<Segment>(files.Count);
        var skips = new List<RecoverySkip>();
        ulong previous = 0;
        ulong reservedUpTo = 0;
        long records = 0;
        long truncatedBytes = 0;
        string? truncatedFile = null;
        var damaged = 0;
        for (var i = 0; i < files.Count; i++)
        {
            var path = files[i].Path;
            var scan = ScanFile(path, previous, validator);
            var isLast = i == files.Count - 1;
            var segment = new Segment(path)
            {
                FirstSequence = scan.FirstSequence,
                LastSequence = scan.LastSequence,
                NewestTimestampMicros = scan.NewestTimestampMicros,
                Records = scan.RecordCount,
                CommittedLength = scan.GoodEnd,
                FileLength = scan.FileLength,
                Skipped = scan.Skipped,
            };

            foreach (var skip in scan.Skipped)
            {
                logger.RecordsSkipped(path, skip.Offset, skip.Length, skip.Reason, skip.SequenceBefore, skip.SequenceAfter);
                skips.Add(new RecoverySkip(path, skip.Offset, skip.Length, skip.Reason, skip.SequenceBefore, skip.SequenceAfter, Truncated: false));
            }

            if (scan.Tail is { } tail)
            {
                // Before the segment's first good record, the tail's records were numbered from the segment's name on
                // (the oldest segments may be gone to retention, so "previous" can be far behind).
                var before = tail.SequenceBefore;
                var named = files[i].NamedSequence;
                if (scan.RecordCount == 0 && named > before + 1 && named - before <= SegmentScanner.MaxSequenceJump)
                {
                    before = named - 1;
                }

                reservedUpTo = Math.Max(reservedUpTo, before + Math.Min(scan.TailSequences, ulong.MaxValue - before));
                if (scan.RecordCount == 0 && !isLast && named - previous <= SegmentScanner.MaxSequenceJump)
                {
                    // Kept with no good record: its name stays taken too, or the next segment could not be created.
                    reservedUpTo = Math.Max(reservedUpTo, named);
                }
                if (isLast)
                {
                    Truncate(path, scan.GoodEnd, fsync);
                    segment.FileLength = scan.GoodEnd;
                    truncatedBytes = tail.Length;
                    truncatedFile = path;
                    logger.TailTruncated(path, tail.Offset, tail.Reason, tail.Length, tail.SequenceBefore, scan.TailSequences);
                }
                else
                {
                    damaged++;
                    logger.SealedSegmentCorrupt(path, tail.Offset, tail.Reason, tail.Length, tail.SequenceBefore);
                }

                skips.Add(new RecoverySkip(path, tail.Offset, tail.Length, tail.Reason, tail.SequenceBefore, 0, Truncated: isLast));
            }

            if (scan.RecordCount > 0 && scan.FirstSequence != files[i].NamedSequence)
            {
                logger.SegmentNameMismatch(segment.FileName, files[i].NamedSequence, scan.FirstSequence);
            }

            previous = Math.Max(previous, scan.LastSequence);
            records += scan.RecordCount;
            segments.Add(segment);
        }

        // A crash right after starting a segment leaves it empty, and its name may promise a sequence that
        // was never logged; the next append starts a correctly named one.
        if (segments.Count > 0 && segments[^1].FileLength == 0)
        {
            File.Delete(segments[^1].Path);
            logger.EmptySegmentDeleted(segments[^1].Path);
            segments.RemoveAt(segments.Count - 1);
        }

        lastSequence = Math.Max(previous, reservedUpTo);
        report = new RecoveryReport(segments.Count, records, truncatedBytes, truncatedFile, damaged)
        {
            Skipped = skips.Count == 0 ? [] : [.. skips.Select(s => s.SequenceAfter != 0 || s.SequenceBefore >= previous ? s : s with { SequenceAfter = NextGood(segments, s.SequenceBefore) })],
            ReservedSequences = lastSequence - previous,
        };
        return segments;
    }

    /// <summary>The first good sequence after <paramref name="sequence"/> in any segment, 0 when none.</summary>
    private static ulong NextGood(List<Segment> segments, ulong sequence)
    {
        foreach (var segment in segments)
        {
            if (segment.Records > 0 && segment.FirstSequence > sequence)
            {
                return segment.FirstSequence;
            }
        }

        return 0;
    }

    private static SegmentScan ScanFile(string path, ulong previous, PayloadValidator? validator)
    {
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        return SegmentScanner.Scan(new FileSource(handle, RandomAccess.GetLength(handle)), previous, validator, keepRecords: false);
    }

    private static void Truncate(string path, long length, bool fsync)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.Read);
        stream.SetLength(length);
        stream.Flush(flushToDisk: fsync);
    }
}
