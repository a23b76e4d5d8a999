using GateStream.Core.Events;
using GateStream.Core.Ingest;

namespace GateStream.Ingest;

/// <summary>
/// Where every decoder of this assembly hands its batches (framed, OTLP, Kafka): the engine's write path in the daemon
/// (<see cref="ShardedIngestSink"/>), a holder that stages one request or message (<see cref="Otlp.PendingBatches"/>,
/// <see cref="Kafka.DecodedMessage"/>), a recorder in tests. Decoders rent batches from the sink's pools, fill them,
/// and post them one at a time.
/// </summary>
/// <remarks>
/// A successful post hands the batch over (the engine returns it to its pool after applying it). A post may wait for
/// room (a full shard queue): that wait is the backpressure of the framed listener, since the connection reads no
/// further frame meanwhile. When a post throws (cancelled at shutdown) the caller still owns the batch. The OTLP
/// decoder is synchronous (it reads spans): it is given staging sinks whose posts complete at once, and would block
/// on one that waits.
/// </remarks>
public interface IBatchSink
{
    /// <summary>Pool of event batches to decode into.</summary>
    BatchPool<EventBatch> EventPool { get; }

    /// <summary>Pool of metric sample batches to decode into.</summary>
    BatchPool<MetricSampleBatch> MetricPool { get; }

    /// <summary>Hands an event batch on; may wait for room.</summary>
    ValueTask PostAsync(EventBatch batch, CancellationToken cancellationToken);

    /// <summary>Hands a metric sample batch on; may wait for room.</summary>
    ValueTask PostAsync(MetricSampleBatch batch, CancellationToken cancellationToken);

    /// <summary>Whether the batch's series may exist (cap and budgets); null when admitted. A refused batch is not posted.</summary>
    RefusalReason? Admit(EventBatch batch) => null;

    /// <inheritdoc cref="Admit(EventBatch)"/>
    RefusalReason? Admit(MetricSampleBatch batch) => null;

    /// <summary>A refusal as one sentence for the sender's ACK.</summary>
    string DescribeRefusal(RefusalReason reason, SeriesKeyBuffer key, string source) => $"series refused: {reason}";
}

/// <summary>The engine's write path as a sink: batches go to the shard that owns their deployment.</summary>
public sealed class ShardedIngestSink(ShardedIngest ingest) : IBatchSink
{
    private readonly ShardedIngest _ingest = ingest ?? throw new ArgumentNullException(nameof(ingest));

    /// <inheritdoc/>
    public BatchPool<EventBatch> EventPool => _ingest.EventPool;

    /// <inheritdoc/>
    public BatchPool<MetricSampleBatch> MetricPool => _ingest.MetricPool;

    /// <inheritdoc/>
    public ValueTask PostAsync(EventBatch batch, CancellationToken cancellationToken) => _ingest.PostAsync(batch, cancellationToken);

    /// <inheritdoc/>
    public ValueTask PostAsync(MetricSampleBatch batch, CancellationToken cancellationToken) => _ingest.PostAsync(batch, cancellationToken);

    /// <inheritdoc/>
    public RefusalReason? Admit(EventBatch batch) => _ingest.Admit(batch);

    /// <inheritdoc/>
    public RefusalReason? Admit(MetricSampleBatch batch) => _ingest.Admit(batch);

    /// <inheritdoc/>
    public string DescribeRefusal(RefusalReason reason, SeriesKeyBuffer key, string source) => _ingest.DescribeRefusal(reason, key, source);
}
