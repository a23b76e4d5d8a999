
namespace GateStream.Daemon.Http;

/// <summary>
/// The JSON API on the HTTP listener (<c>GateStream:Http:Url</c>), under <c>/api/v1</c>, the Flagger webhooks under
/// <c>/flagger</c>, and their OpenAPI document at <c>/openapi/v1.json</c>. Every endpoint is an adapter over what the gRPC services use (gate reads, the decision
/// feed, the override path): it never touches the ingest paths or a shard except through the engine's posted reads.
/// </summary>
internal static class HttpApi
{
    public const string Prefix = "/api/v1";

    public const string OpenApiPath = "/openapi/v1.json";

    public const string LogCategory = "GateStream.Daemon.Http";

    public static IServiceCollection AddHttpApi(this IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOpenApi("v1", options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = "GateStream HTTP API";
            document.Info.Description = "Gate state, the decision log and stream, and overrides. Bodies are gatestream.v1 messages "
                + "(proto/gatestream/v1) in the proto3 JSON mapping, the same messages the gRPC services answer with.";
            return Task.CompletedTask;
        }).AddProtoSchemas());
        // Endpoints take their services as handler parameters, resolved per request: nothing here opens the decision
        // log before the host starts.
        services.AddSingleton(sp => new FlaggerRollouts(
            sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<Options.GateStreamOptions>>().Value.State.Directory,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger(LogCategory)));
        return services;
    }

    public static IEndpointRouteBuilder MapHttpApi(this IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        var api = endpoints.MapGroup(Prefix).WithTags("gatestream.v1");
        GateEndpoints.Map(api);
        DecisionEndpoints.Map(api);
        OverrideEndpoint.Map(api);
        HistoryEndpoints.Map(api);
        FlaggerEndpoints.Map(endpoints);
        endpoints.MapOpenApi(OpenApiPath);
        return endpoints;
    }
}
