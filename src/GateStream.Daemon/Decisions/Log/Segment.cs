namespace GateStream.Daemon.Decisions.Log;

/// <summary>
/// What the log knows about one segment file. Mutated only under the log's lock; readers copy
/// <see cref="CommittedLength"/> under that lock and never read past it.
/// </summary>
internal sealed class Segment(string path)
{
    public string Path { get; } = path;

    /// <summary>Sequence of the first good record; 0 while the segment holds none.</summary>
    public ulong FirstSequence { get; set; }

    public ulong LastSequence { get; set; }

    /// <summary>Append time of the newest good record (Unix microseconds); retention ages the segment by it.</summary>
    public long NewestTimestampMicros { get; set; }

    public long Records { get; set; }

    /// <summary>
    /// End of the last good record: everything before it, except the <see cref="Skipped"/> runs, was written whole (and
    /// fsync'd when Fsync is on).
    /// </summary>
    public long CommittedLength { get; set; }

    /// <summary>
    /// Bytes of whole records written after <see cref="CommittedLength"/> and waiting for the group commit's fsync;
    /// readers do not see them until it has made them durable and <see cref="Add"/> has counted them.
    /// </summary>
    public long PendingBytes { get; set; }

    /// <summary>Where the next record goes: the committed length plus the records waiting for their fsync.</summary>
    public long WrittenLength => CommittedLength + PendingBytes;

    /// <summary>Bytes the file occupies on disk. Larger than <see cref="WrittenLength"/> only for a damaged sealed segment.</summary>
    public long FileLength { get; set; }

    /// <summary>Holds bytes after its last good record: nothing may be appended to it, or those records would be unreadable.</summary>
    public bool IsDamaged => FileLength != WrittenLength;

    /// <summary>Unreadable runs between good records, found by recovery and stepped over by readers; appends never add any.</summary>
    public IReadOnlyList<SkippedRange> Skipped { get; init; } = [];

    public string FileName => System.IO.Path.GetFileName(Path);

    public void Add(ulong sequence, long timestampMicros, int recordLength)
    {
        if (Records == 0)
        {
            FirstSequence = sequence;
        }

        LastSequence = sequence;
        NewestTimestampMicros = timestampMicros;
        Records++;
        CommittedLength += recordLength;
    }
}
