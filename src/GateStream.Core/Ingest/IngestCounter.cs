namespace GateStream.Core.Ingest;

/// <summary>What the write path counts. Every refusal has its own counter; nothing is dropped silently.</summary>
public enum IngestCounter
{
    BatchesApplied,
    EventsAccepted,

    /// <summary>Accepted with latency clamped to the histogram's top (above 60 s by default).</summary>
    EventsClamped,

    /// <summary>Older than the allowed lateness or the window.</summary>
    EventsDroppedLate,

    /// <summary>Stamped too far ahead of the clock.</summary>
    EventsRefusedFuture,

    /// <summary>Negative or absurd latency, or a negative timestamp.</summary>
    EventsRefusedInvalid,

    /// <summary>Events in batches whose key was empty, too long or not valid UTF-8.</summary>
    EventsRefusedKey,

    /// <summary>Events in batches for a new series while the series cap was reached.</summary>
    EventsRefusedSeriesCap,

    /// <summary>Events in batches for a new series of a deployment or source that had used its series budget.</summary>
    EventsRefusedSeriesBudget,

    BatchesRefusedKey,
    BatchesRefusedSeriesCap,
    BatchesRefusedSeriesBudget,
    SeriesCreated,
    SeriesEvicted,
    SamplesAccepted,
    SamplesDroppedLate,

    /// <summary>NaN/infinite values, bad names, unknown kinds, negative times.</summary>
    SamplesRefusedInvalid,

    SamplesRefusedFuture,
    SamplesRefusedKey,
    SamplesRefusedSeriesCap,
    SamplesRefusedSeriesBudget,
    SamplesRefusedSignalCap,

    /// <summary>Unexpected exceptions caught by a shard loop (a bug; the shard keeps running).</summary>
    ShardFaults,
}

/// <summary>Why a whole batch (or sample) was refused, reported to an <see cref="IRefusalSink"/> for logging.</summary>
public enum RefusalReason
{
    EmptyKey,
    KeyTooLong,
    InvalidKey,
    SeriesCapReached,

    /// <summary>The deployment has its <see cref="IngestOptions.MaxSeriesPerDeployment"/> live series.</summary>
    DeploymentBudgetReached,

    /// <summary>The source has its <see cref="IngestOptions.MaxSeriesPerSource"/> live series.</summary>
    SourceBudgetReached,
    SignalCapReached,
    InvalidSignalName,
    ShardFault,
}

/// <summary>
/// Told about refused batches (not every refused event) so the host can log them with their source.
/// Called on shard threads; implementations must be cheap and must not throw.
/// </summary>
public interface IRefusalSink
{
    void OnRefused(RefusalReason reason, string source, ReadOnlySpan<byte> deployment, ReadOnlySpan<byte> version, int items);
}

/// <summary>
/// One shard's counters. Single writer (the shard thread); readers on other threads see each value
/// atomically (aligned 64-bit reads), possibly a moment old.
/// </summary>
public sealed class IngestCounters
{
    private static readonly int Size = Enum.GetValues<IngestCounter>().Length;
    private readonly long[] _values = new long[Size];

    public long this[IngestCounter counter] => Volatile.Read(ref _values[(int)counter]);

    internal void Add(IngestCounter counter, long amount)
    {
        if (amount != 0)
        {
            Volatile.Write(ref _values[(int)counter], _values[(int)counter] + amount);
        }
    }

    internal void Increment(IngestCounter counter) => Add(counter, 1);

    /// <summary>For counters written by several threads (admission on the ingest threads).</summary>
    internal void AddShared(IngestCounter counter, long amount) => Interlocked.Add(ref _values[(int)counter], amount);

    /// <summary>Sum of a counter over several shards.</summary>
    public static long Sum(IEnumerable<IngestCounters> shards, IngestCounter counter)
    {
        ArgumentNullException.ThrowIfNull(shards);
        long sum = 0;
        foreach (var s in shards)
        {
            sum += s[counter];
        }

        return sum;
    }
}
