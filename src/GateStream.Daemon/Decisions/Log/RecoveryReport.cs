namespace GateStream.Daemon.Decisions.Log;

/// <summary>What <see cref="DecisionLog.Open"/> found on disk.</summary>
/// <param name="Segments">Segment files kept after recovery.</param>
/// <param name="Records">Good records in them.</param>
/// <param name="TruncatedBytes">Bytes cut from the end of the last segment (a torn or corrupt tail); 0 when it was clean.</param>
/// <param name="TruncatedFile">The file that was truncated (or deleted, when nothing good was left in it); null when none was.</param>
/// <param name="DamagedSegments">
/// Sealed (not last) segments with a corrupt record: reading stopped there, the records after it are
/// missing from <see cref="DecisionLog.ReadFrom"/>, and the file was left untouched for inspection.
/// </param>
public sealed record RecoveryReport(int Segments, long Records, long TruncatedBytes, string? TruncatedFile, int DamagedSegments);
