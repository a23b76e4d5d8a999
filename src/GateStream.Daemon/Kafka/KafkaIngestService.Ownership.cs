using Confluent.Kafka;
using GateStream.Core.Gates;
using GateStream.Daemon.Decisions.Kafka;
using GateStream.Daemon.Diagnostics;
using GateStream.Ingest.Kafka;
using GateStream.Wire;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Kafka;

// Partition ownership -> gate ownership. A deployment's gates decide on the daemon that holds the partition its events
// come through: not at all once the partition is revoked, "warming up" while a new owner re-reads the window from the
// committed offset, and normally once that re-read has reached the high watermark seen at assignment. A gate the new
// owner has no (newer) state for is restored from the decisions topic first, so it continues from its last weight.
internal sealed partial class KafkaIngestService
{
    private void OnAssigned(IConsumer<Ignore, DecodedMessage> consumer, List<TopicPartition> partitions)
    {
        _metrics.Rebalance("assigned", partitions.Count);
        FlushPending();
        CatchUpDecisions(consumer);
        var committed = Committed(consumer, partitions);
        foreach (var partition in partitions)
        {
            var (low, high) = Watermarks(consumer, partition);
            var start = committed.TryGetValue(partition, out var offset) ? offset : _resetToLatest ? high : low;
            if (!_known.TryGetValue(partition, out var progress))
            {
                progress = new PartitionProgress();
                _known[partition] = progress;
            }

            progress.Assign(start, high);
            progress.Committed = committed.TryGetValue(partition, out var c) ? c : -1;
            _assigned[partition] = progress;
            _lastPartition = null;
            DaemonLog.KafkaAssigned(_logger, partition.Topic, partition.Partition.Value, start, high,
                progress.CaughtUp ? "" : $"; re-reading {Math.Max(0, high - Math.Max(start, 0))} messages before deciding");

            // Deployments this daemon saw in the partition before (it had it, lost it, and has it back).
            foreach (var deployment in progress.Deployments)
            {
                _kafkaDeployments[deployment] = 0;
                TakeOver(deployment, progress.CaughtUp ? DeploymentOwnership.Owned : DeploymentOwnership.WarmingUp);
            }
        }

        ReportPartitions();
    }

    /// <summary>Partitions leave this daemon: their gates stop deciding here, then (when revoked, not lost) offsets are committed.</summary>
    private void Release(IConsumer<Ignore, DecodedMessage> consumer, List<TopicPartition> partitions, string how, bool commit)
    {
        _metrics.Rebalance(how, partitions.Count);
        FlushPending();
        var leaving = new HashSet<string>(StringComparer.Ordinal);
        foreach (var partition in partitions)
        {
            if (_assigned.TryGetValue(partition, out var progress))
            {
                leaving.UnionWith(progress.Deployments);
            }
        }

        foreach (var (partition, progress) in _assigned)
        {
            if (!partitions.Contains(partition))
            {
                leaving.ExceptWith(progress.Deployments); // Still coming through a partition this daemon keeps.
            }
        }

        Task.WhenAll(leaving.Select(d => _engine.OnShardOfAsync(d, book =>
        {
            book.SetOwnership(d, DeploymentOwnership.NotOwned);
            return true;
        }))).GetAwaiter().GetResult();
        foreach (var deployment in leaving)
        {
            _kafkaDeployments.TryRemove(deployment, out _);
        }

        // The next owner restores these gates from the decisions topic: everything decided so far must be there.
        _publisher?.Flush(TimeSpan.FromSeconds(5));
        if (commit)
        {
            Commit(consumer, partitions);
        }

        foreach (var partition in partitions)
        {
            if (_assigned.Remove(partition, out var progress))
            {
                _lastPartition = null;
                progress.Unassign();
            }
        }

        DaemonLog.KafkaReleased(_logger, how, string.Join(", ", partitions.Select(p => $"{p.Topic}[{p.Partition.Value}]")),
            leaving.Count == 0 ? "nothing" : string.Join(", ", leaving.Order(StringComparer.Ordinal)));
        ReportPartitions();
    }

