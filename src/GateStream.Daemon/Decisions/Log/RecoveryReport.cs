namespace GateStream.Daemon.Decisions.Log;

/// <summary>What <see cref="DecisionLog.Open"/> found on disk.</summary>
/// <param name="Segments">Segment files kept after recovery.</param>
/// <param name="Records">Good records in them.</param>
/// <param name="TruncatedBytes">Bytes cut from the end of the last segment (a torn or corrupt tail); 0 when it was clean.</param>
/// <param name="TruncatedFile">The file that was truncated (or deleted, when nothing good was left in it); null when none was.</param>
/// <param name="DamagedSegments">
/// Sealed (not last) segments with unreadable bytes after their last good record, left untouched for inspection.
/// </param>
public sealed record RecoveryReport(int Segments, long Records, long TruncatedBytes, string? TruncatedFile, int DamagedSegments)
{
    /// <summary>Every run of bytes that was not read as good records, in log order (file, offset, length, why, sequences around it).</summary>
    public IReadOnlyList<RecoverySkip> Skipped { get; init; } = [];

    /// <summary>
    /// Sequence numbers never to be given out because a damaged tail may have held them (see <see cref="SegmentScan.TailSequences"/>):
    /// <see cref="DecisionLog.LastSequence"/> is this much above the last good record.
    /// </summary>
    public ulong ReservedSequences { get; init; }

    public long SkippedBytes => Skipped.Sum(s => s.Length);
}

/// <summary>A run of unreadable bytes recovery stepped over.</summary>
/// <param name="File">The segment file.</param>
/// <param name="Offset">Where the run starts.</param>
/// <param name="Length">Its length in bytes.</param>
/// <param name="Reason">What was wrong at <paramref name="Offset"/>.</param>
/// <param name="SequenceBefore">The last good sequence before it (0: none).</param>
/// <param name="SequenceAfter">The first good sequence after it (0: none).</param>
/// <param name="Truncated">Whether the bytes were cut off (the tail of the last segment) rather than left in place.</param>
public sealed record RecoverySkip(string File, long Offset, long Length, string Reason, ulong SequenceBefore, ulong SequenceAfter, bool Truncated);
