using GateStream.Daemon.Diagnostics;
using Prometheus;

namespace GateStream.Daemon.Kafka;

/// <summary>The Kafka source's own metrics, in the daemon's registry (<c>/metrics</c>). Decode errors use the daemon's shared counter.</summary>
internal sealed class KafkaMetrics
{
    private readonly Counter.Child _applied;
    private readonly Counter.Child _skipped;
    private readonly Counter.Child _undecodable;
    private readonly Gauge _assigned;
    private readonly Gauge _catchingUp;
    private readonly Counter _commits;
    private readonly Counter _rebalances;
    private readonly Counter _decisions;
    private readonly Counter _takeovers;

    public KafkaMetrics(DaemonMetrics daemon)
    {
        ArgumentNullException.ThrowIfNull(daemon);
        Daemon = daemon;
        var factory = Metrics.WithCustomRegistry(daemon.Registry);
        var messages = factory.CreateCounter("gatestream_kafka_messages_total", "Kafka messages consumed, by outcome (applied, skipped: applied here before, undecodable).", "outcome");
        _applied = messages.WithLabels("applied");
        _skipped = messages.WithLabels("skipped");
        _undecodable = messages.WithLabels("undecodable");
        _assigned = factory.CreateGauge("gatestream_kafka_assigned_partitions", "Partitions assigned to this daemon.");
        _catchingUp = factory.CreateGauge("gatestream_kafka_partitions_catching_up", "Assigned partitions still re-reading up to the high watermark seen at assignment.");
        _commits = factory.CreateCounter("gatestream_kafka_commits_total", "Offset commits, by result.", "result");
        _rebalances = factory.CreateCounter("gatestream_kafka_rebalance_events_total", "Partitions assigned, revoked or lost.", "kind");
        _decisions = factory.CreateCounter("gatestream_kafka_decisions_produced_total", "Decisions published to the decisions topic, by result.", "result");
        _takeovers = factory.CreateCounter("gatestream_kafka_gates_taken_over_total", "Gates restored from the decisions topic when their deployment came to this daemon.");
    }

    public DaemonMetrics Daemon { get; }

    // Counted per flush of the consume loop, not per message; the label children are looked up once.
    public void Applied(long messages) => _applied.Inc(messages);

    public void Skipped(long messages) => _skipped.Inc(messages);

    public void Undecodable() => _undecodable.Inc();

    public void Partitions(int assigned, int catchingUp)
    {
        _assigned.Set(assigned);
        _catchingUp.Set(catchingUp);
    }

    public void Commit(bool ok) => _commits.WithLabels(ok ? "ok" : "failed").Inc();

    public void Rebalance(string kind, int partitions) => _rebalances.WithLabels(kind).Inc(partitions);

    public void DecisionProduced(bool ok) => _decisions.WithLabels(ok ? "ok" : "failed").Inc();

    public void TakenOver() => _takeovers.Inc();
}
