using GateStream.Core.Events;
using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Engine;
using GateStream.Ingest.Otlp;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Metrics = GateStream.Contracts.Otlp.Collector.Metrics.V1;
using Trace = GateStream.Contracts.Otlp.Collector.Trace.V1;

namespace GateStream.Daemon.Otlp;

/// <summary>
/// The OTLP/gRPC receivers, <c>TraceService/Export</c> and <c>MetricsService/Export</c>: a thin adapter. The request
/// marshaller decodes the raw bytes in place (<see cref="Decode"/>, no generated-message parse); the handler posts the
/// batches to the shards and answers with OTLP's partial success when some items were rejected.
/// </summary>
internal sealed class OtlpService
{
    public const string Source = OtlpOptions.DefaultSource;

    // Full success is the common answer: one shared, never-mutated instance each.
    private static readonly Trace.ExportTraceServiceResponse TracesAccepted = new();
    private static readonly Metrics.ExportMetricsServiceResponse MetricsAccepted = new();

    private readonly EngineHost _engine;
    private readonly DaemonMetrics _metrics;
    private readonly ILogger<OtlpService> _logger;
    private readonly BatchPool<OtlpDecoder> _decoders;
    private readonly BatchPool<OtlpExport> _exports;

    public OtlpService(EngineHost engine, IOptions<OtlpSettings> settings, DaemonMetrics metrics, ILogger<OtlpService> logger)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(settings);
        _engine = engine;
        _metrics = metrics;
        _logger = logger;
        var problems = new List<string>();
        var options = settings.Value.ToOptions(problems) with { Source = Source };
        if (problems.Count > 0)
        {
            throw new InvalidOperationException(string.Join(" ", problems));
        }

        var ingest = engine.Ingest;
        // A decoder is held only for the synchronous decode of one request: about one per busy thread.
        _decoders = new BatchPool<OtlpDecoder>(() => new OtlpDecoder(options, ingest.EventPool, ingest.MetricPool), static _ => { }, 4 * Environment.ProcessorCount);
        _exports = new BatchPool<OtlpExport>(() => new OtlpExport(ingest.EventPool, ingest.MetricPool), static e => e.Reset(), 256);
    }

    /// <summary>The request marshaller's deserializer: decodes the payload where it lies into a pooled export.</summary>
    public OtlpExport Decode(DeserializationContext context, bool traces)
    {
        ArgumentNullException.ThrowIfNull(context);
        var export = _exports.Rent();
        var decoder = _decoders.Rent();
        try
        {
            var payload = context.PayloadAsReadOnlySequence();
            OtlpDecodeResult result;
            _ = traces
                ? decoder.TryDecodeTraces(payload, export.Batches, out result)
                : decoder.TryDecodeMetrics(payload, export.Batches, out result);
            export.Result = result;
        }
        finally
        {
            _decoders.Return(decoder);
        }

        return export;
    }

    public async Task<Trace.ExportTraceServiceResponse> ExportTracesAsync(OtlpExport export, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(export);
        try
        {
            var result = await ApplyAsync(export, context, traces: true).ConfigureAwait(false);
            if (result.ErrorMessage is null)
            {
                return TracesAccepted;
            }

            return new Trace.ExportTraceServiceResponse
            {
                PartialSuccess = new Trace.ExportTracePartialSuccess { RejectedSpans = result.Rejected, ErrorMessage = result.ErrorMessage },
            };
        }
        finally
        {
            _exports.Return(export);
        }
    }

    public async Task<Metrics.ExportMetricsServiceResponse> ExportMetricsAsync(OtlpExport export, ServerCallContext context)
    {
        ArgumentNullException.ThrowIfNull(export);
        try
        {
            var result = await ApplyAsync(export, context, traces: false).ConfigureAwait(false);
            if (result.ErrorMessage is null)
            {
                return MetricsAccepted;
            }

            return new Metrics.ExportMetricsServiceResponse
            {
                PartialSuccess = new Metrics.ExportMetricsPartialSuccess { RejectedDataPoints = result.Rejected, ErrorMessage = result.ErrorMessage },
            };
        }
        finally
        {
            _exports.Return(export);
        }
    }

    private async ValueTask<OtlpDecodeResult> ApplyAsync(OtlpExport export, ServerCallContext context, bool traces)
    {
        ArgumentNullException.ThrowIfNull(context);
        var result = export.Result;
        if (result.Malformed)
        {
            // Not retryable: the same bytes would fail the same way.
            var message = result.ErrorMessage ?? "malformed request";
            _metrics.DecodeError(Source);
            DaemonLog.BadInput(_logger, Source, context.Peer, message);
            throw new RpcException(new Status(StatusCode.InvalidArgument, message));
        }

        if (result.ErrorMessage is { } problem)
        {
            _metrics.DecodeError(Source);
            DaemonLog.BadInput(_logger, Source, context.Peer, problem);
        }

        if (traces && result.Accepted > 0)
        {
            _metrics.EventsReceived(Source, result.Accepted);
        }

        var refused = await export.Batches.PostToAsync(_engine.Ingest, context.CancellationToken).ConfigureAwait(false);
        if (refused.FirstProblem is { } why)
        {
            // Refused for the series cap or a budget: a partial success naming it (counted and logged by the engine).
            var rejected = refused.Events + refused.Samples;
            result = result with
            {
                Accepted = result.Accepted - rejected,
                Rejected = result.Rejected + rejected,
                ErrorMessage = result.ErrorMessage is null ? why : $"{result.ErrorMessage}; {why}",
            };
        }

        return result;
    }
}
