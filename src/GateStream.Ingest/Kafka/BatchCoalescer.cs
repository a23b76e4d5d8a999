using System.Diagnostics;
using GateStream.Core.Events;

namespace GateStream.Ingest.Kafka;

/// <summary>
/// Gathers the batches of many small Kafka messages into one batch per series before they are handed to the shards,
/// so a topic of single-event messages costs a shard hand-off per <see cref="MaxEventsPerBatch"/> events (or per
/// <see cref="MaxHold"/>), not one per message.
/// </summary>
/// <remarks>
/// <para>A message's first batch for a series becomes that series' pending batch (no copy); later ones are appended to
/// it and go back to the pool. Within a series, events keep the order the partition gave them.</para>
/// <para>The consume loop must <see cref="Flush"/> before anything that has to land on a shard after the events
/// consumed so far (an ownership change, a gate take-over, a commit), when the client has nothing more to give, and
/// once a batch has been held for <see cref="MaxHold"/> (<see cref="ShouldFlush"/>).</para>
/// <para>Single owner: the consume thread. Nothing is allocated per message once the slots have grown to the number of
/// series in flight.</para>
/// </remarks>
public sealed class BatchCoalescer
{
    /// <summary>Default size at which a pending batch is handed on.</summary>
    public const int DefaultMaxEventsPerBatch = 1024;

    /// <summary>Default number of series held at once; one more flushes them all.</summary>
    public const int DefaultMaxSeries = 512;

    /// <summary>Default longest time a batch waits for more events: short beside the 250 ms evaluation tick.</summary>
    public static readonly TimeSpan DefaultMaxHold = TimeSpan.FromMilliseconds(10);

    private readonly Pending<EventBatch> _events;
    private readonly Pending<MetricSampleBatch> _metrics;
    private readonly long _maxHoldMs;
    private long _heldSince;

