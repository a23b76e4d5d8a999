using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using Confluent.Kafka;
using GateStream.Core.Events;
using GateStream.Core.Time;
using GateStream.Daemon.Decisions.Kafka;
using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Engine;
using GateStream.Daemon.Options;
using GateStream.Ingest;
using GateStream.Ingest.Kafka;
using GateStream.Ingest.Otlp;
using Microsoft.Extensions.Options;

namespace GateStream.Daemon.Kafka;

/// <summary>
/// The Kafka source: one consumer in the fleet's group on a dedicated thread, decoding each message straight from the
/// client's buffer and gathering its events into one batch per series (<see cref="BatchCoalescer"/>) that is posted to
/// the shards when it fills, after 10 ms, or when the client has nothing more to give (waiting while a shard is full);
/// offsets committed only for what is applied and no longer inside a live window; gate ownership following partition
/// ownership; decisions published to and gates taken over from the decisions topic.
/// </summary>
/// <remarks>
/// Threads: the consume thread owns the consumer and every <see cref="PartitionProgress"/>; librdkafka calls the
/// rebalance handlers on it too (inside Consume and Close). Gate work goes to the deployment's shard through
/// <see cref="EngineHost.OnShardOfAsync{T}"/>, queued behind the batches already posted there (the coalescer is flushed
/// first), so an ownership change or a takeover lands exactly between the events before it and the events after it.
/// Per message the loop allocates nothing of its own: counts are added to the metrics once per flush.
/// </remarks>
internal sealed partial class KafkaIngestService : IHostedService, IDisposable, IBatchSink
{
    private const string Source = "kafka";
    private static readonly TimeSpan PollTimeout = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan BrokerCallTimeout = TimeSpan.FromSeconds(5);

    private readonly KafkaOptions _options;
    private readonly EngineHost _engine;
    private readonly KafkaMetrics _metrics;
    private readonly TimeProvider _clock;
    private readonly ILogger<KafkaIngestService> _logger;
    private readonly long _windowMicros;
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<TopicPartition, PartitionProgress> _assigned = [];
    private readonly Dictionary<TopicPartition, PartitionProgress> _known = [];
    private readonly ConcurrentDictionary<string, byte> _kafkaDeployments = new(StringComparer.Ordinal);
    private readonly LogThrottle _badMessages;
    private readonly LogThrottle _refusals;
    private readonly LogThrottle _errors;
    private readonly LogThrottle _commitErrors;
    private BatchCoalescer? _coalescer;
    private long _appliedMessages;
    private long _skippedMessages;
    private IConsumer<Ignore, DecodedMessage>? _consumer;
    private DecisionsPublisher? _publisher;
    private DecisionsTopicReader? _reader;
    private Thread? _thread;
    private long _lastCommit;
    private string? _onlyTopic;
    private TopicPartition? _lastPartition;
    private PartitionProgress? _lastProgress;
    private bool _resetToLatest;

    public KafkaIngestService(IOptions<KafkaOptions> options, IOptions<GateStreamOptions> daemon, EngineHost engine, KafkaMetrics metrics,
        TimeProvider clock, ILogger<KafkaIngestService> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(daemon);
        _options = options.Value;
        _engine = engine;
        _metrics = metrics;
        _clock = clock;
        _logger = logger;
        _windowMicros = EventTime.FromTimeSpan(daemon.Value.Engine.WindowLength);
        _badMessages = new LogThrottle(clock, TimeSpan.FromSeconds(5));
        _refusals = new LogThrottle(clock, TimeSpan.FromSeconds(5));
        _errors = new LogThrottle(clock, TimeSpan.FromSeconds(10));
        _commitErrors = new LogThrottle(clock, TimeSpan.FromSeconds(10));
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return Task.CompletedTask;
        }

