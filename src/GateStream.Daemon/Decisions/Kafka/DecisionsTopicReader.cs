using System.Diagnostics;
using Confluent.Kafka;
using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Kafka;
using GateStream.Wire;
using Google.Protobuf;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Decisions.Kafka;

/// <summary>
/// Tails the decisions topic from its start and remembers, per gate, its latest decision and when it started, so a
/// daemon that takes a deployment over continues its gate from the phase and weight the last owner left it in.
/// </summary>
/// <remarks>
/// Its own thread and its own consumer, assigned every partition (no group: it never commits). Memory is one decision
/// per gate; compacting the topic (<c>cleanup.policy=compact</c>, keyed by gate) bounds what a restart re-reads.
/// </remarks>
internal sealed class DecisionsTopicReader : IDisposable
{
    private readonly string _topic;
    private readonly IConsumer<Ignore, byte[]> _consumer;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _lock = new(); // Monitor: the ingest thread waits on it for the reader to catch up.
    private readonly Dictionary<string, KnownGate> _gates = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _latestGateByDeployment = new(StringComparer.Ordinal);
    private readonly Dictionary<int, long> _positions = [];
    private readonly Thread _thread;
    private int[] _partitions = [];
    private bool _live;

    public DecisionsTopicReader(KafkaOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _topic = options.DecisionsTopic;
        _logger = logger;
        var config = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value) in options.Consumer)
        {
            config[key] = value;
        }

        config["bootstrap.servers"] = options.BootstrapServers;
        config["group.id"] = options.GroupId + ".decisions-reader";
        config["enable.auto.commit"] = "false";
        config["enable.auto.offset.store"] = "false";
        config["enable.partition.eof"] = "false";
        config["fetch.wait.max.ms"] = "100";
        config["fetch.min.bytes"] = "1";
        config["client.id"] = "gatestream-decisions-reader";
        _consumer = new ConsumerBuilder<Ignore, byte[]>(config)
            .SetLogHandler((_, m) => DaemonLog.KafkaClientLog(logger, m.Name, m.Facility, m.Message))
            .SetErrorHandler((_, _) => { }) // The ingest consumer reports broker trouble; one report is enough.
            .Build();
        _thread = new Thread(Run) { IsBackground = true, Name = "gatestream-kafka-decisions" };
    }

    /// <summary>A decision read after the reader first caught up with the topic, or, at that moment, the latest of each deployment.</summary>
    public Action<V1.Decision>? DecisionSeen { get; set; }

    public string Topic => _topic;

    /// <summary>The topic's partitions, once it could be read (empty before).</summary>
    public IReadOnlyList<int> Partitions
    {
        get
        {
            lock (_lock)
            {
                return _partitions;
            }
        }
    }

    public void Start() => _thread.Start();

    /// <summary>The latest decision on the topic for any gate of <paramref name="deployment"/>, with the time its gate started.</summary>
    public KnownGate? LatestFor(string deployment)
    {
        lock (_lock)
        {
            return _latestGateByDeployment.TryGetValue(deployment, out var gate) ? _gates[gate] : null;
        }
    }

    /// <summary>Waits until every partition has been read up to <paramref name="highWatermarks"/>; false on timeout.</summary>
    public bool WaitCaughtUp(IReadOnlyDictionary<int, long> highWatermarks, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(highWatermarks);
        var started = Stopwatch.GetTimestamp();
        lock (_lock)
        {
            while (!Reached(highWatermarks))
            {
                var left = timeout - Stopwatch.GetElapsedTime(started);
                if (left <= TimeSpan.Zero || _stopping.IsCancellationRequested)
                {
                    return false;
                }

                Monitor.Wait(_lock, left);
            }

            return true;
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        if (_thread.IsAlive)
        {
            _thread.Join(TimeSpan.FromSeconds(10));
        }

        _consumer.Close();
        _consumer.Dispose();
        _stopping.Dispose();
    }

    private bool Reached(IReadOnlyDictionary<int, long> highWatermarks)
    {
        foreach (var (partition, high) in highWatermarks)
        {
            if (high > 0 && (!_positions.TryGetValue(partition, out var position) || position < high))
            {
                return false;
            }
        }

        return true;
    }

    private void Run()
    {
        try
        {
            if (!TryAssign())
            {
                return;
            }

            var initial = QueryEnds();
            while (!_stopping.IsCancellationRequested)
            {
                var result = _consumer.Consume(TimeSpan.FromMilliseconds(200));
                if (result?.Message is { } message)
                {
                    Read(result.Partition.Value, result.Offset.Value, message.Value);
                }
                else
                {
                    SyncPositions();
                    if (initial is null)
                    {
                        GoLive(); // The ends were unknown: an idle poll is the best sign of having read what there is.
                    }
                }

                if (initial is not null && !_announced && ReachedLocked(initial))
                {
                    GoLive();
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
#pragma warning disable CA1031 // The reader failing must not take the daemon down: takeovers then start gates afresh, and it is logged.
        catch (Exception e)
#pragma warning restore CA1031
        {
            DaemonLog.KafkaError(_logger, $"decisions topic reader stopped: {e.Message}", "");
        }
        finally
        {
            lock (_lock)
            {
                Monitor.PulseAll(_lock);
            }
        }
    }

    private bool TryAssign()
    {
        using var admin = new DependentAdminClientBuilder(_consumer.Handle).Build();
        while (!_stopping.IsCancellationRequested)
        {
            string error;
            try
            {
                var metadata = admin.GetMetadata(_topic, TimeSpan.FromSeconds(5));
                var topic = metadata.Topics.FirstOrDefault(t => t.Topic == _topic);
                if (topic is { Error.IsError: false, Partitions.Count: > 0 })
                {
                    var partitions = topic.Partitions.Select(p => p.PartitionId).Order().ToArray();
                    lock (_lock)
                    {
                        _partitions = partitions;
                    }

                    _consumer.Assign(partitions.Select(p => new TopicPartitionOffset(_topic, p, Offset.Beginning)));
                    return true;
                }

                error = topic?.Error.Reason ?? "no such topic";
            }
            catch (KafkaException e)
            {
                error = e.Message;
            }

            DaemonLog.KafkaDecisionsUnavailable(_logger, _topic, error);
            _stopping.Token.WaitHandle.WaitOne(TimeSpan.FromSeconds(2));
        }

        return false;
    }

    private Dictionary<int, long>? QueryEnds()
    {
        var ends = new Dictionary<int, long>();
        foreach (var partition in Partitions)
        {
            try
            {
                ends[partition] = _consumer.QueryWatermarkOffsets(new TopicPartition(_topic, partition), TimeSpan.FromSeconds(5)).High.Value;
            }
            catch (KafkaException)
            {
                return null; // Unknown: the reader goes live after its first idle poll instead.
            }
        }

        return ends;
    }

    private void Read(int partition, long offset, byte[]? value)
    {
        V1.Decision? decision = null;
        try
        {
            decision = value is null ? null : V1.Decision.Parser.ParseFrom(value);
        }
        catch (InvalidProtocolBufferException)
        {
            // Not a decision (something else writes to the topic): skipped.
        }

        bool live;
        lock (_lock)
        {
            if (decision is { Gate.Length: > 0, Deployment.Length: > 0 })
            {
                var micros = DecisionMapper.MicrosOf(decision.Time);
                var first = _gates.TryGetValue(decision.Gate, out var known) ? Math.Min(known.FirstMicros, micros) : micros;
                if (known is null || micros >= known.LatestMicros)
                {
                    _gates[decision.Gate] = new KnownGate(first, micros, decision);
                    if (!_latestGateByDeployment.TryGetValue(decision.Deployment, out var latestGate) || _gates[latestGate].LatestMicros <= micros)
                    {
                        _latestGateByDeployment[decision.Deployment] = decision.Gate;
                    }
                }
            }

            _positions[partition] = offset + 1;
            Monitor.PulseAll(_lock);
            live = _live;
        }

        if (live && decision is not null)
        {
            DecisionSeen?.Invoke(decision);
        }
    }

    private void SyncPositions()
    {
        var positions = Partitions.Select(p => (Partition: p, Offset: _consumer.Position(new TopicPartition(_topic, p)))).ToArray();
        lock (_lock)
        {
            var moved = false;
            foreach (var (partition, offset) in positions)
            {
                if (!offset.IsSpecial && (!_positions.TryGetValue(partition, out var known) || known < offset.Value))
                {
                    _positions[partition] = offset.Value;
                    moved = true;
                }
            }

            if (moved)
            {
                Monitor.PulseAll(_lock);
            }
        }
    }

    private bool ReachedLocked(IReadOnlyDictionary<int, long> highWatermarks)
    {
        lock (_lock)
        {
            return Reached(highWatermarks);
        }
    }

    private bool _announced;

    private void GoLive()
    {
        if (_announced)
        {
            return;
        }

        List<V1.Decision> latest;
        lock (_lock)
        {
            _live = true;
            _announced = true;
            latest = [.. _latestGateByDeployment.Values.Select(g => _gates[g].Latest)];
        }

        foreach (var decision in latest)
        {
            DecisionSeen?.Invoke(decision);
        }
    }

    /// <summary>What the topic says about one gate: when it started (its first decision seen), its latest decision and that decision's time.</summary>
    internal sealed record KnownGate(long FirstMicros, long LatestMicros, V1.Decision Latest);
}
