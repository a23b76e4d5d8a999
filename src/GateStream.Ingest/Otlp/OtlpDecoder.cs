using System.Buffers;
using System.Text;
using System.Text.Unicode;
using GateStream.Core.Events;
using GateStream.Ingest.Internal;

namespace GateStream.Ingest.Otlp;

/// <summary>
/// Reads OTLP export requests (<c>ExportTraceServiceRequest</c>, <c>ExportMetricsServiceRequest</c>) straight from their
/// protobuf bytes into pooled Core batches, reading only what GateStream uses and skipping the rest.
/// </summary>
/// <remarks>
/// <para>All or nothing per request: batches are held until the whole request has been read, then posted to the sink;
/// a malformed request posts nothing and reports what was wrong and at which byte. Items that are well-formed but
/// unusable (a resource without the deployment or version attribute, a span with no end time) are counted as rejected
/// and the first such problem is described, as OTLP's partial success wants.</para>
/// <para>Steady state allocates nothing: batches come from the pools, keys and names are copied into them, and the only
/// scratch is this instance's. Not thread-safe: one decoder per thread, or pooled.</para>
/// </remarks>
public sealed partial class OtlpDecoder
{
    private const string TraceRequest = "ExportTraceServiceRequest";
    private const string MetricsRequest = "ExportMetricsServiceRequest";

    private readonly OtlpOptions _options;
    private readonly BatchPool<EventBatch> _eventPool;
    private readonly BatchPool<MetricSampleBatch> _metricPool;
    private readonly byte[] _deploymentKey;
    private readonly byte[] _versionKey;
    private readonly byte[][] _statusKeys;
    private readonly uint _spanKinds;
    private readonly byte[] _nameScratch;
    private readonly List<EventBatch> _pendingEvents = [];
    private readonly List<MetricSampleBatch> _pendingMetrics = [];

    private WireError _error;
    private EventBatch? _events;
    private MetricSampleBatch? _metrics;
    private long _accepted;
    private long _rejected;
    private long _ignored;
    private string? _problem;
    private int _resourceIndex;

