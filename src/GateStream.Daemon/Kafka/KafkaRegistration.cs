using Microsoft.Extensions.Options;

namespace GateStream.Daemon.Kafka;

/// <summary>Registers the Kafka source (off unless <c>GateStream:Kafka:BootstrapServers</c> is set).</summary>
internal static class KafkaRegistration
{
    /// <summary>Call after the engine's hosted service, so the consumer stops (and commits) before the engine does.</summary>
    public static void AddKafka(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<KafkaOptions>().Bind(configuration.GetSection(KafkaOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<KafkaOptions>, KafkaOptionsValidator>();
        services.AddSingleton<KafkaMetrics>();
        services.AddHostedService<KafkaIngestService>();
    }
}
