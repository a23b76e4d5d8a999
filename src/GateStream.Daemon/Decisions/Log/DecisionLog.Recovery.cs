using Microsoft.Extensions.Logging;

namespace GateStream.Daemon.Decisions.Log;

public sealed partial class DecisionLog
{
    /// <summary>
    /// Scans every segment in order and validates every record (length, checksum, strictly increasing sequence).
    /// </summary>
    /// <remarks>
    /// <para>
    /// A bad record in the <em>last</em> segment is what a crash during an append leaves behind (the caller
    /// never saw that append return, so nothing after it was published): the file is truncated to the end of
    /// the last good record and appends continue from there.
    /// </para>
    /// <para>
    /// A bad record in an <em>earlier</em> segment cannot come from a crash (a segment is sealed only after
    /// its last record was fsync'd), so it is damage to data that was published. Truncating would destroy
    /// evidence, and refusing to start would stop all gating, so reading of that segment stops at the bad
    /// record, the error is logged, the file is left untouched for inspection, and later segments are kept:
    /// the log has a gap, and <see cref="RecoveryReport.DamagedSegments"/> says so. Nothing is ever appended
    /// to a damaged segment.
    /// </para>
    /// </remarks>
    private static List<Segment> Recover(string directory, bool fsync, ILogger logger, out RecoveryReport report)
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
        var payload = new byte[4096];
        ulong previous = 0;
        long records = 0;
        long truncatedBytes = 0;
        string? truncatedFile = null;
        var damaged = 0;
        for (var i = 0; i < files.Count; i++)
        {
            var (segment, failure) = Scan(files[i].Path, previous, ref payload);
            if (failure is not null)
            {
                var badBytes = segment.FileLength - segment.CommittedLength;
                if (i == files.Count - 1)
                {
                    Truncate(segment.Path, segment.CommittedLength, fsync);
                    segment.FileLength = segment.CommittedLength;
                    truncatedBytes = badBytes;
                    truncatedFile = segment.Path;
                    logger.TailTruncated(segment.Path, segment.CommittedLength, failure, badBytes);
                }
                else
                {
                    damaged++;
                    logger.SealedSegmentCorrupt(segment.Path, segment.CommittedLength, failure, badBytes);
                }
            }

            if (segment.Records > 0)
            {
                if (segment.FirstSequence != files[i].NamedSequence)
                {
                    logger.SegmentNameMismatch(segment.FileName, files[i].NamedSequence, segment.FirstSequence);
                }

                previous = segment.LastSequence;
                records += segment.Records;
            }

            segments.Add(segment);
        }

        // A crash right after starting a segment leaves it empty, and its name may promise a sequence that
        // was never logged; the next append starts a correctly named one.
        if (segments.Count > 0 && segments[^1].Records == 0)
        {
            File.Delete(segments[^1].Path);
            logger.EmptySegmentDeleted(segments[^1].Path);
            segments.RemoveAt(segments.Count - 1);
        }

        report = new RecoveryReport(segments.Count, records, truncatedBytes, truncatedFile, damaged);
        return segments;
    }

    /// <summary>Reads a segment up to its first bad record; the failure names what was wrong there, null when none was.</summary>
    private static (Segment Segment, string? Failure) Scan(string path, ulong previous, ref byte[] payload)
    {
        var segment = new Segment(path);
        using var reader = SegmentReader.Open(path, limit: null);
        segment.FileLength = reader.Limit;
        while (true)
        {
            var status = reader.ReadHeader(out var header);
            if (status == RecordStatus.End)
            {
                return (segment, null);
            }

            if (status == RecordStatus.Ok)
            {
                if (payload.Length < header.PayloadLength)
                {
                    payload = new byte[Math.Max(header.PayloadLength, payload.Length * 2)];
                }

                status = reader.ReadPayload(header, payload);
            }

            if (status != RecordStatus.Ok)
            {
                return (segment, SegmentReader.Describe(status));
            }

            if (header.Sequence <= previous)
            {
                return (segment, $"sequence {header.Sequence} does not follow {previous}");
            }

            segment.Add(header.Sequence, header.TimestampMicros, RecordFormat.HeaderLength + header.PayloadLength);
            previous = header.Sequence;
        }
    }

    private static void Truncate(string path, long length, bool fsync)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.Read);
        stream.SetLength(length);
        stream.Flush(flushToDisk: fsync);
    }
}
