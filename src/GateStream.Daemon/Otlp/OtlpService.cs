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
        return Decode(context.PayloadAsReadOnlySequence(), traces);
    }

    /// <summary>Decodes an export request's protobuf bytes into a pooled export (return it through <see cref="ExportAsync"/>).</summary>
    public OtlpExport Decode(System.Buffers.ReadOnlySequence<byte> payload, bool traces)
    {
        var export = _exports.Rent();
        var decoder = _decoders.Rent();
        try
        {
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
            ArgumentNullException.ThrowIfNull(context);
            var result = await ApplyAsync(export, context.Peer, traces: true, context.CancellationToken).ConfigureAwait(false);
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
            ArgumentNullException.ThrowIfNull(context);
            var result = await ApplyAsync(export, context.Peer, traces: false, context.CancellationToken).ConfigureAwait(false);
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

    /// <summary>
    /// For the OTLP/HTTP receiver: applies a decoded export and returns it to the pool. The result's
    /// <see cref="OtlpDecodeResult.Malformed"/> means nothing was applied (the caller answers 400).
    /// </summary>
    public async ValueTask<OtlpDecodeResult> ExportAsync(OtlpExport export, string peer, bool traces, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(export);
        try
        {
            if (export.Result.Malformed)
            {
                ReportMalformed(export.Result.ErrorMessage ?? "malformed request", peer);
                return export.Result;
            }

            return await ApplyAsync(export, peer, traces, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _exports.Return(export);
        }
    }

    /// <summary>Counts and logs (rate-limited) a request refused whole, e.g. by the OTLP/HTTP receiver before decoding.</summary>
    public string ReportMalformed(string message, string peer)
    {
        _metrics.DecodeError(Source);
        DaemonLog.BadInput(_logger, Source, peer, message);
        return message;
    }

    private async ValueTask<OtlpDecodeResult> ApplyAsync(OtlpExport export, string peer, bool traces, CancellationToken cancellationToken)
    {
        var result = export.Result;
        if (result.Malformed)
        {
            // Not retryable: the same bytes would fail the same way.
            throw new RpcException(new Status(StatusCode.InvalidArgument, ReportMalformed(result.ErrorMessage ?? "malformed request", peer)));
        }

        if (result.ErrorMessage is { } problem)
        {
            _metrics.DecodeError(Source);
            DaemonLog.BadInput(_logger, Source, peer, problem);
        }

        if (traces && result.Accepted > 0)
        {
            _metrics.EventsReceived(Source, result.Accepted);
        }

        var refused = await export.Batches.PostToAsync(_engine.Ingest, cancellationToken).ConfigureAwait(false);
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
