using System.Diagnostics;
using System.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace GateStream.Daemon.Tests.Otlp;

/// <summary>
/// A service instrumented with the real OpenTelemetry .NET SDK, exporting over OTLP/gRPC to the daemon: one tracer
/// provider (and meter provider) per service version, as separate processes of two versions would be.
/// </summary>
internal sealed class OtelService : IDisposable
{
    private static int _instances;
    private readonly ActivitySource _source;
    private readonly TracerProvider _tracer;

    /// <param name="headers">The exporter's <c>Headers</c> option (<c>key=value</c>, comma-separated), e.g. an authorization header.</param>
    /// <param name="httpClient">The exporter's <c>HttpClientFactory</c> (TLS trust, client certificates); its default when null.</param>
    /// <param name="protocol">OTLP/gRPC to <paramref name="endpoint"/>, or OTLP/HTTP to its <c>/v1/traces</c> and <c>/v1/metrics</c>.</param>
    public OtelService(Uri endpoint, string service, string version, string? headers = null, Func<HttpClient>? httpClient = null, OtlpExportProtocol protocol = OtlpExportProtocol.Grpc)
    {
        // Set in code, an OTLP/HTTP endpoint is used as given: the signal's path is part of it.
        var traces = protocol == OtlpExportProtocol.HttpProtobuf ? new Uri(endpoint, "/v1/traces") : endpoint;
        var metrics = protocol == OtlpExportProtocol.HttpProtobuf ? new Uri(endpoint, "/v1/metrics") : endpoint;
        // A source per instance: a provider listens to every source of its name, and each version has its own provider.
        var name = $"gatestream.tests.{service}.{version}.{Interlocked.Increment(ref _instances)}";
        _source = new ActivitySource(name);
        Meter = new Meter(name);
        var resource = ResourceBuilder.CreateEmpty().AddService(service, serviceVersion: version);
        _tracer = Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(resource)
            .AddSource(name)
            .AddOtlpExporter(o =>
            {
                o.Endpoint = traces;
                o.Protocol = protocol;
                o.Headers = headers;
                if (httpClient is not null)
                {
                    o.HttpClientFactory = httpClient;
                }
                o.ExportProcessorType = ExportProcessorType.Batch;
                o.BatchExportProcessorOptions = new BatchExportActivityProcessorOptions
                {
                    MaxQueueSize = 100_000,
                    MaxExportBatchSize = 512,
                    ScheduledDelayMilliseconds = 60_000,
                };
            })
            .Build();
        MeterProvider = Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(resource)
            .AddMeter(name)
            .AddOtlpExporter((o, reader) =>
            {
                o.Endpoint = metrics;
                o.Protocol = protocol;
                o.Headers = headers;
                if (httpClient is not null)
                {
                    o.HttpClientFactory = httpClient;
                }
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 60_000;
            })
            .Build();
    }

    public Meter Meter { get; }

    public MeterProvider MeterProvider { get; }

    /// <summary>Records one span that ran from <c>end - latency</c> to <paramref name="end"/>.</summary>
    public void Span(
        DateTimeOffset end,
        TimeSpan latency,
        ActivityKind kind = ActivityKind.Server,
        bool statusError = false,
        int? httpStatus = null,
        string statusAttribute = "http.response.status_code")
    {
        using var activity = _source.StartActivity("GET /orders/{id}", kind, default(ActivityContext), startTime: end - latency)
            ?? throw new InvalidOperationException("the tracer provider is not listening");
        activity.SetTag("http.request.method", "GET");
        activity.SetTag("url.path", "/orders/42");
        if (httpStatus is { } code)
        {
            activity.SetTag(statusAttribute, code);
        }

        if (statusError)
        {
            activity.SetStatus(ActivityStatusCode.Error, "failed");
        }

        activity.SetEndTime(end.UtcDateTime);
    }

    /// <summary>Exports everything recorded so far and waits for the daemon's answer.</summary>
    public void Flush()
    {
        if (!_tracer.ForceFlush(10_000))
        {
            throw new TimeoutException("the span exporter did not flush");
        }
    }

    public void FlushMetrics()
    {
        if (!MeterProvider.ForceFlush(10_000))
        {
            throw new TimeoutException("the metric exporter did not flush");
        }
    }

    public void Dispose()
    {
        _tracer.Dispose();
        MeterProvider.Dispose();
        Meter.Dispose();
        _source.Dispose();
    }
}
