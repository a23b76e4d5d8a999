using System.Diagnostics;
using System.Globalization;
using Confluent.Kafka;
using GateStream.Core.Events;
using GateStream.Ingest.Kafka;
using GateStream.Ingest.Otlp;

namespace GateStream.Cli.Replay;

/// <summary>One message of a Kafka replay source, decoded (or not) by the daemon's Kafka decoders.</summary>
/// <remarks>The same instance is refilled for every message: use it before asking for the next.</remarks>
public sealed class KafkaReplayMessage
{
    internal KafkaReplayMessage(DecodedMessage decoded)
    {
        Decoded = decoded;
    }

    public int Partition { get; internal set; }

    public long Offset { get; internal set; }

    /// <summary>The message's Kafka timestamp (ms since the epoch); <see cref="long.MinValue"/> when it has none.</summary>
    public long TimestampMs { get; internal set; }

    /// <summary>The message's batches, or <see cref="DecodedMessage.Problem"/> when it could not be decoded.</summary>
    public DecodedMessage Decoded { get; }
}

/// <summary>
/// Reads a range of a Kafka topic for a replay: every partition, with a plain assigned consumer (no group membership,
/// nothing committed), from <see cref="KafkaSource.From"/> up to <see cref="KafkaSource.To"/> but never past each
/// partition's high watermark as it was when the read began (so a live topic still ends). The partitions are merged
/// into one deterministic sequence: the next message is always the one with the smallest (timestamp, partition,
/// offset) among the partitions' next messages, so the same topic content gives the same order on every run.
/// </summary>
/// <remarks>
/// A time bound is applied to the messages' timestamps (the mock cluster and older brokers have no OffsetsForTimes):
/// each partition is read from its beginning and the messages before <c>from</c>, or at or after <c>to</c>, are skipped.
/// An offset bound applies to every partition. Partitions that are far ahead are paused while the others catch up,
/// so memory stays bounded.
/// </remarks>
public sealed class KafkaEventsReader : IDisposable
{
    /// <summary>Messages buffered per partition before it is paused.</summary>
    private const int MaxQueued = 10_000;

    private readonly KafkaSource _source;
    private readonly IConsumer<Ignore, byte[]?> _consumer;
    private readonly KafkaMessageDeserializer _deserializer;
    private readonly KafkaReplayMessage _current;
    private string? _lastError;

