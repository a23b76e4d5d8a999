using GateStream.Ingest.Kafka;
using Microsoft.Extensions.Options;

namespace GateStream.Daemon.Kafka;

/// <summary>Validates <c>GateStream:Kafka</c> at start when Kafka is on; each failure names its key.</summary>
internal sealed class KafkaOptionsValidator : IValidateOptions<KafkaOptions>
{
    private const string Prefix = KafkaOptions.Section + ":";

    public ValidateOptionsResult Validate(string? name, KafkaOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(options.GroupId))
        {
            problems.Add($"{Prefix}GroupId must not be empty.");
        }

        if (options.Topics.Count == 0 && string.IsNullOrWhiteSpace(options.DecisionsTopic))
        {
            problems.Add($"{Prefix}BootstrapServers is set, but neither {Prefix}Topics nor {Prefix}DecisionsTopic is: there is nothing to consume or publish.");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Topics.Count; i++)
        {
            var topic = options.Topics[i];
            var key = $"{Prefix}Topics:{i}";
            if (!IsTopicName(topic.Name))
            {
                problems.Add($"{key}:Name '{topic.Name}' is not a Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -).");
            }
            else if (!names.Add(topic.Name))
            {
                problems.Add($"{key}:Name '{topic.Name}' is listed twice.");
            }

            var encoding = KafkaTopicOptions.ParseEncoding(topic.Encoding);
            if (encoding is null)
            {
                problems.Add($"{key}:Encoding '{topic.Encoding}' must be gatestream, otlp or json.");
            }

            if (KafkaTopicOptions.ParseSignal(topic.Signal) is null)
            {
                problems.Add($"{key}:Signal '{topic.Signal}' must be traces or metrics.");
            }
            else if (!string.IsNullOrWhiteSpace(topic.Signal) && encoding is not null and not KafkaEncoding.Otlp)
            {
                problems.Add($"{key}:Signal applies to otlp topics only (this one is {topic.Encoding}).");
            }
        }

        if (!string.IsNullOrWhiteSpace(options.DecisionsTopic))
        {
            if (!IsTopicName(options.DecisionsTopic))
            {
                problems.Add($"{Prefix}DecisionsTopic '{options.DecisionsTopic}' is not a Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -).");
            }
            else if (names.Contains(options.DecisionsTopic))
            {
                problems.Add($"{Prefix}DecisionsTopic '{options.DecisionsTopic}' is also an input topic.");
            }
        }

        if (options.CommitInterval < TimeSpan.FromMilliseconds(100) || options.CommitInterval > TimeSpan.FromMinutes(5))
        {
            problems.Add($"{Prefix}CommitInterval must be between 100 ms and 5 min (got {options.CommitInterval}).");
        }

        if (options.DecisionsCatchUpTimeout < TimeSpan.Zero || options.DecisionsCatchUpTimeout > TimeSpan.FromMinutes(10))
        {
            problems.Add($"{Prefix}DecisionsCatchUpTimeout must be between 0 and 10 min (got {options.DecisionsCatchUpTimeout}).");
        }

        foreach (var key in options.Consumer.Keys.Where(k => KafkaConsumerDefaults.Reserved.Contains(k)))
        {
            problems.Add($"{Prefix}Consumer:{key} cannot be set: GateStream owns it ({Explain(key)}).");
        }

        foreach (var key in options.Producer.Keys.Where(k => k is "bootstrap.servers" or "enable.idempotence" or "acks"))
        {
            problems.Add($"{Prefix}Producer:{key} cannot be set: the decisions producer is idempotent with acks=all, on {Prefix}BootstrapServers.");
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static string Explain(string key) => key switch
    {
        "bootstrap.servers" => $"use {Prefix}BootstrapServers",
        "group.id" => $"use {Prefix}GroupId",
        _ => "offsets are committed by GateStream only after the events are applied",
    };

    private static bool IsTopicName(string? name) =>
        !string.IsNullOrEmpty(name) && name.Length <= 249 && name is not "." and not ".."
        && name.All(c => c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or (>= '0' and <= '9') or '.' or '_' or '-');
}
