using System.Collections.Concurrent;
using System.Threading.Channels;
using GateStream.Core.Events;
using GateStream.Core.Time;

namespace GateStream.Core.Ingest;

/// <summary>
/// The live write path: N <see cref="Shard"/>s, each drained by its own loop from a bounded queue.
/// Any number of ingest threads post decoded batches; a batch goes to the shard that owns its
/// deployment (stable hash), so each series has exactly one writer and no event is ever lost to a race.
/// </summary>
/// <remarks>
/// Ownership: a posted batch belongs to the shard until applied, then goes back to its pool.
/// Backpressure: <see cref="PostAsync(EventBatch, CancellationToken)"/> waits while the shard's queue is
/// full; <see cref="TryPost(EventBatch)"/> returns false instead, for callers that shed load themselves.
/// </remarks>
public sealed class ShardedIngest : IAsyncDisposable
{
    private readonly Worker[] _workers;
    private readonly TimeProvider _clock;
    private readonly IRefusalSink? _refusals;

    // Refusals decided on the ingest threads, before a batch reaches its shard (several writers: atomic adds).
    private readonly IngestCounters _admission = new();

    public ShardedIngest(IngestOptions options, TimeProvider clock, IRefusalSink? refusals = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.EnsureValid();
        _clock = clock ?? throw new ArgumentNullException(nameof(clock));
        Options = options;
        Budget = new SeriesBudget(options);
        _refusals = refusals;
        _workers = new Worker[options.ShardCount];
        for (var i = 0; i < _workers.Length; i++)
        {
            _workers[i] = new Worker(new Shard(i, options, Budget, refusals), this, options.ShardQueueCapacity);
        }
    }

    public IngestOptions Options { get; }

    public SeriesBudget Budget { get; }

    public BatchPool<EventBatch> EventPool { get; } = BatchPools.CreateEventPool();

    public BatchPool<MetricSampleBatch> MetricPool { get; } = BatchPools.CreateMetricPool();

    public int ShardCount => _workers.Length;

    /// <summary>The shards' counters, for metrics. Safe to read from any thread.</summary>
    public IEnumerable<IngestCounters> Counters => _workers.Select(w => w.Shard.Counters).Append(_admission);

    public long Count(IngestCounter counter) => IngestCounters.Sum(Counters, counter);

    /// <summary>The shard that owns <paramref name="deployment"/> (UTF-8).</summary>
    public int ShardOf(ReadOnlySpan<byte> deployment) => (int)(SeriesKey.DeploymentHash(deployment) % (uint)_workers.Length);

    /// <summary>
    /// Sees every event batch as it is posted, before the shard owns it (recording). Must copy what it keeps and be
    /// quick; null (the default) costs nothing.
    /// </summary>
    public Action<EventBatch>? EventTap { get; set; }

    /// <summary>Sees every metric batch as it is posted, like <see cref="EventTap"/>.</summary>
    public Action<MetricSampleBatch>? MetricTap { get; set; }

    /// <summary>
    /// Decides, on the calling (ingest) thread, whether the batch's series may exist: its key is valid and its series is
    /// live or fits the cap and the deployment's and source's budgets. Call it before posting, so the sender's
    /// acknowledgement can count a refused batch as refused; a refused batch stays the caller's (return it to the pool).
    /// Refusals are counted and reported to the refusal sink here. Null when admitted.
    /// </summary>
    public RefusalReason? Admit(EventBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return Admit(batch.Key, batch.Source, batch.Count, samples: false);
    }

    /// <inheritdoc cref="Admit(EventBatch)"/>
    public RefusalReason? Admit(MetricSampleBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        return Admit(batch.Key, batch.Source, batch.Count, samples: true);
    }

    /// <summary>One sentence for the sender about a refusal returned by <see cref="Admit(EventBatch)"/>.</summary>
    public string DescribeRefusal(RefusalReason reason, SeriesKeyBuffer key, string source)
    {
        ArgumentNullException.ThrowIfNull(key);
        return reason is RefusalReason.EmptyKey or RefusalReason.KeyTooLong or RefusalReason.InvalidKey
            ? $"series refused: {reason} (deployment and version must be non-empty UTF-8 without control characters, at most {Options.MaxKeyBytes} bytes)"
            : Budget.Describe(reason, key.Deployment, key.Version, source);
    }

    private RefusalReason? Admit(SeriesKeyBuffer keyBuffer, string source, int items, bool samples)
    {
        var key = new SeriesKeySpan(keyBuffer.Deployment, keyBuffer.Version);
        if (Budget.IsAdmitted(key))
        {
            return null;
        }

        var refusal = Shard.ValidateKey(key, Options.MaxKeyBytes) ?? Budget.TryAdmit(key, source);
        if (refusal is not { } reason)
        {
            return null;
        }

        var (batches, counter) = reason switch
        {
            RefusalReason.EmptyKey or RefusalReason.KeyTooLong or RefusalReason.InvalidKey =>
                (IngestCounter.BatchesRefusedKey, samples ? IngestCounter.SamplesRefusedKey : IngestCounter.EventsRefusedKey),
            _ => Shard.RefusalCounters(reason, samples),
        };
        _admission.AddShared(batches, 1);
        _admission.AddShared(counter, items);
        _refusals?.OnRefused(reason, source, key.Deployment, key.Version, items);
        return reason;
    }

    public bool TryPost(EventBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        EventTap?.Invoke(batch);
        return _workers[ShardOf(batch.Key.Deployment)].Queue.Writer.TryWrite(new Work(batch, null, null));
    }

