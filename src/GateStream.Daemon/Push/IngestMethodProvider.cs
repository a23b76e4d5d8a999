using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Push;

/// <summary>
/// Binds <c>gatestream.v1.IngestService</c> to <see cref="IngestService"/>. Push gets a request marshaller that hands
/// the raw bytes of each <c>PushRequest</c> to the native batch reader (<see cref="PushPayload"/>) instead of parsing
/// the generated message, so a pushed event costs a varint decode, not an object; Tap uses the generated types.
/// </summary>
internal sealed class IngestMethodProvider : IServiceMethodProvider<IngestService>
{
    /// <summary>Registers the service (one instance: its log throttle is shared by every call) and this binding.</summary>
    public static void AddTo(IServiceCollection services)
    {
        services.AddSingleton<IngestService>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IServiceMethodProvider<IngestService>, IngestMethodProvider>());
    }

    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<IngestService> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var service = V1.IngestService.Descriptor.FullName;
        var push = new Method<PushPayload, V1.PushResponse>(
            MethodType.ClientStreaming,
            service,
            "Push",
            Marshallers.Create(NotSent, static c => PushPayload.Copy(c.PayloadAsReadOnlySequence())),
            GeneratedMarshaller.For(V1.PushResponse.Parser));
        context.AddClientStreamingMethod(push, [], static (ingest, requests, call) => ingest.Push(requests, call));

        var tap = new Method<V1.TapRequest, V1.PushRequest>(
            MethodType.ServerStreaming,
            service,
            "Tap",
            GeneratedMarshaller.For(V1.TapRequest.Parser),
            GeneratedMarshaller.For(V1.PushRequest.Parser));
        context.AddServerStreamingMethod(tap, [], static (ingest, request, responses, call) => ingest.Tap(request, responses, call));
    }

    private static void NotSent(PushPayload payload, SerializationContext context) =>
        throw new NotSupportedException("Push requests are only received here.");
}