    public OtlpDecoder(OtlpOptions options, BatchPool<EventBatch> eventPool, BatchPool<MetricSampleBatch> metricPool)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.EnsureValid();
        _options = options;
        _eventPool = eventPool ?? throw new ArgumentNullException(nameof(eventPool));
        _metricPool = metricPool ?? throw new ArgumentNullException(nameof(metricPool));
        _deploymentKey = Encoding.UTF8.GetBytes(options.DeploymentAttribute);
        _versionKey = Encoding.UTF8.GetBytes(options.VersionAttribute);
        _statusKeys = [.. options.StatusAttributes.Select(Encoding.UTF8.GetBytes)];
        _spanKinds = (uint)options.SpanKinds;
        _nameScratch = new byte[options.MaxSignalNameBytes];
    }

    public OtlpOptions Options => _options;

    /// <summary>Decodes an <c>ExportTraceServiceRequest</c>: one request event per span of a configured kind.</summary>
    /// <returns>False when the bytes are malformed (then nothing was posted).</returns>
    public bool TryDecodeTraces(ReadOnlySpan<byte> request, IBatchSink sink, out OtlpDecodeResult result) =>
        TryDecode(request, traces: true, sink, out result);

    /// <inheritdoc cref="TryDecodeTraces(ReadOnlySpan{byte}, IBatchSink, out OtlpDecodeResult)"/>
    public bool TryDecodeTraces(in ReadOnlySequence<byte> request, IBatchSink sink, out OtlpDecodeResult result) =>
        TryDecode(request, traces: true, sink, out result);

    /// <summary>Decodes an <c>ExportMetricsServiceRequest</c>: metric data points become named signal samples.</summary>
    /// <returns>False when the bytes are malformed (then nothing was posted).</returns>
    public bool TryDecodeMetrics(ReadOnlySpan<byte> request, IBatchSink sink, out OtlpDecodeResult result) =>
        TryDecode(request, traces: false, sink, out result);

    /// <inheritdoc cref="TryDecodeMetrics(ReadOnlySpan{byte}, IBatchSink, out OtlpDecodeResult)"/>
    public bool TryDecodeMetrics(in ReadOnlySequence<byte> request, IBatchSink sink, out OtlpDecodeResult result) =>
        TryDecode(request, traces: false, sink, out result);

    private bool TryDecode(in ReadOnlySequence<byte> request, bool traces, IBatchSink sink, out OtlpDecodeResult result)
    {
        if (request.IsSingleSegment)
        {
            return TryDecode(request.FirstSpan, traces, sink, out result);
        }

        if (request.Length > Array.MaxLength)
        {
            result = new OtlpDecodeResult(0, 0, 0, $"malformed {(traces ? TraceRequest : MetricsRequest)}: {request.Length} bytes is more than can be read", Malformed: true);
            return false;
        }

        // The reader wants contiguous bytes; a request split over pipe segments is copied once.
        var length = (int)request.Length;
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            request.CopyTo(buffer);
            return TryDecode(buffer.AsSpan(0, length), traces, sink, out result);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private bool TryDecode(ReadOnlySpan<byte> request, bool traces, IBatchSink sink, out OtlpDecodeResult result)
    {
        ArgumentNullException.ThrowIfNull(sink);
        Reset();
        var name = traces ? TraceRequest : MetricsRequest;
        bool ok;
        string? failure = null;
        try
        {
            ok = DecodeRequest(request, traces);
        }
#pragma warning disable CA1031 // A bug in the reader must not take the receiver down: the request is refused instead.
        catch (Exception e) when (e is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            ok = false;
            failure = $"malformed {name}: the decoder failed ({e.GetType().Name}: {e.Message})";
        }

        if (!ok)
        {
            Discard();
            result = new OtlpDecodeResult(0, 0, 0, failure ?? _error.Describe(name), Malformed: true);
            return false;
        }

        FlushEvents();
        FlushMetrics();
        try
        {
            foreach (var batch in _pendingEvents)
            {
                Complete(sink.PostAsync(batch, CancellationToken.None));
            }

            foreach (var batch in _pendingMetrics)
            {
                Complete(sink.PostAsync(batch, CancellationToken.None));
            }
        }
        finally
        {
            _pendingEvents.Clear();
            _pendingMetrics.Clear();
        }

        result = new OtlpDecodeResult(_accepted, _rejected, _ignored, _problem);
        return true;
    }

    /// <summary>An export request: its resources (<c>ResourceSpans</c> or <c>ResourceMetrics</c>) one by one.</summary>
    private bool DecodeRequest(ReadOnlySpan<byte> request, bool traces)
    {
        var reader = new WireReader(request, 0, traces ? TraceRequest : MetricsRequest, ref _error);
        while (reader.TryReadNext(1, traces ? "resource_spans" : "resource_metrics", out var resource, out var origin))
        {
            if (!DecodeResource(resource, origin, traces))
            {
                return false;
            }

            _resourceIndex++;
        }

        return !reader.Failed;
    }

    /// <summary>One <c>ResourceSpans</c> or <c>ResourceMetrics</c>: its key from the resource, then its scopes.</summary>
    private bool DecodeResource(ReadOnlySpan<byte> data, int origin, bool traces)
    {
        // The resource may follow its spans or metrics on the wire: find it first, then read the scopes.
        var key = default(ResourceKey);
        var message = traces ? "ResourceSpans" : "ResourceMetrics";
        var reader = new WireReader(data, origin, message, ref _error);
        while (reader.TryReadNext(1, "resource", out var resource, out var resourceOrigin))
        {
            if (!ReadResource(resource, resourceOrigin, ref key))
            {
                return false;
            }
        }

        if (reader.Failed)
        {
            return false;
        }

        var check = Check(ref key);
        long refused = 0;
        reader = new WireReader(data, origin, message, ref _error);
        while (reader.TryReadNext(2, traces ? "scope_spans" : "scope_metrics", out var scope, out var scopeOrigin))
        {
            if (!(traces
                ? DecodeScopeSpans(scope, scopeOrigin, ref key, check.Ok, ref refused)
                : DecodeScopeMetrics(scope, scopeOrigin, ref key, check.Ok, ref refused)))
            {
                return false;
            }
        }

        if (reader.Failed)
        {
            return false;
        }

        // One batch per resource (split only past the batch size limit); the next resource starts its own.
        if (traces)
        {
            FlushEvents();
        }
        else
        {
            FlushMetrics();
        }

        if (refused > 0)
        {
            _rejected += refused;
            NoteResourceProblem(traces ? "resource_spans" : "resource_metrics", ref key, check, refused, traces ? "spans" : "data points");
        }

        return true;
    }

    private void Reset()
    {
        _error = default;
        _accepted = 0;
        _rejected = 0;
        _ignored = 0;
        _problem = null;
        _resourceIndex = 0;
        Discard();
    }

    private void Discard()
    {
        FlushEvents();
        FlushMetrics();
        foreach (var batch in _pendingEvents)
        {
            _eventPool.Return(batch);
        }

        foreach (var batch in _pendingMetrics)
        {
            _metricPool.Return(batch);
        }

        _pendingEvents.Clear();
        _pendingMetrics.Clear();
    }

    private EventBatch EventBatchFor(scoped ref ResourceKey key)
    {
        if (_events is { } current)
        {
            if (current.Count < _options.MaxEventsPerBatch)
            {
                return current;
            }

            FlushEvents();
        }

        var batch = _eventPool.Rent();
        batch.Key.Set(key.Deployment, key.Version);
        batch.Source = _options.Source;
        _events = batch;
        return batch;
    }

    private MetricSampleBatch MetricBatchFor(scoped ref ResourceKey key)
    {
        if (_metrics is { } current)
        {
            if (current.Count < _options.MaxEventsPerBatch)
            {
                return current;
            }

            FlushMetrics();
        }

        var batch = _metricPool.Rent();
        batch.Key.Set(key.Deployment, key.Version);
        batch.Source = _options.Source;
        _metrics = batch;
        return batch;
    }

    private void FlushEvents()
    {
        if (_events is { } batch)
        {
            _pendingEvents.Add(batch);
            _events = null;
        }
    }

    private void FlushMetrics()
    {
        if (_metrics is { } batch)
        {
            _pendingMetrics.Add(batch);
            _metrics = null;
        }
    }

    /// <summary>Keeps the first problem only: a flood of bad items costs one message, not one each.</summary>
    private bool WantsProblem => _problem is null;

    private void NoteProblem(string problem) => _problem ??= problem;

    private static string Printable(ReadOnlySpan<byte> utf8, int max = 64)
    {
        var text = Encoding.UTF8.GetString(utf8.Length > max ? utf8[..max] : utf8);
        return utf8.Length > max ? text + "…" : text;
    }

    private static bool IsCleanUtf8(ReadOnlySpan<byte> value) =>
        Utf8.IsValid(value) && value.IndexOfAnyInRange((byte)0, (byte)31) < 0;

    // The decoder is synchronous: staging sinks complete at once; one that has to wait blocks this thread.
    private static void Complete(ValueTask post)
    {
        if (post.IsCompletedSuccessfully)
        {
            post.GetAwaiter().GetResult();
        }
        else
        {
            post.AsTask().GetAwaiter().GetResult();
        }
    }
}