        // Built first: a librdkafka setting it does not know stops the start before anything runs.
        var topics = _options.ToTopics();
        _consumer = topics.Count == 0 ? null : BuildConsumer(topics);
        if (!string.IsNullOrWhiteSpace(_options.DecisionsTopic))
        {
            _publisher = new DecisionsPublisher(_options, _metrics, _clock, _logger);
            _engine.Hub.AddObserver(_publisher);
            _reader = new DecisionsTopicReader(_options, _logger) { DecisionSeen = OnDecisionSeen };
            _reader.Start();
        }

        if (_consumer is null)
        {
            _stopped.TrySetResult();
            return Task.CompletedTask;
        }

        _consumer.Subscribe(topics.Select(t => t.Name));
        DaemonLog.KafkaStarted(_logger, _options.GroupId, _options.BootstrapServers,
            string.Join(", ", topics.Select(t => t.Encoding == KafkaEncoding.Otlp ? $"{t.Name} (otlp {t.Signal.ToString().ToLowerInvariant()})" : $"{t.Name} ({t.Encoding.ToString().ToLowerInvariant()})")));
        _lastCommit = Environment.TickCount64;
        _thread = new Thread(Run) { IsBackground = true, Name = "gatestream-kafka" };
        _thread.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (!_options.Enabled)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_thread is not null)
        {
            // Closing the consumer revokes its partitions: gates stop deciding, decisions are flushed, offsets committed.
            await _stopped.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        if (_publisher is not null)
        {
            _engine.Hub.RemoveObserver(_publisher);
            _publisher.Dispose();
        }
        _reader?.Dispose();
    }

    public void Dispose()
    {
        _stopping.Dispose();
    }

    private IConsumer<Ignore, DecodedMessage> BuildConsumer(IReadOnlyList<KafkaTopic> topics)
    {
        _onlyTopic = topics.Count == 1 ? topics[0].Name : null;
        var config = KafkaConsumerDefaults.Build(_options.BootstrapServers, _options.GroupId, _options.Consumer, oneTopic: _onlyTopic is not null);
        config.TryAdd("client.id", "gatestream");
        _resetToLatest = config.TryGetValue("auto.offset.reset", out var reset) && reset is "latest" or "largest" or "end";
        var ingest = _engine.Ingest;
        var message = new DecodedMessage(ingest.EventPool, ingest.MetricPool);
        _coalescer = new BatchCoalescer(ingest.EventPool, ingest.MetricPool);
        var otlp = OtlpOptions.Default with { Source = Source };
        var decoders = KafkaMessageDeserializer.DecodersFor(topics, topic => topic.Encoding switch
        {
            KafkaEncoding.GateStream => new NativeMessageDecoder(Source),
            KafkaEncoding.Otlp => new OtlpMessageDecoder(new OtlpDecoder(otlp, ingest.EventPool, ingest.MetricPool), topic.Signal),
            _ => new JsonEventDecoder(Source),
        });
        try
        {
            return new ConsumerBuilder<Ignore, DecodedMessage>(config)
                .SetValueDeserializer(new KafkaMessageDeserializer(decoders, message))
                .SetLogHandler((_, m) => DaemonLog.KafkaClientLog(_logger, m.Name, m.Facility, m.Message))
                .SetErrorHandler((_, e) => OnError(e))
                .SetPartitionsAssignedHandler((c, partitions) => OnAssigned(c, partitions))
                .SetPartitionsRevokedHandler((c, partitions) => Release(c, [.. partitions.Select(p => p.TopicPartition)], "revoked", commit: true))
                .SetPartitionsLostHandler((c, partitions) => Release(c, [.. partitions.Select(p => p.TopicPartition)], "lost", commit: false))
                .Build();
        }
        catch (Exception e) when (e is ArgumentException or KafkaException or InvalidOperationException)
        {
            throw new InvalidOperationException($"{KafkaOptions.Section}:Consumer: the Kafka consumer cannot be created: {e.Message}", e);
        }
    }

    private void Run()
    {
        var consumer = _consumer!;
        try
        {
            while (!_stopping.IsCancellationRequested)
            {
                ConsumeResult<Ignore, DecodedMessage>? result = null;
                try
                {
                    result = consumer.Consume(PollTimeout);
                }
                catch (ConsumeException e)
                {
                    OnError(e.Error);
                }

                if (result?.Message is not null)
                {
                    Handle(result);
                    if (_coalescer!.ShouldFlush)
                    {
                        FlushPending();
                    }
                }
                else if (result is null)
                {
                    // Nothing more for now: what is gathered goes to the shards at once.
                    FlushPending();
                    CheckPositions(consumer);
                }

                // The coarse clock: read once per message, where Stopwatch costs about 30 ns on a VM.
                if (Environment.TickCount64 - _lastCommit >= (long)_options.CommitInterval.TotalMilliseconds)
                {
                    Commit(consumer, [.. _assigned.Keys]);
                    _lastCommit = Environment.TickCount64;
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (KafkaException e) when (e.Error.IsFatal)
        {
            DaemonLog.KafkaFatal(_logger, e.Error.Reason);
        }
        finally
        {
            try
            {
                consumer.Close();
                DaemonLog.KafkaStopped(_logger);
            }
            catch (KafkaException e)
            {
                DaemonLog.KafkaError(_logger, "closing the consumer: " + e.Message, "");
            }
            finally
            {
                consumer.Dispose();
                _stopped.TrySetResult();
            }
        }
    }

    private void Handle(ConsumeResult<Ignore, DecodedMessage> result)
    {
        var message = result.Message.Value;
        var offset = result.Offset.Value;
        if (!TryGetAssigned(result, out var partition, out var progress))
        {
            message.ReturnBatches();
            return;
        }

        bool caughtUp;
        if (!message.Decoded)
        {
            _metrics.Daemon.DecodeError(Source);
            _metrics.Undecodable();
            if (_badMessages.ShouldLog(out var suppressed))
            {
                DaemonLog.KafkaUndecodable(_logger, partition.Topic, partition.Partition.Value, offset, message.Problem, suppressed);
            }

            caughtUp = progress.Consumed(offset, long.MinValue, applied: true);
        }
        else
        {
            var apply = progress.ShouldApply(offset);
            try
            {
                NoteDeployments(progress, message);
                if (apply)
                {
                    _coalescer!.Absorb(message, this);
                    _appliedMessages++;
                }
                else
                {
                    // Applied by this daemon before the partition went away and came back: its windows hold these events.
                    message.ReturnBatches();
                    _skippedMessages++;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                message.ReturnBatches();
                DaemonLog.KafkaApplyFailed(_logger, e, partition.Topic, partition.Partition.Value, offset);
            }

            if (message.Refused > 0 && _refusals.ShouldLog(out var suppressed))
            {
                DaemonLog.KafkaRefused(_logger, partition.Topic, partition.Partition.Value, offset, message.Refused, message.RefusedReason ?? "", suppressed);
            }

            caughtUp = progress.Consumed(offset, message.NewestMicros, apply);
        }

        if (caughtUp)
        {
            OnCaughtUp(partition, progress);
        }
    }

    /// <summary>
    /// The message's partition and its progress when it is assigned. A fetch brings a run of messages from one
    /// partition, so the last one found is checked first, on its topic and number: that spares the TopicPartition the
    /// client would allocate and the dictionary's hashing of the topic name, per message.
    /// </summary>
    private bool TryGetAssigned(ConsumeResult<Ignore, DecodedMessage> result, out TopicPartition partition, [NotNullWhen(true)] out PartitionProgress? progress)
    {
        // With one topic the client does not name it (KafkaConsumerDefaults.Build's oneTopic).
        var topic = result.Topic ?? _onlyTopic!;
        if (_lastPartition is { } last && last.Partition.Value == result.Partition.Value && string.Equals(last.Topic, topic, StringComparison.Ordinal))
        {
            partition = last;
            progress = _lastProgress!;
            return true;
        }

        partition = new TopicPartition(topic, result.Partition);
        if (!_assigned.TryGetValue(partition, out progress))
        {
            return false;
        }

        (_lastPartition, _lastProgress) = (partition, progress);
        return true;
    }

    /// <summary>
    /// Posts every batch the coalescer holds to the shards and adds the counts gathered since the last flush to the
    /// metrics. Called before anything that must land on a shard after the events consumed so far.
    /// </summary>
    private void FlushPending()
    {
        try
        {
            _coalescer?.Flush(this);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Stopping with a shard full: what was held is dropped. Its messages are not committed past while their
            // events are inside a live window (PartitionProgress), so the partition's next owner re-reads them.
        }

        if (_coalescer?.TakeEventsPosted() is long posted && posted > 0)
        {
            _metrics.Daemon.EventsReceived(Source, posted);
        }

        if (_appliedMessages > 0)
        {
            _metrics.Applied(_appliedMessages);
            _appliedMessages = 0;
        }

        if (_skippedMessages > 0)
        {
            _metrics.Skipped(_skippedMessages);
            _skippedMessages = 0;
        }
    }

    BatchPool<EventBatch> IBatchSink.EventPool => _engine.Ingest.EventPool;

    BatchPool<MetricSampleBatch> IBatchSink.MetricPool => _engine.Ingest.MetricPool;

    // The coalescer's target. The consume thread is ours: blocking it is how a full shard slows the consumer down (and
    // the broker fetch behind it).
    ValueTask IBatchSink.PostAsync(EventBatch batch, CancellationToken cancellationToken)
    {
        // Not counted here: once posted the batch is the shard's, which may have applied it and returned it to the pool
        // (emptied) before this returns. The coalescer counts each batch before posting it (FlushPending).
        Wait(_engine.Ingest.PostAsync(batch, _stopping.Token));
        return ValueTask.CompletedTask;
    }

    ValueTask IBatchSink.PostAsync(MetricSampleBatch batch, CancellationToken cancellationToken)
    {
        Wait(_engine.Ingest.PostAsync(batch, _stopping.Token));
        return ValueTask.CompletedTask;
    }

    private static void Wait(ValueTask posting)
    {
        if (!posting.IsCompletedSuccessfully)
        {
            posting.AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>
    /// Commits, for each partition, the oldest consumed offset whose events are still inside a live window. Everything
    /// consumed has been posted; the flush makes sure it has also been applied before any of it is committed.
    /// </summary>
    private void Commit(IConsumer<Ignore, DecodedMessage> consumer, List<TopicPartition> partitions)
    {
        if (partitions.Count == 0)
        {
            return;
        }

        FlushPending();
        _engine.Ingest.FlushAsync(CancellationToken.None).GetAwaiter().GetResult();
        var cutoff = EventTime.Now(_clock) - _windowMicros;
        var offsets = new List<TopicPartitionOffset>(partitions.Count);
        foreach (var partition in partitions)
        {
            if (_assigned.TryGetValue(partition, out var progress) && progress.CommitOffset(cutoff) is var offset and >= 0 && offset != progress.Committed)
            {
                offsets.Add(new TopicPartitionOffset(partition, offset));
            }
        }

        if (offsets.Count == 0)
        {
            return;
        }

        try
        {
            consumer.Commit(offsets);
            foreach (var offset in offsets)
            {
                _assigned[offset.TopicPartition].Committed = offset.Offset.Value;
            }

            _metrics.Commit(ok: true);
        }
        catch (KafkaException e)
        {
            // A rebalance in progress, a coordinator moving: the next commit (or the revocation's) carries the same offsets.
            _metrics.Commit(ok: false);
            if (_commitErrors.ShouldLog(out var suppressed))
            {
                DaemonLog.KafkaCommitFailed(_logger, e.Error.Reason, suppressed);
            }
        }
    }

    private void OnError(Error error)
    {
        if (error.IsFatal)
        {
            DaemonLog.KafkaFatal(_logger, error.Reason);
            _stopping.Cancel();
        }
        else if (_errors.ShouldLog(out var suppressed))
        {
            // Brokers down, connections refused: librdkafka reconnects by itself; the partitions resume where they were.
            DaemonLog.KafkaError(_logger, error.Reason, suppressed);
        }
    }
}
