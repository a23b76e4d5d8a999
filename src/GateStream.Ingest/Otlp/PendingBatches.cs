using GateStream.Core.Events;
using GateStream.Core.Ingest;

namespace GateStream.Ingest.Otlp;

/// <summary>
/// Holds the batches of one decoded request so an async caller can post them to the shards with backpressure
/// (the decoder itself is synchronous: it reads spans). Reusable; not thread-safe.
/// </summary>
public sealed class PendingBatches(BatchPool<EventBatch> eventPool, BatchPool<MetricSampleBatch> metricPool) : IBatchSink
{
    private readonly List<EventBatch> _events = [];
    private readonly List<MetricSampleBatch> _metrics = [];

    public BatchPool<EventBatch> EventPool { get; } = eventPool ?? throw new ArgumentNullException(nameof(eventPool));

    public BatchPool<MetricSampleBatch> MetricPool { get; } = metricPool ?? throw new ArgumentNullException(nameof(metricPool));

    public int EventBatches => _events.Count;

    public int MetricBatches => _metrics.Count;

    /// <summary>Holds the batch; completes at once.</summary>
    public ValueTask PostAsync(EventBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        _events.Add(batch);
        return ValueTask.CompletedTask;
    }

    /// <summary>Holds the batch; completes at once.</summary>
    public ValueTask PostAsync(MetricSampleBatch batch, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(batch);
        _metrics.Add(batch);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Posts every held batch to its shard, waiting while a shard's queue is full. On cancellation the batches not yet
    /// posted go back to their pools. Either way the holder is empty afterwards.
    /// </summary>
    public async ValueTask PostToAsync(ShardedIngest ingest, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ingest);
        int events = 0, metrics = 0;
        try
        {
            for (; events < _events.Count; events++)
            {
                var posting = ingest.PostAsync(_events[events], cancellationToken);
                if (!posting.IsCompletedSuccessfully)
                {
                    await posting.ConfigureAwait(false);
                }
            }

            for (; metrics < _metrics.Count; metrics++)
            {
                var posting = ingest.PostAsync(_metrics[metrics], cancellationToken);
                if (!posting.IsCompletedSuccessfully)
                {
                    await posting.ConfigureAwait(false);
                }
            }
        }
        catch
        {
            for (var i = events; i < _events.Count; i++)
            {
                ingest.EventPool.Return(_events[i]);
            }

            for (var i = metrics; i < _metrics.Count; i++)
            {
                ingest.MetricPool.Return(_metrics[i]);
            }

            throw;
        }
        finally
        {
            _events.Clear();
            _metrics.Clear();
        }
    }

    /// <summary>Gives every held batch back to the pools without posting it.</summary>
    public void ReturnAll()
    {
        foreach (var batch in _events)
        {
            EventPool.Return(batch);
        }

        foreach (var batch in _metrics)
        {
            MetricPool.Return(batch);
        }

        _events.Clear();
        _metrics.Clear();
    }
}