    /// <summary>Before a message's batches are posted: the first time a deployment comes through a partition, it is taken over.</summary>
    private void NoteDeployments(PartitionProgress progress, DecodedMessage message)
    {
        // Indexed, not foreach: the lists are seen through IReadOnlyList, whose enumerator would be boxed per message.
        var events = message.EventBatches;
        for (var i = 0; i < events.Count; i++)
        {
            Note(progress, events[i].Key.Deployment);
        }

        var metrics = message.MetricBatches;
        for (var i = 0; i < metrics.Count; i++)
        {
            Note(progress, metrics[i].Key.Deployment);
        }

        void Note(PartitionProgress progress, ReadOnlySpan<byte> deployment)
        {
            if (deployment.Length > 0 && progress.AddDeployment(deployment, out var name))
            {
                _kafkaDeployments[name] = 0;
                TakeOver(name, progress.CaughtUp ? DeploymentOwnership.Owned : DeploymentOwnership.WarmingUp);
            }
        }
    }

    /// <summary>
    /// Sets the deployment's ownership on its shard and, when the decisions topic knows a newer decision for it than
    /// this daemon does, restores that gate first. Waits, so it lands before the batches posted after it.
    /// </summary>
    private void TakeOver(string deployment, DeploymentOwnership state)
    {
        FlushPending();
        var known = _reader?.LatestFor(deployment);
        var now = _engine.NowMicros;
        var (restored, problem) = _engine.OnShardOfAsync(deployment, book =>
        {
            book.SetOwnership(deployment, state);
            return known is null ? (null, null) : Restore(book, known, now);
        }).GetAwaiter().GetResult();
        if (restored is not null)
        {
            _metrics.TakenOver();
            DaemonLog.KafkaTakenOver(_logger, restored.Id, restored.Phase.ToString(), restored.Weight);
        }
        else if (problem is not null)
        {
            DaemonLog.KafkaNotTakenOver(_logger, problem);
        }
    }

    // On the deployment's shard.
    private static (Gate? Gate, string? Problem) Restore(GateBook book, DecisionsTopicReader.KnownGate known, long nowMicros)
    {
        var latest = known.Latest;
        Gate? underWay = null;
        var newestHere = long.MinValue;
        foreach (var gate in book.Gates)
        {
            if (gate.Deployment == latest.Deployment)
            {
                newestHere = Math.Max(newestHere, gate.LastDecision?.TimeMicros ?? gate.StartedMicros);
                if (!gate.IsFinished && gate.Id != latest.Gate)
                {
                    underWay = gate;
                }
            }
        }

        if (newestHere >= known.LatestMicros)
        {
            return (null, null); // This daemon knows as much as the topic (it took the decision, or a later one).
        }

        if (underWay is not null)
        {
            return (null, $"gate {latest.Gate} was decided elsewhere, but gate {underWay.Id} of the same deployment is under way here; it continues.");
        }

        if (!DecisionMapper.TryToSnapshot(latest, known.FirstMicros, out var snapshot, out var problem))
        {
            return (null, problem);
        }

        var (restored, message) = book.Restore(snapshot, nowMicros);
        return restored is null ? (null, message) : (restored, null);
    }

    private void OnCaughtUp(TopicPartition partition, PartitionProgress progress)
    {
        // A deployment that also comes through another partition still catching up stays warming up until that one is done.
        FlushPending();
        var owned = progress.Deployments.Where(d => !_assigned.Any(p => !p.Key.Equals(partition) && !p.Value.CaughtUp && p.Value.Deployments.Contains(d))).ToArray();
        Task.WhenAll(owned.Select(d => _engine.OnShardOfAsync(d, book =>
        {
            book.SetOwnership(d, DeploymentOwnership.Owned);
            return true;
        }))).GetAwaiter().GetResult();
        DaemonLog.KafkaCaughtUp(_logger, partition.Topic, partition.Partition.Value, progress.Position,
            owned.Length == 0 ? "nothing yet" : string.Join(", ", owned.Order(StringComparer.Ordinal)));
        ReportPartitions();
    }

