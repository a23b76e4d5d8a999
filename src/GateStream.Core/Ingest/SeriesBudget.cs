namespace GateStream.Core.Ingest;

/// <summary>The cap on live series, shared by all shards. Taken only when a series is created, never per event.</summary>
public sealed class SeriesBudget(int capacity)
{
    private int _live;

    public int Capacity { get; } = capacity;

    public int Live => Volatile.Read(ref _live);

    public bool TryTake()
    {
        if (Interlocked.Increment(ref _live) <= Capacity)
        {
            return true;
        }

        Interlocked.Decrement(ref _live);
        return false;
    }

    public void Release() => Interlocked.Decrement(ref _live);
}
