using System.Diagnostics.CodeAnalysis;
using GateStream.Core.Events;
using GateStream.Ingest.Otlp;

namespace GateStream.Ingest.Kafka;

/// <summary>
/// What one Kafka message decoded to: its event and metric batches (pooled), the newest event time in it (for the
/// commit point), and why it could not be decoded if it could not. The consumer keeps one instance and the
/// deserializer refills it for every message, so a message costs no allocation of its own.
/// </summary>
/// <remarks>Single owner: the consume thread. The batches belong to this holder until taken or returned.</remarks>
public sealed class DecodedMessage : IBatchSink
{
    private readonly List<EventBatch> _events = [];
    private readonly List<MetricSampleBatch> _metrics = [];
    private readonly Stack<EventBatch> _spareEvents = new();
    private const int MaxSpares = 4;
    private string? _refusedReason;

    public DecodedMessage(BatchPool<EventBatch> eventPool, BatchPool<MetricSampleBatch> metricPool)
    {
        EventPool = eventPool ?? throw new ArgumentNullException(nameof(eventPool));
        MetricPool = metricPool ?? throw new ArgumentNullException(nameof(metricPool));
    }

    public BatchPool<EventBatch> EventPool { get; }

    public BatchPool<MetricSampleBatch> MetricPool { get; }

    public IReadOnlyList<EventBatch> EventBatches => _events;

    public IReadOnlyList<MetricSampleBatch> MetricBatches => _metrics;

    /// <summary>Why the message could not be decoded, escaped for logs (<see cref="LogText"/>); null when it was.</summary>
    public string? Problem { get; private set; }

    [MemberNotNullWhen(false, nameof(Problem))]
    public bool Decoded => Problem is null;

    /// <summary>Items (events, spans, data points) the decoder refused in a message that otherwise decoded.</summary>
    public long Refused { get; set; }

    /// <summary>The first reason an item was refused, when <see cref="Refused"/> is not zero; escaped for logs (<see cref="LogText"/>).</summary>
    public string? RefusedReason
    {
        get => _refusedReason;
        set => _refusedReason = value is null ? null : LogText.Sanitize(value);
    }

    public long Events { get; private set; }

    public long Samples { get; private set; }

    /// <summary>The newest event or sample time in the message (µs since the epoch); <see cref="long.MinValue"/> when it holds none.</summary>
    public long NewestMicros { get; private set; } = long.MinValue;

    public EventBatch RentEvents() => _spareEvents.TryPop(out var spare) ? spare : EventPool.Rent();

    /// <summary>
    /// Takes back an event batch whose events were copied elsewhere (<see cref="BatchCoalescer"/>): the next message
    /// decodes into it, which spares the shared pool's synchronisation per message.
    /// </summary>
    public void Recycle(EventBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (_spareEvents.Count < MaxSpares)
        {
            batch.Clear();
            _spareEvents.Push(batch);
        }
        else
        {
            EventPool.Return(batch);
        }
    }

    public MetricSampleBatch RentMetrics() => MetricPool.Rent();

    /// <summary>Adds a decoded event batch (an empty one goes straight back to the pool).</summary>
    public void Post(EventBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            EventPool.Return(batch);
            return;
        }

        foreach (var time in batch.TimesMicros)
        {
            NewestMicros = Math.Max(NewestMicros, time);
        }

        Events += batch.Count;
        _events.Add(batch);
    }

    public void Post(MetricSampleBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            MetricPool.Return(batch);
            return;
        }

        for (var i = 0; i < batch.Count; i++)
        {
            NewestMicros = Math.Max(NewestMicros, batch.TimeAt(i));
        }

        Samples += batch.Count;
        _metrics.Add(batch);
    }

    /// <summary>Adds the batch (<see cref="Post(EventBatch)"/>); completes at once.</summary>
    public ValueTask PostAsync(EventBatch batch, CancellationToken cancellationToken)
    {
        Post(batch);
        return ValueTask.CompletedTask;
    }

    /// <summary>Adds the batch (<see cref="Post(MetricSampleBatch)"/>); completes at once.</summary>
    public ValueTask PostAsync(MetricSampleBatch batch, CancellationToken cancellationToken)
    {
        Post(batch);
        return ValueTask.CompletedTask;
    }

    /// <summary>Marks the message undecodable: whatever was decoded of it goes back to the pools, so none of it is applied.</summary>
    public void Fail(string problem)
    {
        ArgumentException.ThrowIfNullOrEmpty(problem);
        ReturnBatches();
        Problem = LogText.Sanitize(problem);
    }

    /// <summary>Forgets the batches after the caller took them (posted them to the shards).</summary>
    public void BatchesTaken()
    {
        _events.Clear();
        _metrics.Clear();
    }

    /// <summary>Gives every held batch back to its pool (a message that is skipped, or not applied at all).</summary>
    public void ReturnBatches()
    {
        foreach (var batch in _events)
        {
            EventPool.Return(batch);
        }

        foreach (var batch in _metrics)
        {
            MetricPool.Return(batch);
        }

        BatchesTaken();
    }

    /// <summary>Starts a new message; the previous one's batches must have been taken or returned.</summary>
    public void Reset()
    {
        ReturnBatches();
        Problem = null;
        Refused = 0;
        RefusedReason = null;
        Events = 0;
        Samples = 0;
        NewestMicros = long.MinValue;
    }
}
