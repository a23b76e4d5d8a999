using Microsoft.Extensions.Logging;

namespace GateStream.Daemon.Decisions.Log;

/// <summary>The decision log's log messages (EventIds 3001-3099).</summary>
internal static partial class DecisionLogLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information,
        Message = "Decision log opened in {Directory}: {Segments} segments, {Records} records, sequences {FirstSequence}..{LastSequence}")]
    public static partial void Opened(this ILogger logger, string directory, int segments, long records, ulong firstSequence, ulong lastSequence);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning,
        Message = "Decision log segment {File} has a torn or corrupt tail at offset {Offset} ({Reason}), after sequence {SequenceBefore}: truncated it there, dropping {DroppedBytes} bytes in which no record verifies; the next {ReservedSequences} sequences are not given out in case the tail held published ones")]
    public static partial void TailTruncated(this ILogger logger, string file, long offset, string reason, long droppedBytes, ulong sequenceBefore, ulong reservedSequences);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error,
        Message = "Decision log segment {File} is corrupt at offset {Offset} ({Reason}), after sequence {SequenceBefore}, although later segments exist: its last {IgnoredBytes} bytes hold no record that verifies and are ignored; the file is left as it is for inspection")]
    public static partial void SealedSegmentCorrupt(this ILogger logger, string file, long offset, string reason, long ignoredBytes, ulong sequenceBefore);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information,
        Message = "Decision log segment {File} held no complete record after recovery and was deleted")]
    public static partial void EmptySegmentDeleted(this ILogger logger, string file);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning,
        Message = "Ignoring {File} in the decision log directory: not a segment file name (decisions-<20-digit first sequence>.log)")]
    public static partial void UnrecognizedFile(this ILogger logger, string file);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Warning,
        Message = "Decision log segment {File} is named for sequence {NamedSequence} but its first record is {FirstSequence}")]
    public static partial void SegmentNameMismatch(this ILogger logger, string file, ulong namedSequence, ulong firstSequence);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Information,
        Message = "Decision log started segment {File}")]
    public static partial void SegmentStarted(this ILogger logger, string file);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Information,
        Message = "Decision log retention deleted {File} ({Bytes} bytes, sequences {FirstSequence}..{LastSequence}): {Reason}")]
    public static partial void SegmentDeleted(this ILogger logger, string file, long bytes, ulong firstSequence, ulong lastSequence, string reason);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Warning,
        Message = "Decision log retention could not delete {File}; will retry at the next rotation")]
    public static partial void SegmentDeleteFailed(this ILogger logger, Exception exception, string file);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Error,
        Message = "Decision log could not write sequence {Sequence} to {File} ({Failures} failed appends so far); the partial record was removed, the decision was not logged, applied or published, and the next decision retries")]
    public static partial void AppendFailed(this ILogger logger, Exception exception, ulong sequence, string file, long failures);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Critical,
        Message = "Decision log failed while making sequence {Sequence} durable in {File}; it refuses further appends until the daemon restarts and recovers it")]
    public static partial void Faulted(this ILogger logger, Exception exception, ulong sequence, string file);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Error,
        Message = "Decision log segment {File}: skipped {Length} unreadable bytes at offset {Offset} ({Reason}) between sequence {SequenceBefore} and sequence {SequenceAfter}; the records around them are kept and served, the file is left as it is")]
    public static partial void RecordsSkipped(this ILogger logger, string file, long offset, long length, string reason, ulong sequenceBefore, ulong sequenceAfter);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Warning,
        Message = "Decision log appends work again (sequence {Sequence} is durable) after {Failures} failed appends: {Fault}")]
    public static partial void AppendsRecovered(this ILogger logger, ulong sequence, long failures, string fault);
}