    public KafkaEventsReader(KafkaSource source, string clientSource = "replay")
    {
        _source = source ?? throw new ArgumentNullException(nameof(source));
        var config = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["bootstrap.servers"] = source.BootstrapServers,
            ["group.id"] = "gatestream-replay-" + Guid.NewGuid().ToString("N"),
            ["client.id"] = "gatestream-replay",
            ["enable.auto.commit"] = "false",
            ["enable.auto.offset.store"] = "false",
            ["enable.partition.eof"] = "true",
            ["auto.offset.reset"] = "earliest",
            ["allow.auto.create.topics"] = "false",
        };
        _consumer = new ConsumerBuilder<Ignore, byte[]?>(config)
            .SetLogHandler((_, _) => { })
            .SetErrorHandler((_, e) => _lastError = e.Reason)
            .Build();
        var eventPool = BatchPools.CreateEventPool(64);
        var metricPool = BatchPools.CreateMetricPool(64);
        IKafkaMessageDecoder decoder = source.Encoding switch
        {
            KafkaEncoding.GateStream => new NativeMessageDecoder(clientSource),
            KafkaEncoding.Otlp => new OtlpMessageDecoder(new OtlpDecoder(OtlpOptions.Default with { Source = clientSource }, eventPool, metricPool), source.Signal),
            _ => new JsonEventDecoder(clientSource),
        };
        var message = new DecodedMessage(eventPool, metricPool);
        _deserializer = new KafkaMessageDeserializer(new Dictionary<string, IKafkaMessageDecoder> { [source.Topic] = decoder }, message);
        _current = new KafkaReplayMessage(message);
    }

    /// <summary>How long to wait for the brokers (metadata, watermarks) and, while reading, for any progress at all.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Partitions of the topic, known once <see cref="Read"/> has begun.</summary>
    public int Partitions { get; private set; }

    /// <summary>Messages in the range (before any time filter), summed over the partitions, known once <see cref="Read"/> has begun.</summary>
    public long MessagesInRange { get; private set; }

    /// <summary>Messages read from the brokers so far, skipped ones included (for a progress bar).</summary>
    public long MessagesRead { get; private set; }

    /// <summary>
    /// The messages of the range in merge order. Throws <see cref="KafkaReplayException"/> when the topic cannot be read
    /// (no such topic, brokers unreachable, no progress for <see cref="Timeout"/>).
    /// </summary>
    public IEnumerable<KafkaReplayMessage> Read(CancellationToken cancellationToken = default)
    {
        var partitions = Begin();
        return Merge(partitions, cancellationToken);
    }

    public void Dispose()
    {
        _current.Decoded.Reset();
        _consumer.Dispose();
    }

    private PartitionState[] Begin()
    {
        Metadata metadata;
        try
        {
            using var admin = new DependentAdminClientBuilder(_consumer.Handle).Build();
            metadata = admin.GetMetadata(_source.Topic, Timeout);
        }
        catch (KafkaException e)
        {
            throw new KafkaReplayException($"cannot read the metadata of topic '{_source.Topic}' from {_source.BootstrapServers}: {e.Error.Reason}", e);
        }

        var topic = metadata.Topics.SingleOrDefault(t => t.Topic == _source.Topic);
        if (topic is null || topic.Error.IsError || topic.Partitions.Count == 0)
        {
            var reason = topic is null ? "not in the brokers' metadata" : topic.Error.IsError ? topic.Error.Reason : "it has no partition";
            throw new KafkaReplayException($"cannot read topic '{_source.Topic}' from {_source.BootstrapServers}: {reason}");
        }

        var states = new List<PartitionState>();
        foreach (var partition in topic.Partitions.Select(p => p.PartitionId).Order())
        {
            var tp = new TopicPartition(_source.Topic, partition);
            WatermarkOffsets watermarks;
            try
            {
                watermarks = _consumer.QueryWatermarkOffsets(tp, Timeout);
            }
            catch (KafkaException e)
            {
                throw new KafkaReplayException($"cannot read the offsets of {_source.Topic}[{partition.ToString(CultureInfo.InvariantCulture)}]: {e.Error.Reason}", e);
            }

            var low = Math.Max(0, watermarks.Low.Value);
            var high = Math.Max(low, watermarks.High.Value);
            var start = _source.From?.Offset is { } from ? Math.Max(from, low) : low;
            var end = _source.To?.Offset is { } to ? Math.Min(to, high) : high;
            var state = new PartitionState(tp, start, end);
            MessagesInRange += Math.Max(0, end - start);
            states.Add(state);
        }

        Partitions = states.Count;
        var assign = states.Where(s => !s.Done).Select(s => new TopicPartitionOffset(s.Partition, s.Next)).ToList();
        if (assign.Count > 0)
        {
            _consumer.Assign(assign);
        }

        return [.. states];
    }

    private IEnumerable<KafkaReplayMessage> Merge(PartitionState[] partitions, CancellationToken cancellationToken)
    {
        var fromTime = _source.From?.Time;
        var toTime = _source.To?.Time;
        var sinceProgress = Stopwatch.StartNew();
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            while (NextHead(partitions) is { } head)
            {
                var pending = head.Queue.Dequeue();
                if (head.Paused && head.Queue.Count <= MaxQueued / 2 && !head.Done)
                {
                    _consumer.Resume([head.Partition]);
                    head.Paused = false;
                }

                _current.Partition = head.Partition.Partition.Value;
                _current.Offset = pending.Offset;
                _current.TimestampMs = pending.TimestampMs;
                _deserializer.Deserialize(pending.Value, pending.Value is null, new SerializationContext(MessageComponentType.Value, _source.Topic));
                yield return _current;
                _current.Decoded.Reset();
            }

            if (partitions.All(p => p.Done && p.Queue.Count == 0))
            {
                yield break;
            }

            var result = Consume();
            if (result is null)
            {
                if (sinceProgress.Elapsed > Timeout)
                {
                    var waiting = string.Join(", ", partitions.Where(p => !p.Done && p.Queue.Count == 0).Select(p => p.Partition.Partition.Value.ToString(CultureInfo.InvariantCulture)));
                    throw new KafkaReplayException(string.Create(
                        CultureInfo.InvariantCulture,
                        $"no message from {_source.Topic} partition(s) {waiting} for {Timeout.TotalSeconds:0}s{(_lastError is null ? "" : $" (last error: {_lastError})")}"));
                }

                continue;
            }

            sinceProgress.Restart();
            var state = Array.Find(partitions, p => p.Partition.Partition == result.Partition);
            if (state is null || state.Done)
            {
                continue;
            }

            if (result.IsPartitionEOF)
            {
                if (result.Offset.Value >= state.End)
                {
                    Finish(state);
                }

                continue;
            }

            var offset = result.Offset.Value;
            if (offset < state.Next)
            {
                // Delivered again after a pause: already queued.
                continue;
            }

            state.Next = offset + 1;
            if (offset >= state.End)
            {
                Finish(state);
                continue;
            }

            MessagesRead++;
            var timestamp = result.Message.Timestamp.Type == TimestampType.NotAvailable ? long.MinValue : result.Message.Timestamp.UnixTimestampMs;
            var time = timestamp == long.MinValue ? (DateTimeOffset?)null : DateTimeOffset.FromUnixTimeMilliseconds(timestamp);
            var keep = (fromTime is null || (time is { } t1 && t1 >= fromTime)) && (toTime is null || (time is { } t2 && t2 < toTime));
            if (keep)
            {
                state.Queue.Enqueue(new Pending(timestamp, offset, result.Message.Value));
            }

            if (state.Next >= state.End)
            {
                Finish(state);
            }
            else if (!state.Paused && state.Queue.Count >= MaxQueued)
            {
                _consumer.Pause([state.Partition]);
                state.Paused = true;
            }
        }
    }

    private ConsumeResult<Ignore, byte[]?>? Consume()
    {
        try
        {
            return _consumer.Consume(TimeSpan.FromMilliseconds(100));
        }
        catch (ConsumeException e)
        {
            throw new KafkaReplayException($"cannot read topic '{_source.Topic}': {e.Error.Reason}", e);
        }
    }

    /// <summary>The partition whose next message comes next, or null while a partition that may still have one has none queued.</summary>
    private static PartitionState? NextHead(PartitionState[] partitions)
    {
        PartitionState? best = null;
        foreach (var state in partitions)
        {
            if (state.Queue.Count == 0)
            {
                if (!state.Done)
                {
                    return null;
                }

                continue;
            }

            // Partitions are in id order, so a tie on the timestamp goes to the lower partition.
            if (best is null || state.Queue.Peek().TimestampMs < best.Queue.Peek().TimestampMs)
            {
                best = state;
            }
        }

        return best;
    }

    private void Finish(PartitionState state)
    {
        state.Done = true;
        if (!state.Paused)
        {
            _consumer.Pause([state.Partition]);
            state.Paused = true;
        }
    }

    private readonly record struct Pending(long TimestampMs, long Offset, byte[]? Value);

    private sealed class PartitionState(TopicPartition partition, long start, long end)
    {
        public TopicPartition Partition { get; } = partition;

        public long End { get; } = end;

        /// <summary>The next offset expected from the broker.</summary>
        public long Next { get; set; } = start;

        public bool Done { get; set; } = start >= end;

        public bool Paused { get; set; }

        public Queue<Pending> Queue { get; } = new();
    }
}

/// <summary>A Kafka replay source that cannot be read.</summary>
public sealed class KafkaReplayException : Exception
{
    public KafkaReplayException()
    {
    }

    public KafkaReplayException(string message)
        : base(message)
    {
    }

    public KafkaReplayException(string message, Exception inner)
        : base(message, inner)
    {
    }
}
