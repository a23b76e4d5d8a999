using System.Net;
using System.Net.Sockets;
using GateStream.Daemon.Auth;
using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Engine;
using GateStream.Ingest;
using GateStream.Ingest.Framed;
using GateStream.Ingest.Native;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Connections.Features;
using Prometheus;

namespace GateStream.Daemon.Framed;

/// <summary>
/// The framed TCP / Unix-socket listener's Kestrel binding: runs the transport-agnostic protocol
/// (<see cref="FramedIngestHandler"/>) on each accepted connection, posting into the engine's shards, and reports
/// to the daemon's metrics and log. One instance per listener; connections run concurrently.
/// </summary>
internal sealed class FramedConnectionHandler : ConnectionHandler
{
    public const string Source = "framed";

    /// <summary>The configuration section of the listener's limits (besides <c>Endpoint</c>).</summary>
    public const string Section = "GateStream:Framed";

    private readonly FramedIngestHandler _protocol;
    private readonly CancellationToken _stopping;

    public FramedConnectionHandler(EngineHost engine, DaemonMetrics metrics, IConfiguration configuration, IHostApplicationLifetime lifetime,
        IngestAuthentication authentication, ILogger<FramedConnectionHandler> logger)
    {
        ArgumentNullException.ThrowIfNull(engine);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(lifetime);
        ArgumentNullException.ThrowIfNull(authentication);
        var options = BindOptions(configuration);
        options.Authenticator = authentication.Enabled ? authentication : null;
        _protocol = new FramedIngestHandler(new ShardedIngestSink(engine.Ingest), options, new Observer(metrics, logger));
        _stopping = lifetime.ApplicationStopping;
        ExportCounters(metrics.Registry, _protocol.Counters);
    }

    public FramedCounters Counters => _protocol.Counters;

    public FramedIngestOptions Options => _protocol.Options;

    /// <summary>
    /// <c>GateStream:Framed:MaxFrameBytes</c>, <c>:HandshakeTimeout</c>, <c>:IdleTimeout</c>, <c>:FrameTimeout</c>,
    /// <c>:MaxConnections</c> (capped by the file-descriptor limit) and <c>:MaxPartialFrameMemoryBytes</c>; a bad value
    /// stops the daemon naming its key.
    /// </summary>
    public static FramedIngestOptions BindOptions(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(Section);
        var options = new FramedIngestOptions { Source = Source };
        if (section.GetValue<int?>(nameof(FramedIngestOptions.MaxFrameBytes)) is { } maxFrame)
        {
            options.MaxFrameBytes = maxFrame;
        }

        if (section.GetValue<TimeSpan?>(nameof(FramedIngestOptions.HandshakeTimeout)) is { } timeout)
        {
            options.HandshakeTimeout = timeout;
        }

        if (section.GetValue<TimeSpan?>(nameof(FramedIngestOptions.IdleTimeout)) is { } idle)
        {
            options.IdleTimeout = idle;
        }

        if (section.GetValue<TimeSpan?>(nameof(FramedIngestOptions.FrameTimeout)) is { } frame)
        {
            options.FrameTimeout = frame;
        }

        if (section.GetValue<long?>(nameof(FramedIngestOptions.MaxPartialFrameMemoryBytes)) is { } partial)
        {
            options.MaxPartialFrameMemoryBytes = partial;
        }

        // Never more connections than the process has file descriptors for: past it, accept would fail with EMFILE.
        options.MaxConnections = section.GetValue<int?>(nameof(FramedIngestOptions.MaxConnections)) ?? FramedIngestOptions.DefaultMaxConnections;
        if (ListenerLimits.DescriptorBudget() is { } budget && options.MaxConnections > budget)
        {
            options.MaxConnections = budget;
        }

        var problems = options.Validate();
        return problems.Count == 0
            ? options
            : throw new InvalidOperationException(string.Join(" ", problems.Select(p => $"{Section}:{p}")));
    }

    public override async Task OnConnectedAsync(ConnectionContext connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        var closeRequested = connection.Features.Get<IConnectionLifetimeNotificationFeature>()?.ConnectionClosedRequested ?? CancellationToken.None;
        using var shutdown = CancellationTokenSource.CreateLinkedTokenSource(closeRequested, _stopping);
        await _protocol.RunAsync(connection.Transport, Peer(connection), shutdown.Token).ConfigureAwait(false);
    }

