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
    /// Posts every held batch to its shard, waiting while a shard's queue is full. A batch whose series the engine does
    /// not admit (series cap, deployment or source budget) goes back to its pool and is counted in the result. On
    /// cancellation the batches not yet posted go back to their pools. Either way the holder is empty afterwards.
    /// </summary>
    public async ValueTask<RefusedItems> PostToAsync(ShardedIngest ingest, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(ingest);
        int events = 0, metrics = 0;
        var refused = default(RefusedItems);
        try
        {
            for (; events < _events.Count; events++)
            {
                if (ingest.Admit(_events[events]) is { } reason)
                {
                    refused = refused.Add(_events[events].Count, 0, reason, _events[events].Key, _events[events].Source, ingest);
                    ingest.EventPool.Return(_events[events]);
                    continue;
                }

                var posting = ingest.PostAsync(_events[events], cancellationToken);
                if (!posting.IsCompletedSuccessfully)
                {
                    await posting.ConfigureAwait(false);
                }
            }

            for (; metrics < _metrics.Count; metrics++)
            {
                if (ingest.Admit(_metrics[metrics]) is { } reason)
                {
                    refused = refused.Add(0, _metrics[metrics].Count, reason, _metrics[metrics].Key, _metrics[metrics].Source, ingest);
                    ingest.MetricPool.Return(_metrics[metrics]);
                    continue;
                }

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

        return refused;
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

/// <summary>Events and samples the engine refused at admission, and the first reason as a sentence for the sender.</summary>
public readonly record struct RefusedItems(long Events, long Samples, string? FirstProblem)
{
    internal RefusedItems Add(long events, long samples, RefusalReason reason, SeriesKeyBuffer key, string source, ShardedIngest ingest) =>
        new(Events + events, Samples + samples, FirstProblem ?? ingest.DescribeRefusal(reason, key, source));
}
