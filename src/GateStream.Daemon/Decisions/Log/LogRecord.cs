namespace GateStream.Daemon.Decisions.Log;

/// <summary>One record read back from the decision log.</summary>
/// <remarks>Equality compares <see cref="Payload"/> by reference, as <see cref="ReadOnlyMemory{T}"/> does.</remarks>
/// <param name="Sequence">The decision's sequence, strictly increasing through the log.</param>
/// <param name="TimestampMicros">When the record was appended (Unix microseconds, per the log's clock).</param>
/// <param name="Payload">The bytes given to <see cref="DecisionLog.Append"/>; owned by this record.</param>
public readonly record struct LogRecord(ulong Sequence, long TimestampMicros, ReadOnlyMemory<byte> Payload);
