using System.Collections.Concurrent;

namespace GateStream.Core.Events;

/// <summary>
/// A bounded pool of reusable batches shared by decoders (renting) and shards (returning after apply).
/// Lock-free; beyond <see cref="MaxRetained"/> returned batches are left to the GC.
/// </summary>
public sealed class BatchPool<T>
    where T : class
{
    private readonly ConcurrentQueue<T> _items = new();
    private readonly Func<T> _create;
    private readonly Action<T> _reset;
    private int _retained;

    public BatchPool(Func<T> create, Action<T> reset, int maxRetained = 1024)
    {
        _create = create ?? throw new ArgumentNullException(nameof(create));
        _reset = reset ?? throw new ArgumentNullException(nameof(reset));
        MaxRetained = maxRetained;
    }

    public int MaxRetained { get; }

    public T Rent()
    {
        if (_items.TryDequeue(out var item))
        {
            Interlocked.Decrement(ref _retained);
            return item;
        }

        return _create();
    }

    public void Return(T item)
    {
        ArgumentNullException.ThrowIfNull(item);
        _reset(item);
        if (Interlocked.Increment(ref _retained) <= MaxRetained)
        {
            _items.Enqueue(item);
        }
        else
        {
            Interlocked.Decrement(ref _retained);
        }
    }
}

/// <summary>Pools for the two batch kinds.</summary>
public static class BatchPools
{
    public static BatchPool<EventBatch> CreateEventPool(int maxRetained = 1024) =>
        new(() => new EventBatch(), b => b.Clear(), maxRetained);

    public static BatchPool<MetricSampleBatch> CreateMetricPool(int maxRetained = 256) =>
        new(() => new MetricSampleBatch(), b => b.Clear(), maxRetained);
}
