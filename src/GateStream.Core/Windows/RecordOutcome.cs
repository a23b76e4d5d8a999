namespace GateStream.Core.Windows;

/// <summary>What happened to one event offered to a window. Everything but <see cref="Recorded"/> is counted, never thrown.</summary>
public enum RecordOutcome : byte
{
    Recorded = 0,

    /// <summary>Recorded, with its latency clamped to the histogram's highest trackable value.</summary>
    RecordedClamped,

    /// <summary>Older than the allowed lateness, or older than the window: counted as dropped.</summary>
    DroppedLate,

    /// <summary>Stamped further ahead of the clock than the allowed skew.</summary>
    RefusedFuture,

    /// <summary>Negative latency, latency above the absurd limit, or a negative timestamp.</summary>
    RefusedInvalid,
}
