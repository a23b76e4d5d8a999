using Microsoft.Extensions.Logging;

namespace GateStream.Daemon.Decisions.Log;

/// <summary>The decision log's log messages (EventIds 3001-3099).</summary>
internal static partial class DecisionLogLog
{
    [LoggerMessage(EventId = 3001, Level = LogLevel.Information,
        Message = "Decision log opened in {Directory}: {Segments} segments, {Records} records, sequences {FirstSequence}..{LastSequence}")]
    public static partial void Opened(this ILogger logger, string directory, int segments, long records, ulong firstSequence, ulong lastSequence);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning,
        Message = "Decision log segment {File} has a torn or corrupt tail at offset {Offset} ({Reason}): truncated it there, dropping {DroppedBytes} bytes")]
    public static partial void TailTruncated(this ILogger logger, string file, long offset, string reason, long droppedBytes);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error,
        Message = "Decision log segment {File} is corrupt at offset {Offset} ({Reason}) although later segments exist: its {IgnoredBytes} bytes from there on are ignored and the records in them are missing from the log; the file is left as it is for inspection")]
    public static partial void SealedSegmentCorrupt(this ILogger logger, string file, long offset, string reason, long ignoredBytes);

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
        Message = "Decision log could not write sequence {Sequence} to {File}; the partial record was removed and the decision was not logged")]
    public static partial void AppendFailed(this ILogger logger, Exception exception, ulong sequence, string file);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Critical,
        Message = "Decision log failed while making sequence {Sequence} durable in {File}; it refuses further appends until the daemon restarts and recovers it")]
    public static partial void Faulted(this ILogger logger, Exception exception, ulong sequence, string file);
}