    private static string Peer(ConnectionContext connection) => connection.RemoteEndPoint switch
    {
        IPEndPoint ip => ip.ToString(),
        UnixDomainSocketEndPoint => $"{connection.LocalEndPoint} #{connection.ConnectionId}",
        { } other => other.ToString() ?? connection.ConnectionId,
        null => connection.ConnectionId,
    };

    /// <summary>The protocol's counters, copied into Prometheus collectors before each scrape.</summary>
    private static void ExportCounters(CollectorRegistry registry, FramedCounters counters)
    {
        var factory = Metrics.WithCustomRegistry(registry);
        var connections = factory.CreateGauge("gatestream_framed_connections", "Framed connections open now.");
        var opened = factory.CreateCounter("gatestream_framed_connections_total", "Framed connections accepted.");
        var frames = factory.CreateCounter("gatestream_framed_frames_total", "DATA frames received whole.");
        var bytes = factory.CreateCounter("gatestream_framed_received_bytes_total", "Bytes received on framed connections (handshakes and whole frames).");
        var acks = factory.CreateCounter("gatestream_framed_acks_total", "ACK frames sent.");
        var errors = factory.CreateCounter("gatestream_framed_errors_total", "ERROR frames sent (each closes its connection), by code.", "code");
        var faults = factory.CreateCounter("gatestream_framed_transport_faults_total", "Framed connections that broke (reset, abort) or failed.");
        var partial = factory.CreateGauge("gatestream_framed_partial_frame_bytes", "Bytes held now by large frames still arriving (bounded by MaxPartialFrameMemoryBytes).");
        var codes = Enum.GetValues<FramedErrorCode>();
        var labels = codes.Select(ToSnake).ToArray();
        registry.AddBeforeCollectCallback(() =>
        {
            connections.Set(counters.ConnectionsActive);
            opened.IncTo(counters.ConnectionsOpened);
            frames.IncTo(counters.DataFrames);
            bytes.IncTo(counters.BytesReceived);
            acks.IncTo(counters.Acks);
            faults.IncTo(counters.TransportFaults);
            partial.Set(counters.PartialFrameBytes);
            for (var i = 0; i < codes.Length; i++)
            {
                errors.WithLabels(labels[i]).IncTo(counters.Errors(codes[i]));
            }
        });
    }

    private static string ToSnake(FramedErrorCode code) =>
        string.Concat(code.ToString().Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));

    /// <summary>Metrics and logs for what happens on connections. Warnings are limited to one a second per kind (<see cref="BadInputLog"/>).</summary>
    private sealed class Observer(DaemonMetrics metrics, ILogger logger) : IFramedIngestObserver
    {
        // Protocol errors have a budget of their own, so a flood of them cannot hide bad batches (and back).
        private const string ProtocolErrors = "framed-protocol";

        public void OnConnected(string peer) => DaemonLog.FramedConnected(logger, peer);

        public void OnFrameAcknowledged(string peer, ulong sequence, in NativeIngestCounts counts)
        {
            if (counts.AcceptedEvents > 0)
            {
                metrics.EventsReceived(Source, counts.AcceptedEvents);
            }

            for (var i = 0; i < counts.RejectedBatches; i++)
            {
                metrics.DecodeError(Source);
            }

            if (counts.FirstProblem is { } problem)
            {
                DaemonLog.BadInput(logger, Source, peer, $"frame {sequence}: {problem}");
            }
        }

        public void OnProtocolError(string peer, FramedErrorCode code, string message)
        {
            if (code is FramedErrorCode.Unauthenticated)
            {
                return; // counted and logged by the authenticator (gatestream_auth_refused_total), like the gRPC refusals
            }

            if (code is not (FramedErrorCode.ShuttingDown or FramedErrorCode.HandshakeTimeout or FramedErrorCode.InternalError
                or FramedErrorCode.Overloaded or FramedErrorCode.IdleTimeout or FramedErrorCode.FrameTimeout))
            {
                metrics.DecodeError(Source);
            }

            if (BadInputLog.ShouldLog(ProtocolErrors, out var suppressed))
            {
                DaemonLog.FramedProtocolError(logger, LogText.Sanitize(peer, 256), code.ToString(), LogText.Sanitize(message), suppressed);
            }
        }

        public void OnFault(string peer, Exception exception)
        {
            if (exception is IOException or OperationCanceledException or SocketException)
            {
                DaemonLog.FramedConnectionBroke(logger, exception, peer);
            }
            else
            {
                DaemonLog.FramedFault(logger, exception, peer);
            }
        }

        public void OnDisconnected(string peer, FramedCloseReason reason) => DaemonLog.FramedDisconnected(logger, peer, reason.ToString());
    }
}
