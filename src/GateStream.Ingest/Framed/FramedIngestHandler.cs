using System.IO.Pipelines;

namespace GateStream.Ingest.Framed;

/// <summary>
/// The server side of the framed protocol (docs/framed-protocol.md), independent of the transport: give it each
/// accepted connection as an <see cref="IDuplexPipe"/> (a Kestrel connection, a socket wrapped in pipes, an in-memory
/// pipe pair) and it runs the handshake, decodes DATA frames into batches for the <see cref="IBatchSink"/>, and
/// acknowledges each frame once its batches were handed over.
/// </summary>
/// <remarks>
/// One instance serves any number of concurrent connections; each connection is independent, so bad input on one
/// ends that one only. Backpressure: a connection reads its next frame only after the previous frame's batches were
/// accepted by the sink, so a slow engine fills the transport's buffers and then the sender's socket.
/// </remarks>
public sealed class FramedIngestHandler
{
    /// <param name="sink">Where decoded batches go.</param>
    /// <param name="options">Limits; defaults when null.</param>
    /// <param name="observer">Told about connections, acknowledgements and errors (for logs and metrics); optional.</param>
    public FramedIngestHandler(IBatchSink sink, FramedIngestOptions? options = null, IFramedIngestObserver? observer = null)
    {
        Sink = sink ?? throw new ArgumentNullException(nameof(sink));
        Options = options ?? new FramedIngestOptions();
        var problems = Options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid framed ingest options: " + string.Join(" ", problems), nameof(options));
        }

        Observer = observer ?? NoObserver.Instance;
    }

    /// <summary>The limits in force.</summary>
    public FramedIngestOptions Options { get; }

    /// <summary>Counters over every connection this handler has run.</summary>
    public FramedCounters Counters { get; } = new();

    internal IBatchSink Sink { get; }

    /// <summary>Connections running now, for <see cref="FramedIngestOptions.MaxConnections"/>.</summary>
    private int _running;

    internal bool TryEnter()
    {
        if (Interlocked.Increment(ref _running) <= Options.MaxConnections)
        {
            return true;
        }

        Interlocked.Decrement(ref _running);
        return false;
    }

    internal void Leave() => Interlocked.Decrement(ref _running);

    internal IFramedIngestObserver Observer { get; }

    /// <summary>
    /// Runs one connection until it ends: the client closes it, the server closes it after an ERROR frame, or
    /// <paramref name="cancellationToken"/> fires (shutdown: the frame in progress is abandoned unacknowledged, an ERROR
    /// <see cref="FramedErrorCode.ShuttingDown"/> is sent when possible). Completes both sides of
    /// <paramref name="transport"/>. Never throws because of anything the peer sends or does.
    /// </summary>
    /// <param name="transport">The connection's pipes.</param>
    /// <param name="peer">The peer's address, for logs (e.g. "127.0.0.1:53412" or "unix:/run/gatestream.sock").</param>
    /// <param name="cancellationToken">Fires when the server wants the connection closed.</param>
    public Task RunAsync(IDuplexPipe transport, string peer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(transport);
        return new FramedSession(this, transport, peer ?? "unknown").RunAsync(cancellationToken);
    }

    private sealed class NoObserver : IFramedIngestObserver
    {
        public static readonly NoObserver Instance = new();
    }
}