    /// <summary>When idle: a partition whose fetch position passed the catch-up target without a message (transaction markers, compaction) has caught up too.</summary>
    private void CheckPositions(IConsumer<Ignore, DecodedMessage> consumer)
    {
        foreach (var (partition, progress) in _assigned)
        {
            if (progress.CaughtUp)
            {
                continue;
            }

            Offset position;
            try
            {
                position = consumer.Position(partition);
            }
            catch (KafkaException)
            {
                continue;
            }

            if (!position.IsSpecial && progress.PositionAt(position.Value))
            {
                OnCaughtUp(partition, progress);
                return; // _assigned is unchanged, but leave the loop before touching it again.
            }
        }
    }

    /// <summary>
    /// A decision read from the decisions topic. If another daemon decided for a deployment that does not come through
    /// this daemon's partitions while this daemon holds an older gate for it (restored from its own log after a restart,
    /// say), this daemon stops deciding for it: the deployment is that daemon's.
    /// </summary>
    private void OnDecisionSeen(V1.Decision decision)
    {
        var deployment = decision.Deployment;
        if (_kafkaDeployments.ContainsKey(deployment))
        {
            return;
        }

        var micros = DecisionMapper.MicrosOf(decision.Time);
        _ = _engine.OnShardOfAsync(deployment, book =>
        {
            if (_kafkaDeployments.ContainsKey(deployment) || book.OwnershipOf(deployment) != DeploymentOwnership.Owned)
            {
                return false;
            }

            var newestHere = long.MinValue;
            foreach (var gate in book.Gates)
            {
                if (gate.Deployment == deployment)
                {
                    newestHere = Math.Max(newestHere, gate.LastDecision?.TimeMicros ?? gate.StartedMicros);
                }
            }

            if (newestHere == long.MinValue || newestHere >= micros)
            {
                return false;
            }

            book.SetOwnership(deployment, DeploymentOwnership.NotOwned);
            return true;
        }).ContinueWith(t =>
        {
            if (t.IsCompletedSuccessfully && t.Result)
            {
                DaemonLog.KafkaDecidedElsewhere(_logger, deployment, decision.Gate);
            }
            else if (t.IsFaulted)
            {
                _ = t.Exception; // The engine is stopping: nothing left to decide for.
            }
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    /// <summary>Waits until the decisions the previous owners published (they flush before letting go) have been read here.</summary>
    private void CatchUpDecisions(IConsumer<Ignore, DecodedMessage> consumer)
    {
        if (_reader is null || _reader.Partitions.Count == 0)
        {
            return;
        }

        var ends = new Dictionary<int, long>();
        foreach (var partition in _reader.Partitions)
        {
            ends[partition] = Watermarks(consumer, new TopicPartition(_reader.Topic, partition)).High;
        }

        if (!_reader.WaitCaughtUp(ends, _options.DecisionsCatchUpTimeout))
        {
            DaemonLog.KafkaDecisionsBehind(_logger, _reader.Topic, _options.DecisionsCatchUpTimeout);
        }
    }

    private (long Low, long High) Watermarks(IConsumer<Ignore, DecodedMessage> consumer, TopicPartition partition)
    {
        try
        {
            var watermarks = consumer.QueryWatermarkOffsets(partition, BrokerCallTimeout);
            return (watermarks.Low.Value, watermarks.High.Value);
        }
        catch (KafkaException e)
        {
            // Unknown: the partition counts as caught up at once (logged), rather than never deciding.
            OnError(e.Error);
            return (-1, -1);
        }
    }

    private Dictionary<TopicPartition, long> Committed(IConsumer<Ignore, DecodedMessage> consumer, List<TopicPartition> partitions)
    {
        var committed = new Dictionary<TopicPartition, long>();
        try
        {
            foreach (var offset in consumer.Committed(partitions, BrokerCallTimeout))
            {
                if (!offset.Offset.IsSpecial)
                {
                    committed[offset.TopicPartition] = offset.Offset.Value;
                }
            }
        }
        catch (KafkaException e)
        {
            OnError(e.Error);
        }

        return committed;
    }

    private void ReportPartitions() =>
        _metrics.Partitions(_assigned.Count, _assigned.Values.Count(p => !p.CaughtUp));
}
