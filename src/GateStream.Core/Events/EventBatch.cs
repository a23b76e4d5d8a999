namespace GateStream.Core.Events;

/// <summary>
/// A decoded batch of request events of one series, columnar like the wire format: the key once,
/// then one time, latency and error flag per event. Batches are pooled (<see cref="EventBatchPool"/>)
/// and reused, so steady-state ingest allocates nothing per event or per batch.
/// </summary>
/// <remarks>
/// Times are µs since the Unix epoch; latencies are µs. Latencies are <see cref="long"/> so a decoder
/// can pass through a negative or absurd value from a JSON sender and let the shard refuse and count it.
/// </remarks>
public sealed class EventBatch
{
    private long[] _times;
    private long[] _latencies;
    private bool[] _errors;

    public EventBatch(int capacity = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _times = new long[capacity];
        _latencies = new long[capacity];
        _errors = new bool[capacity];
    }

    public SeriesKeyBuffer Key { get; } = new();

    public int Count { get; private set; }

    public ReadOnlySpan<long> TimesMicros => _times.AsSpan(0, Count);

    public ReadOnlySpan<long> LatenciesMicros => _latencies.AsSpan(0, Count);

    public ReadOnlySpan<bool> Errors => _errors.AsSpan(0, Count);

    /// <summary>Where the batch came from (a source name such as "grpc", "kafka", "framed"), for counters and logs.</summary>
    public string Source { get; set; } = "";

    public void Add(long timeMicros, long latencyMicros, bool error)
    {
        if (Count == _times.Length)
        {
            Grow(Count + 1);
        }

        _times[Count] = timeMicros;
        _latencies[Count] = latencyMicros;
        _errors[Count] = error;
        Count++;
    }

    /// <summary>
    /// Sets the batch to <paramref name="count"/> events (growing the columns if needed) so a decoder can
    /// fill <see cref="WritableTimes"/>, <see cref="WritableLatencies"/> and <see cref="WritableErrors"/> in place.
    /// </summary>
    public void Resize(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        if (count > _times.Length)
        {
            Grow(count);
        }

        Count = count;
    }

    public Span<long> WritableTimes => _times.AsSpan(0, Count);

    public Span<long> WritableLatencies => _latencies.AsSpan(0, Count);

    public Span<bool> WritableErrors => _errors.AsSpan(0, Count);

    public void Clear()
    {
        Count = 0;
        Key.Clear();
        Source = "";
    }

    private void Grow(int needed)
    {
        var size = Math.Max(needed, _times.Length * 2);
        Array.Resize(ref _times, size);
        Array.Resize(ref _latencies, size);
        Array.Resize(ref _errors, size);
    }
}
