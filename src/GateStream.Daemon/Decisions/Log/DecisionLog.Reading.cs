namespace GateStream.Daemon.Decisions.Log;

public sealed partial class DecisionLog
{
    /// <summary>
    /// The records with a sequence greater than <paramref name="afterSequence"/>, oldest first, as they
    /// stood when this method was called: records appended later are not included (call again from the
    /// last sequence seen to continue).
    /// </summary>
    /// <remarks>
    /// Safe alongside appends: it reads the segment files through its own handles and never past the
    /// length that was committed (whole, and fsync'd when Fsync is on) at the call. Records are read
    /// lazily; each payload is a fresh array owned by its <see cref="LogRecord"/>.
    /// If <paramref name="afterSequence"/> is below <c>FirstSequence - 1</c>, retention has already deleted
    /// some of the records asked for; compare with <see cref="FirstSequence"/> first to detect it.
    /// </remarks>
    /// <exception cref="InvalidDataException">A record that was valid when written no longer is (damage on disk).</exception>
    /// <exception cref="FileNotFoundException">
    /// During enumeration: retention deleted a segment this enumeration had not reached yet (only when reading
    /// records older than the retention limits while a rotation happens).
    /// </exception>
    public IEnumerable<LogRecord> ReadFrom(ulong afterSequence)
    {
        var segments = new List<(string Path, long CommittedLength, IReadOnlyList<SkippedRange> Skipped)>();
        lock (_sync)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (var segment in _segments)
            {
                if (segment.Records > 0 && segment.LastSequence > afterSequence)
                {
                    segments.Add((segment.Path, segment.CommittedLength, segment.Skipped));
                }
            }
        }

        return Read(segments, afterSequence);
    }

    private static IEnumerable<LogRecord> Read(List<(string Path, long CommittedLength, IReadOnlyList<SkippedRange> Skipped)> segments, ulong afterSequence)
    {
        foreach (var (path, committedLength, skipped) in segments)
        {
            using var reader = SegmentReader.Open(path, committedLength);
            var nextSkip = 0;
            while (true)
            {
                if (nextSkip < skipped.Count && reader.Position == skipped[nextSkip].Offset)
                {
                    reader.SkipTo(skipped[nextSkip++].End);
                    continue;
                }

                var offset = reader.Position;
                var status = reader.ReadHeader(out var header);
                if (status == RecordStatus.End)
                {
                    break;
                }

                if (status == RecordStatus.Ok)
                {
                    if (header.Sequence <= afterSequence)
                    {
                        reader.SkipPayload(header);
                        continue;
                    }

                    var payload = new byte[header.PayloadLength];
                    status = reader.ReadPayload(header, payload);
                    if (status == RecordStatus.Ok)
                    {
                        yield return new LogRecord(header.Sequence, header.TimestampMicros, payload);
                        continue;
                    }
                }

                throw new InvalidDataException(
                    $"Decision log segment '{path}' is damaged at offset {offset} ({SegmentReader.Describe(status)}), inside data that was valid when written.");
            }
        }
    }
}
