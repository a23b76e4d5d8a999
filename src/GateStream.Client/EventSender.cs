using GateStream.Client.Internal;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace GateStream.Client;

/// <summary>
/// Sends request events to GateStream for exporters and sidecars: <see cref="Record(string, string, DateTimeOffset, TimeSpan, int)"/>
/// each request as it completes; the sender batches them per series (deployment, version) into the native columnar
/// <c>EventBatch</c> (delta-encoded times), and sends the batches in the background over the framed protocol (TCP or a
/// Unix socket, with acknowledgements and a bounded number of frames in flight) or gRPC <c>IngestService.Push</c>.
/// </summary>
/// <remarks>
/// <para>
/// A batch is sent when <see cref="EventSenderOptions.MaxBatchEvents"/> events were recorded for its series, or at the
/// next <see cref="EventSenderOptions.FlushInterval"/>, whichever is first. Batches are packed into frames (several
/// series per frame) up to <see cref="EventSenderOptions.MaxFrameBytes"/>.
/// </para>
/// <para>
/// Delivery is at least once: a batch is held until the server acknowledged it, and a connection that breaks before
/// the acknowledgement sends it again after reconnecting (with exponential backoff), so an event may be counted twice
/// by a daemon that applied it but could not acknowledge it. While disconnected, at most
/// <see cref="EventSenderOptions.MaxBufferedEvents"/> events are held; past that the <b>oldest</b> waiting batches are
/// dropped first (fresh evidence matters more to a gate than old), and counted in <see cref="Dropped"/>.
/// </para>
/// <para>Thread-safe: any number of threads may record concurrently. Recording never blocks on the network.</para>
/// </remarks>
public sealed partial class EventSender : IAsyncDisposable
{
    private readonly EventSenderOptions _options;
    private readonly ClientEndpoint _endpoint;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private readonly GrpcChannel? _channel;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _sending;
    private readonly Task _ticking;

    /// <summary>Starts a sender; it connects in the background and keeps reconnecting until disposed.</summary>
    /// <exception cref="ArgumentException">An option is invalid or the endpoint cannot be parsed.</exception>
    public EventSender(EventSenderOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.EnsureValid();
        _options = options;
        _endpoint = ClientEndpoint.Parse(options.Endpoint);
        _clock = options.TimeProvider ?? TimeProvider.System;
        _logger = options.Logger ?? NullLogger.Instance;
        if (_endpoint.Grpc is { } url)
        {
            _channel = GrpcChannel.ForAddress(url, options.GrpcChannelOptions ?? new GrpcChannelOptions());
        }

        _sending = Task.Run(() => SendLoopAsync(_stop.Token));
        _ticking = Task.Run(() => TickLoopAsync(_stop.Token));
    }

    /// <summary>Events dropped by the sender: the buffer was full, the sender was disposed before they could be delivered, or the server refused their frame as undecodable.</summary>
    public long Dropped => Interlocked.Read(ref _dropped);

    /// <summary>Whether a framed connection is up, or the last gRPC call succeeded.</summary>
    public bool IsConnected => Volatile.Read(ref _connected);

    /// <summary>The last connection or send failure, for diagnostics; null if none yet.</summary>
    public string? LastError => Volatile.Read(ref _lastError);

    /// <summary>The reason the server gave for the last events it refused (e.g. a column-length mismatch); null if none.</summary>
    public string? LastRejection => Volatile.Read(ref _lastRejection);

    /// <summary>A consistent snapshot of the sender's counters.</summary>
    public EventSenderStats Stats
    {
        get
        {
            lock (_lock)
            {
                return new EventSenderStats(_recorded, _acknowledged, _rejected, Interlocked.Read(ref _dropped), _buffered, _inFlight.Count, Volatile.Read(ref _connects));
            }
        }
    }

