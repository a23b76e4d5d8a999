namespace GateStream.Daemon.Diagnostics;

// The Kafka source's messages. EventIds 1120-1149 (1000-1999 is the daemon's range; see DaemonLog.cs).
internal static partial class DaemonLog
{
    [LoggerMessage(1120, LogLevel.Information, "Kafka consumer in group {Group} on {Brokers}: {Topics}")]
    public static partial void KafkaStarted(ILogger logger, string group, string brokers, string topics);

    [LoggerMessage(1121, LogLevel.Information, "Kafka partition {Topic}[{Partition}] assigned: from offset {Start}, high watermark {High}{CatchingUp}")]
    public static partial void KafkaAssigned(ILogger logger, string topic, int partition, long start, long high, string catchingUp);

    [LoggerMessage(1122, LogLevel.Information, "Kafka partitions {How}: {Partitions}; no longer deciding for {Deployments}")]
    public static partial void KafkaReleased(ILogger logger, string how, string partitions, string deployments);

    [LoggerMessage(1123, LogLevel.Information, "Kafka partition {Topic}[{Partition}] caught up at offset {Offset}: deciding for {Deployments}")]
    public static partial void KafkaCaughtUp(ILogger logger, string topic, int partition, long offset, string deployments);

    [LoggerMessage(1124, LogLevel.Warning, "Kafka message {Topic}[{Partition}]@{Offset} cannot be decoded and was skipped: {Problem}{Suppressed}")]
    public static partial void KafkaUndecodable(ILogger logger, string topic, int partition, long offset, string problem, string suppressed);

    [LoggerMessage(1125, LogLevel.Warning, "Kafka message {Topic}[{Partition}]@{Offset}: {Refused} items refused, the rest applied: {Reason}{Suppressed}")]
    public static partial void KafkaRefused(ILogger logger, string topic, int partition, long offset, long refused, string reason, string suppressed);

    [LoggerMessage(1126, LogLevel.Warning, "Kafka: {Error}{Suppressed}")]
    public static partial void KafkaError(ILogger logger, string error, string suppressed);

    [LoggerMessage(1127, LogLevel.Critical, "Kafka fatal error, the consumer stops: {Error}")]
    public static partial void KafkaFatal(ILogger logger, string error);

    [LoggerMessage(1128, LogLevel.Warning, "Kafka offset commit failed (retried at the next commit): {Error}{Suppressed}")]
    public static partial void KafkaCommitFailed(ILogger logger, string error, string suppressed);

    [LoggerMessage(1129, LogLevel.Information, "Gate {Gate} taken over from the decisions topic in phase {Phase} at weight {Weight}")]
    public static partial void KafkaTakenOver(ILogger logger, string gate, string phase, int weight);

    [LoggerMessage(1130, LogLevel.Warning, "Gate not taken over: {Message}")]
    public static partial void KafkaNotTakenOver(ILogger logger, string message);

    [LoggerMessage(1131, LogLevel.Warning, "Decision for {Gate} not published to Kafka: {Error}{Suppressed}")]
    public static partial void KafkaDecisionNotPublished(ILogger logger, string gate, string error, string suppressed);

    [LoggerMessage(1132, LogLevel.Warning, "Decisions topic {Topic} did not catch up within {Timeout}; gates taken over now may continue from an older decision")]
    public static partial void KafkaDecisionsBehind(ILogger logger, string topic, TimeSpan timeout);

    [LoggerMessage(1133, LogLevel.Debug, "librdkafka {Name} {Facility}: {Message}")]
    public static partial void KafkaClientLog(ILogger logger, string name, string facility, string message);

    [LoggerMessage(1134, LogLevel.Error, "Kafka message {Topic}[{Partition}]@{Offset} could not be applied")]
    public static partial void KafkaApplyFailed(ILogger logger, Exception exception, string topic, int partition, long offset);

    [LoggerMessage(1135, LogLevel.Information, "Another daemon decides for {Deployment} ({Gate}); this daemon leaves it alone until its partition comes here")]
    public static partial void KafkaDecidedElsewhere(ILogger logger, string deployment, string gate);

    [LoggerMessage(1136, LogLevel.Warning, "Decisions topic {Topic} is not readable yet: {Error}; retrying")]
    public static partial void KafkaDecisionsUnavailable(ILogger logger, string topic, string error);

    [LoggerMessage(1137, LogLevel.Information, "Kafka consumer closed; offsets committed")]
    public static partial void KafkaStopped(ILogger logger);
}