    public ValueTask PostAsync(EventBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        EventTap?.Invoke(batch);
        return _workers[ShardOf(batch.Key.Deployment)].Queue.Writer.WriteAsync(new Work(batch, null, null), cancellationToken);
    }

    public ValueTask PostAsync(MetricSampleBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        MetricTap?.Invoke(batch);
        return _workers[ShardOf(batch.Key.Deployment)].Queue.Writer.WriteAsync(new Work(null, batch, null), cancellationToken);
    }

    /// <summary>Runs <paramref name="read"/> on the shard's own loop, after everything posted to it before.</summary>
    public Task<T> InvokeAsync<T>(int shard, Func<Shard, T> read, CancellationToken cancellationToken = default)
    {
        var invocation = new Invocation<T>(read);
        var write = _workers[shard].Queue.Writer.WriteAsync(new Work(null, null, invocation), cancellationToken);
        return write.IsCompletedSuccessfully ? invocation.Task : AwaitThen(write, invocation.Task);

        static async Task<T> AwaitThen(ValueTask write, Task<T> result)
        {
            await write.ConfigureAwait(false);
            return await result.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Runs <paramref name="work"/> on the shard's loop ahead of the batches queued there: the loop takes it before its
    /// next batch (or at once when idle), so a full queue never delays it by more than one batch. For the evaluation
    /// tick, which must keep its rhythm under any ingest load; work that must land between the events before it and
    /// the events after it uses <see cref="InvokeAsync{T}"/>.
    /// </summary>
    public Task<T> InvokeFirstAsync<T>(int shard, Func<Shard, T> work)
    {
        var invocation = new Invocation<T>(work);
        var worker = _workers[shard];
        worker.Urgent.Enqueue(invocation);
        // Wakes an idle loop; a full queue means the loop is busy and looks at the urgent queue before its next batch.
        worker.Queue.Writer.TryWrite(default);
        return invocation.Task;
    }

    /// <summary>Runs <paramref name="read"/> on every shard and gathers the results in shard order.</summary>
    public Task<T[]> InvokeAllAsync<T>(Func<Shard, T> read, CancellationToken cancellationToken = default) =>
        Task.WhenAll(_workers.Select((_, i) => InvokeAsync(i, read, cancellationToken)));

    /// <summary>Completes when everything posted before the call has been applied.</summary>
    public Task FlushAsync(CancellationToken cancellationToken = default) =>
        InvokeAllAsync(static _ => true, cancellationToken);

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers)
        {
            worker.Queue.Writer.TryComplete();
        }

        await Task.WhenAll(_workers.Select(w => w.Loop)).ConfigureAwait(false);
    }

    private readonly record struct Work(EventBatch? Events, MetricSampleBatch? Metrics, IInvocation? Invocation);

    internal interface IInvocation
    {
        void Run(Shard shard);
    }

    private sealed class Invocation<T>(Func<Shard, T> read) : IInvocation
    {
        private readonly TaskCompletionSource<T> _result = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<T> Task => _result.Task;

        public void Run(Shard shard)
        {
            try
            {
                _result.TrySetResult(read(shard));
            }
#pragma warning disable CA1031 // The caller gets the exception; the shard loop must not die of it.
            catch (Exception e)
#pragma warning restore CA1031
            {
                _result.TrySetException(e);
            }
        }
    }

    private sealed class Worker
    {
        private readonly ShardedIngest _owner;

        public Worker(Shard shard, ShardedIngest owner, int capacity)
        {
            Shard = shard;
            _owner = owner;
            Queue = Channel.CreateBounded<Work>(new BoundedChannelOptions(capacity)
            {
                SingleReader = true,
                SingleWriter = false,
                FullMode = BoundedChannelFullMode.Wait,
                AllowSynchronousContinuations = false,
            });
            Loop = Task.Factory.StartNew(RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
        }

        public Shard Shard { get; }

        public Channel<Work> Queue { get; }

        /// <summary>Invocations that go before the queued batches (<see cref="InvokeFirstAsync{T}"/>).</summary>
        public ConcurrentQueue<IInvocation> Urgent { get; } = new();

        public Task Loop { get; }

        private async Task RunAsync()
        {
            var reader = Queue.Reader;
            while (await reader.WaitToReadAsync().ConfigureAwait(false))
            {
                // One batch per turn, urgent work first: an evaluation tick waits for at most one batch's apply.
                while (true)
                {
                    while (Urgent.TryDequeue(out var urgent))
                    {
                        Process(new Work(null, null, urgent));
                    }

                    if (!reader.TryRead(out var work))
                    {
                        break;
                    }

                    Process(work);
                }
            }

            while (Urgent.TryDequeue(out var left))
            {
                Process(new Work(null, null, left));
            }
        }

        private void Process(Work work)
        {
            try
            {
                if (work.Events is { } events)
                {
                    try
                    {
                        Shard.Apply(events, EventTime.Now(_owner._clock));
                    }
                    finally
                    {
                        _owner.EventPool.Return(events);
                    }
                }
                else if (work.Metrics is { } metrics)
                {
                    try
                    {
                        Shard.Apply(metrics, EventTime.Now(_owner._clock));
                    }
                    finally
                    {
                        _owner.MetricPool.Return(metrics);
                    }
                }
                else
                {
                    work.Invocation?.Run(Shard);
                }
            }
#pragma warning disable CA1031 // A bug in one batch must not stop the shard; it is counted and reported.
            catch (Exception)
#pragma warning restore CA1031
            {
                Shard.Counters.Increment(IngestCounter.ShardFaults);
            }
        }
    }
}
