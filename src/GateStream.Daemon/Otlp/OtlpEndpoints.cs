using Grpc.AspNetCore.Server.Model;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace GateStream.Daemon.Otlp;

/// <summary>
/// Puts the OTLP/gRPC receivers on the daemon's gRPC listener:
/// <c>/opentelemetry.proto.collector.trace.v1.TraceService/Export</c> and
/// <c>/opentelemetry.proto.collector.metrics.v1.MetricsService/Export</c>, and the OTLP/HTTP receiver
/// (<see cref="OtlpHttpReceiver"/>) on the HTTP listener; both configured from <c>GateStream:Otlp</c>.
/// </summary>
internal static class OtlpEndpoints
{
    /// <summary>Registers the receivers and binds (and validates at start) the <c>GateStream:Otlp</c> section. Call after <c>AddGrpc</c>.</summary>
    public static IServiceCollection AddOtlp(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<OtlpSettings>()
            .BindConfiguration(OtlpSettings.Section)
            .PostConfigure<IConfiguration>(AddScalarLists)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<OtlpSettings>, OtlpSettingsValidator>();
        services.AddSingleton<OtlpService>();
        services.AddSingleton<OtlpHttpReceiver>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceMethodProvider<OtlpService>, OtlpMethodProvider>());
        return services;
    }

    /// <summary>Maps the two Export methods, and the OTLP/HTTP paths <c>/v1/traces</c> and <c>/v1/metrics</c>.</summary>
    public static IEndpointRouteBuilder MapOtlp(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        endpoints.MapGrpcService<OtlpService>();
        endpoints.MapPost(OtlpHttpReceiver.TracesPath, static (HttpContext context, OtlpHttpReceiver receiver) => receiver.HandleAsync(context, traces: true));
        endpoints.MapPost(OtlpHttpReceiver.MetricsPath, static (HttpContext context, OtlpHttpReceiver receiver) => receiver.HandleAsync(context, traces: false));
        return endpoints;
    }

    // The binder fills a list only from indexed keys (SpanKinds:0); "SpanKinds=server,client" (command line, environment) is one value.
    private static void AddScalarLists(OtlpSettings settings, IConfiguration configuration)
    {
        if (configuration[$"{OtlpSettings.Section}:{nameof(OtlpSettings.SpanKinds)}"] is { Length: > 0 } kinds)
        {
            settings.SpanKinds.Add(kinds);
        }

        if (configuration[$"{OtlpSettings.Section}:{nameof(OtlpSettings.StatusAttributes)}"] is { Length: > 0 } attributes)
        {
            settings.StatusAttributes.Add(attributes);
        }
    }
}