    /// <summary>Records one request. <paramref name="isError"/> decides whether it counts as an error.</summary>
    /// <param name="deployment">The deployment (the name policies target). Required.</param>
    /// <param name="version">The version that served the request. Required.</param>
    /// <param name="timestamp">When the request happened (its start or end, consistently).</param>
    /// <param name="latency">How long it took; clamped to 0 .. 4294 s.</param>
    /// <param name="isError">Whether the request failed.</param>
    public void Record(string deployment, string version, DateTimeOffset timestamp, TimeSpan latency, bool isError) =>
        Record(deployment, version, ToMicros(timestamp), ToMicros(latency), 0, isError);

    /// <summary>Records one HTTP request: a status code of 500 or more makes it an error.</summary>
    /// <param name="deployment">The deployment (the name policies target). Required.</param>
    /// <param name="version">The version that served the request. Required.</param>
    /// <param name="timestamp">When the request happened.</param>
    /// <param name="latency">How long it took; clamped to 0 .. 4294 s.</param>
    /// <param name="statusCode">The HTTP status code (0 if none).</param>
    public void Record(string deployment, string version, DateTimeOffset timestamp, TimeSpan latency, int statusCode) =>
        Record(deployment, version, ToMicros(timestamp), ToMicros(latency), (uint)Math.Max(0, statusCode), statusCode >= 500);

    /// <summary>Records one request from raw numbers: the form the wire uses.</summary>
    /// <param name="deployment">The deployment. Required.</param>
    /// <param name="version">The version. Required.</param>
    /// <param name="timeUnixMicros">When the request happened, in microseconds since the Unix epoch.</param>
    /// <param name="latencyMicros">Its latency in microseconds.</param>
    /// <param name="statusCode">HTTP status code, 0 if none.</param>
    /// <param name="isError">Whether it failed (independently of the status code).</param>
    public void Record(string deployment, string version, long timeUnixMicros, uint latencyMicros, uint statusCode, bool isError)
    {
        ArgumentException.ThrowIfNullOrEmpty(deployment);
        ArgumentException.ThrowIfNullOrEmpty(version);
        Add(deployment, version, timeUnixMicros, latencyMicros, statusCode, isError);
    }

    /// <summary>
    /// Sends everything recorded before the call now (without waiting for the flush interval) and completes when all
    /// of it was acknowledged by the server, or dropped. While the server is unreachable it keeps waiting: bound it
    /// with <paramref name="cancellationToken"/>.
    /// </summary>
    public Task FlushAsync(CancellationToken cancellationToken = default) => FlushCoreAsync(cancellationToken);

    /// <summary>
    /// Stops recording, tries for <see cref="EventSenderOptions.DisposeTimeout"/> to deliver what is held, then closes
    /// the connection. Events still undelivered are counted in <see cref="Dropped"/>.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        using (var timeout = new CancellationTokenSource(_options.DisposeTimeout))
        {
            try
            {
                await FlushCoreAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(_sending, _ticking).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        DropEverything("the sender was disposed before they were delivered");
        _channel?.Dispose();
        _stop.Dispose();
    }

    private static long ToMicros(DateTimeOffset timestamp) => (timestamp.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    private static uint ToMicros(TimeSpan latency) => (uint)Math.Clamp(latency.Ticks / 10, 0, uint.MaxValue);
}

/// <summary>Counters of an <see cref="EventSender"/>.</summary>
/// <param name="Recorded">Events recorded since the sender started.</param>
/// <param name="Acknowledged">Events the server acknowledged as accepted.</param>
/// <param name="Rejected">Events the server refused (their batch broke a rule; see <see cref="EventSender.LastRejection"/>).</param>
/// <param name="Dropped">Events the sender dropped (see <see cref="EventSender.Dropped"/>).</param>
/// <param name="Buffered">Events held now: waiting, being sent, or awaiting acknowledgement.</param>
/// <param name="FramesInFlight">Frames (or gRPC messages) sent and not yet acknowledged.</param>
/// <param name="Connects">Successful connections (framed) or Push calls (gRPC) so far.</param>
public readonly record struct EventSenderStats(long Recorded, long Acknowledged, long Rejected, long Dropped, long Buffered, int FramesInFlight, long Connects);
