using Confluent.Kafka;
using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Kafka;
using Google.Protobuf;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Decisions.Kafka;

/// <summary>
/// Publishes every decision to the decisions topic, keyed by gate id (so a gate's decisions stay in order on one
/// partition), value the <c>gatestream.v1.Decision</c> protobuf. Idempotent producer with acks=all: a decision is
/// neither lost on a broker failover nor written twice by a retry.
/// </summary>
/// <remarks>
/// <see cref="OnDecision"/> is called by the decision hub on shard threads, after the decision is in the local decision
/// log: it only queues (librdkafka sends in the background), so a broker outage never slows evaluation; a decision that
/// cannot be delivered is counted and logged.
/// </remarks>
internal sealed class DecisionsPublisher : IDecisionObserver, IDisposable
{
    private readonly string _topic;
    private readonly IProducer<string, byte[]> _producer;
    private readonly KafkaMetrics _metrics;
    private readonly ILogger _logger;
    private readonly LogThrottle _throttle;
    private readonly Action<DeliveryReport<string, byte[]>> _delivered;

    public DecisionsPublisher(KafkaOptions options, KafkaMetrics metrics, TimeProvider clock, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _topic = options.DecisionsTopic;
        _metrics = metrics;
        _logger = logger;
        _throttle = new LogThrottle(clock, TimeSpan.FromSeconds(10));
        _delivered = OnDelivered;
        var config = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["linger.ms"] = "5",
            ["client.id"] = "gatestream-decisions",
        };
        foreach (var (key, value) in options.Producer)
        {
            config[key] = value;
        }

        config["bootstrap.servers"] = options.BootstrapServers;
        config["enable.idempotence"] = "true";
        config["acks"] = "all";
        try
        {
            _producer = new ProducerBuilder<string, byte[]>(config)
                .SetLogHandler((_, m) => DaemonLog.KafkaClientLog(logger, m.Name, m.Facility, m.Message))
                .SetErrorHandler((_, e) => OnError(e))
                .Build();
        }
        catch (Exception e) when (e is ArgumentException or KafkaException or InvalidOperationException)
        {
            throw new InvalidOperationException($"{KafkaOptions.Section}:Producer: the decisions producer cannot be created: {e.Message}", e);
        }
    }

    public string Topic => _topic;

    public void OnDecision(V1.Decision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        try
        {
            _producer.Produce(_topic, new Message<string, byte[]> { Key = decision.Gate, Value = decision.ToByteArray() }, _delivered);
        }
        catch (Exception e) when (e is KafkaException or InvalidOperationException or ObjectDisposedException)
        {
            // Local queue full, or the producer is closing: the decision is in the log; it is missing from the topic.
            Failed(decision.Gate, e.Message);
        }
    }

    /// <summary>Waits until every queued decision is delivered (or <paramref name="timeout"/> passes).</summary>
    public void Flush(TimeSpan timeout)
    {
        try
        {
            _producer.Flush(timeout);
        }
        catch (KafkaException e)
        {
            DaemonLog.KafkaError(_logger, "flushing the decisions producer: " + e.Message, "");
        }
    }

    public void Dispose()
    {
        Flush(TimeSpan.FromSeconds(10));
        _producer.Dispose();
    }

    private void OnDelivered(DeliveryReport<string, byte[]> report)
    {
        if (report.Error.IsError)
        {
            Failed(report.Key, report.Error.Reason);
        }
        else
        {
            _metrics.DecisionProduced(ok: true);
        }
    }

    private void Failed(string gate, string error)
    {
        _metrics.DecisionProduced(ok: false);
        if (_throttle.ShouldLog(out var suppressed))
        {
            DaemonLog.KafkaDecisionNotPublished(_logger, gate, error, suppressed);
        }
    }

    private void OnError(Error error)
    {
        if (error.IsFatal)
        {
            DaemonLog.KafkaFatal(_logger, "decisions producer: " + error.Reason);
        }
        else if (_throttle.ShouldLog(out var suppressed))
        {
            DaemonLog.KafkaError(_logger, "decisions producer: " + error.Reason, suppressed);
        }
    }
}