    public BatchCoalescer(BatchPool<EventBatch> eventPool, BatchPool<MetricSampleBatch> metricPool, int maxEventsPerBatch = DefaultMaxEventsPerBatch,
        int maxSeries = DefaultMaxSeries, TimeSpan? maxHold = null)
    {
        ArgumentNullException.ThrowIfNull(eventPool);
        ArgumentNullException.ThrowIfNull(metricPool);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEventsPerBatch, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSeries, 1);
        MaxEventsPerBatch = maxEventsPerBatch;
        MaxHold = maxHold ?? DefaultMaxHold;
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxHold, TimeSpan.Zero);
        _maxHoldMs = (long)Math.Ceiling(MaxHold.TotalMilliseconds);
        _events = new EventsPending(eventPool, maxEventsPerBatch, maxSeries);
        _metrics = new MetricsPending(metricPool, maxEventsPerBatch, maxSeries);
    }

    public int MaxEventsPerBatch { get; }

    public TimeSpan MaxHold { get; }

    /// <summary>Series with a pending batch.</summary>
    public int PendingBatches => _events.Count + _metrics.Count;

    /// <summary>
    /// The events handed on to a target since the last call (posts that completed; a failed one is not counted), and
    /// starts counting again from zero.
    /// </summary>
    /// <remarks>
    /// Each batch is counted before it is posted: once posted it is the target's, and a shard may apply it and return
    /// it to its pool, emptied, before the post even returns, so its size can no longer be read afterwards.
    /// </remarks>
    public long TakeEventsPosted()
    {
        var posted = _events.Posted;
        _events.Posted = 0;
        return posted;
    }

    /// <summary>Whether the oldest pending batch has waited <see cref="MaxHold"/> (false when nothing is pending).</summary>
    /// <remarks>
    /// Asked once per message, so it reads the coarse clock (<see cref="Environment.TickCount64"/>, a few ns and as
    /// fine as the kernel's tick, 1-4 ms) rather than <see cref="Stopwatch"/> (about 30 ns on a VM's kvm-clock).
    /// </remarks>
    public bool ShouldFlush => PendingBatches > 0 && Environment.TickCount64 - _heldSince >= _maxHoldMs;

    /// <summary>
    /// Takes every batch of <paramref name="message"/> (the message holds none afterwards). Batches that fill up are
    /// posted to <paramref name="target"/> at once, waiting while it is full.
    /// </summary>
    /// <exception cref="OperationCanceledException">A post was cancelled; every batch the coalescer held is back in its pool.</exception>
    public void Absorb(DecodedMessage message, IBatchSink target)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(target);
        if (PendingBatches == 0)
        {
            _heldSince = Environment.TickCount64;
        }

        var events = message.EventBatches;
        var metrics = message.MetricBatches;
        var e = 0;
        var m = 0;
        try
        {
            for (; e < events.Count; e++)
            {
                _events.Add(events[e], target, message);
            }

            for (; m < metrics.Count; m++)
            {
                _metrics.Add(metrics[m], target, null);
            }
        }
        catch
        {
            // Add took the batch it was given (held or back in its pool); the message's later ones are still the message's.
            for (var i = e + 1; i < events.Count; i++)
            {
                message.EventPool.Return(events[i]);
            }

            for (var i = e < events.Count ? 0 : m + 1; i < metrics.Count; i++)
            {
                message.MetricPool.Return(metrics[i]);
            }

            message.BatchesTaken();
            Discard();
            throw;
        }

        message.BatchesTaken();
    }

    /// <summary>Posts every pending batch to <paramref name="target"/>, oldest series first, waiting while it is full.</summary>
    /// <exception cref="OperationCanceledException">A post was cancelled; the batches not posted are back in their pools.</exception>
    public void Flush(IBatchSink target)
    {
        ArgumentNullException.ThrowIfNull(target);
        try
        {
            _events.PostAll(target);
            _metrics.PostAll(target);
        }
        catch
        {
            Discard();
            throw;
        }
    }

    /// <summary>Returns every pending batch to its pool without posting it.</summary>
    public void Discard()
    {
        _events.ReturnAll();
        _metrics.ReturnAll();
    }

    private static void Wait(ValueTask posting)
    {
        if (!posting.IsCompletedSuccessfully)
        {
            posting.AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Pending batches of one kind, found by series key and source.</summary>
    private abstract class Pending<TBatch>(int maxItems, int maxSeries)
        where TBatch : class
    {
        private readonly Dictionary<int, int> _byHash = [];
        private Slot[] _slots = new Slot[16];
        private int _last = -1;

        public int Count { get; private set; }

        /// <summary>Items in the batches posted so far (counted before each post: the target owns a batch once posted).</summary>
        public long Posted { get; set; }

        /// <summary>
        /// Takes <paramref name="batch"/> (held, or appended to its series' pending batch and returned to the pool), then
        /// posts what that filled. If a post throws, the batch being posted is back in its pool and the rest stay pending.
        /// </summary>
        public void Add(TBatch batch, IBatchSink target, DecodedMessage? recycler)
        {
            int slot, hash;
            bool same;
            if (_last >= 0 && SameSeries(_slots[_last].Batch, batch))
            {
                (slot, hash, same) = (_last, _slots[_last].Hash, true);
            }
            else
            {
                hash = HashOf(batch);
                slot = _byHash.TryGetValue(hash, out var found) ? found : -1;
                same = slot >= 0 && SameSeries(_slots[slot].Batch, batch);
            }

            if (same)
            {
                _last = slot;
                var pending = _slots[slot].Batch;
                if (ItemsOf(pending) + ItemsOf(batch) > maxItems)
                {
                    // Handed on as it is; the new batch starts the series' next one.
                    _slots[slot].Batch = batch;
                    Post(pending, target);
                    return;
                }

                Append(batch, pending);
                Recycle(batch, recycler);
                if (ItemsOf(pending) >= maxItems)
                {
                    Remove(slot);
                    Post(pending, target);
                }

                return;
            }

            TBatch? displaced = null;
            if (slot >= 0)
            {
                // Another series with the same hash: it goes on ahead, and this one takes its place.
                displaced = _slots[slot].Batch;
                Remove(slot);
            }

            Hold(batch, hash);
            if (displaced is not null)
            {
                Post(displaced, target);
            }

            if (Count > maxSeries)
            {
                PostAll(target);
            }
        }

        /// <summary>Posts every pending batch. If a post throws, that batch and every one after it go back to the pool.</summary>
        public void PostAll(IBatchSink target)
        {
            var count = Count;
            Clear();
            for (var i = 0; i < count; i++)
            {
                var batch = _slots[i].Batch;
                _slots[i] = default;
                try
                {
                    var items = ItemsOf(batch);
                    Wait(PostAsync(batch, target));
                    Posted += items;
                }
                catch
                {
                    ReturnToPool(batch);
                    for (var j = i + 1; j < count; j++)
                    {
                        ReturnToPool(_slots[j].Batch);
                        _slots[j] = default;
                    }

                    throw;
                }
            }
        }

        public void ReturnAll()
        {
            for (var i = 0; i < Count; i++)
            {
                ReturnToPool(_slots[i].Batch);
                _slots[i] = default;
            }

            Clear();
        }

        protected abstract SeriesKeyBuffer KeyOf(TBatch batch);

        protected abstract string SourceOf(TBatch batch);

        protected abstract int ItemsOf(TBatch batch);

        protected abstract void Append(TBatch from, TBatch to);

        protected abstract void ReturnToPool(TBatch batch);

        /// <summary>A batch whose items were appended elsewhere: back to the message it came from, or to the pool.</summary>
        protected virtual void Recycle(TBatch batch, DecodedMessage? recycler) => ReturnToPool(batch);

        protected abstract ValueTask PostAsync(TBatch batch, IBatchSink target);

        private void Post(TBatch batch, IBatchSink target)
        {
            try
            {
                var items = ItemsOf(batch);
                Wait(PostAsync(batch, target));
                Posted += items;
            }
            catch
            {
                ReturnToPool(batch);
                throw;
            }
        }

        private int HashOf(TBatch batch)
        {
            var key = KeyOf(batch);
            var hash = new HashCode();
            hash.AddBytes(key.Deployment);
            hash.Add(key.Deployment.Length);
            hash.AddBytes(key.Version);
            hash.Add(SourceOf(batch));
            return hash.ToHashCode();
        }

        private void Hold(TBatch batch, int hash)
        {
            if (Count == _slots.Length)
            {
                Array.Resize(ref _slots, _slots.Length * 2);
            }

            _slots[Count] = new Slot(hash, batch);
            _byHash[hash] = Count;
            _last = Count;
            Count++;
        }

        private void Remove(int slot)
        {
            _byHash.Remove(_slots[slot].Hash);
            var last = Count - 1;
            if (slot != last)
            {
                _slots[slot] = _slots[last];
                _byHash[_slots[slot].Hash] = slot;
            }

            _slots[last] = default;
            Count--;
            _last = -1;
        }

        private void Clear()
        {
            _byHash.Clear();
            Count = 0;
            _last = -1;
        }

        private bool SameSeries(TBatch a, TBatch b)
        {
            var x = KeyOf(a);
            var y = KeyOf(b);
            return x.Deployment.SequenceEqual(y.Deployment) && x.Version.SequenceEqual(y.Version)
                && string.Equals(SourceOf(a), SourceOf(b), StringComparison.Ordinal);
        }

        private struct Slot(int hash, TBatch batch)
        {
            public int Hash = hash;
            public TBatch Batch = batch;
        }
    }

    private sealed class EventsPending(BatchPool<EventBatch> pool, int maxItems, int maxSeries) : Pending<EventBatch>(maxItems, maxSeries)
    {
        protected override SeriesKeyBuffer KeyOf(EventBatch batch) => batch.Key;

        protected override string SourceOf(EventBatch batch) => batch.Source;

        protected override int ItemsOf(EventBatch batch) => batch.Count;

        protected override void Append(EventBatch from, EventBatch to)
        {
            var start = to.Count;
            to.Resize(start + from.Count);
            from.TimesMicros.CopyTo(to.WritableTimes[start..]);
            from.LatenciesMicros.CopyTo(to.WritableLatencies[start..]);
            from.Errors.CopyTo(to.WritableErrors[start..]);
        }

        protected override void ReturnToPool(EventBatch batch) => pool.Return(batch);

        protected override void Recycle(EventBatch batch, DecodedMessage? recycler)
        {
            if (recycler is not null)
            {
                recycler.Recycle(batch);
            }
            else
            {
                pool.Return(batch);
            }
        }

        protected override ValueTask PostAsync(EventBatch batch, IBatchSink target) => target.PostAsync(batch, CancellationToken.None);
    }

    private sealed class MetricsPending(BatchPool<MetricSampleBatch> pool, int maxItems, int maxSeries) : Pending<MetricSampleBatch>(maxItems, maxSeries)
    {
        protected override SeriesKeyBuffer KeyOf(MetricSampleBatch batch) => batch.Key;

        protected override string SourceOf(MetricSampleBatch batch) => batch.Source;

        protected override int ItemsOf(MetricSampleBatch batch) => batch.Count;

        protected override void Append(MetricSampleBatch from, MetricSampleBatch to)
        {
            for (var i = 0; i < from.Count; i++)
            {
                to.Add(from.NameAt(i), from.TimeAt(i), from.ValueAt(i), from.KindAt(i));
            }
        }

        protected override void ReturnToPool(MetricSampleBatch batch) => pool.Return(batch);

        protected override ValueTask PostAsync(MetricSampleBatch batch, IBatchSink target) => target.PostAsync(batch, CancellationToken.None);
    }
}
