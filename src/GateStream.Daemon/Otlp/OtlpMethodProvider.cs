using GateStream.Daemon.Push;
using Grpc.AspNetCore.Server.Model;
using Grpc.Core;
using Metrics = GateStream.Contracts.Otlp.Collector.Metrics.V1;
using Trace = GateStream.Contracts.Otlp.Collector.Trace.V1;

namespace GateStream.Daemon.Otlp;

/// <summary>
/// Binds the two OTLP Export methods to <see cref="OtlpService"/> with a request marshaller that hands the raw payload
/// (a <see cref="System.Buffers.ReadOnlySequence{T}"/> over the HTTP/2 frames) to the OTLP decoder, instead of parsing
/// the generated request messages. Responses use the generated types.
/// </summary>
internal sealed class OtlpMethodProvider(IServiceProvider services) : IServiceMethodProvider<OtlpService>
{
    private OtlpService? _service;

    // Resolved on the first request, not when endpoints are mapped: building the engine belongs to start-up.
    private OtlpService Service => _service ??= services.GetRequiredService<OtlpService>();

    public void OnServiceMethodDiscovery(ServiceMethodProviderContext<OtlpService> context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var traces = new Method<OtlpExport, Trace.ExportTraceServiceResponse>(
            MethodType.Unary,
            Trace.TraceService.Descriptor.FullName,
            "Export",
            Marshallers.Create(NotSent, c => Service.Decode(c, traces: true)),
            GeneratedMarshaller.For(Trace.ExportTraceServiceResponse.Parser));
        context.AddUnaryMethod(traces, [], static (service, request, call) => service.ExportTracesAsync(request, call));

        var metrics = new Method<OtlpExport, Metrics.ExportMetricsServiceResponse>(
            MethodType.Unary,
            Metrics.MetricsService.Descriptor.FullName,
            "Export",
            Marshallers.Create(NotSent, c => Service.Decode(c, traces: false)),
            GeneratedMarshaller.For(Metrics.ExportMetricsServiceResponse.Parser));
        context.AddUnaryMethod(metrics, [], static (service, request, call) => service.ExportMetricsAsync(request, call));
    }

    private static void NotSent(OtlpExport export, SerializationContext context) =>
        throw new NotSupportedException("OTLP exports are only received here.");
}
