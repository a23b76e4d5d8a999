using Grpc.Net.Client;
using Microsoft.Extensions.Logging;

namespace GateStream.Client;

/// <summary>How an <see cref="EventSender"/> batches, where it sends, and how much it may hold while it cannot send.</summary>
public sealed class EventSenderOptions
{
    /// <summary>
    /// Where to send. The framed protocol (lowest cost per event): <c>host:port</c> (or <c>tcp://host:port</c>), the
    /// daemon's <c>GateStream:Framed:Endpoint</c>, default <c>127.0.0.1:7317</c>; or <c>unix:/path</c> for a Unix socket.
    /// gRPC <c>IngestService.Push</c>: <c>http://host:port</c> or <c>https://host:port</c> (the daemon's
    /// <c>GateStream:Grpc:Url</c>, default <c>http://127.0.0.1:4317</c>).
    /// </summary>
    public string Endpoint { get; set; } = "127.0.0.1:7317";

    /// <summary>
    /// A series' events are sent as one columnar batch once this many have been recorded for it (or at the next
    /// <see cref="FlushInterval"/>). Default 1000.
    /// </summary>
    public int MaxBatchEvents { get; set; } = 1000;

    /// <summary>Longest time a recorded event waits before its batch is sent. Default 1 s.</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Most events held at once (waiting, being sent, awaiting acknowledgement). When full, the oldest waiting batches
    /// are dropped to make room (see <see cref="EventSender.Dropped"/>). Default 100 000.
    /// </summary>
    public int MaxBufferedEvents { get; set; } = 100_000;

    /// <summary>Largest frame (or gRPC message) built, in bytes; capped by the server's announced maximum. Default 1 MiB.</summary>
    public int MaxFrameBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Frames sent and not yet acknowledged, at most (framed protocol); for gRPC, the number of messages per Push call.
    /// Default 8.
    /// </summary>
    public int MaxFramesInFlight { get; set; } = 8;

    /// <summary>First delay before reconnecting after a failure; doubles (with jitter) up to <see cref="MaxReconnectDelay"/>. Default 100 ms.</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest delay between reconnection attempts. Default 10 s.</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Time allowed for connecting and the handshake. Default 5 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long <see cref="EventSender.DisposeAsync"/> tries to deliver what is still held. Default 5 s.</summary>
    public TimeSpan DisposeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The ingest token, for a daemon that requires one (<c>GateStream:Ingest:TokensFile</c>): sent in the framed
    /// handshake, or as <c>authorization: Bearer</c> metadata on each gRPC Push call. Null (the default): none is sent.
    /// At most 1024 UTF-8 bytes, no control characters or surrounding spaces.
    /// </summary>
    public string? Token { get; set; }

    /// <summary>For gRPC endpoints: options of the channel the sender creates (TLS, handlers ...). Optional.</summary>
    public GrpcChannelOptions? GrpcChannelOptions { get; set; }

    /// <summary>
    /// Framed protocol: a connection with nothing to send for this long sends a PING, so the daemon's idle timeout
    /// (<c>GateStream:Framed:IdleTimeout</c>, 5 minutes by default) does not close it. Default 60 s;
    /// <see cref="Timeout.InfiniteTimeSpan"/> sends none.
    /// </summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Clock for batching and reconnect delays. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where the sender logs connection changes, refusals and drops. Optional.</summary>
    public ILogger? Logger { get; set; }

    internal void EnsureValid()
    {
        var problems = new List<string>();
        if (MaxBatchEvents < 1)
        {
            problems.Add($"MaxBatchEvents must be at least 1 (got {MaxBatchEvents}).");
        }

        if (FlushInterval <= TimeSpan.Zero)
        {
            problems.Add($"FlushInterval must be positive (got {FlushInterval}).");
        }

        if (MaxBufferedEvents < MaxBatchEvents)
        {
            problems.Add($"MaxBufferedEvents ({MaxBufferedEvents}) must be at least MaxBatchEvents ({MaxBatchEvents}).");
        }

        if (MaxFrameBytes < 1024)
        {
            problems.Add($"MaxFrameBytes must be at least 1024 (got {MaxFrameBytes}).");
        }

        if (MaxFramesInFlight < 1)
        {
            problems.Add($"MaxFramesInFlight must be at least 1 (got {MaxFramesInFlight}).");
        }

        if (KeepAliveInterval <= TimeSpan.Zero && KeepAliveInterval != Timeout.InfiniteTimeSpan)
        {
            problems.Add($"KeepAliveInterval must be positive or Timeout.InfiniteTimeSpan (got {KeepAliveInterval}).");
        }

        if (ReconnectDelay <= TimeSpan.Zero || MaxReconnectDelay < ReconnectDelay)
        {
            problems.Add($"ReconnectDelay must be positive and at most MaxReconnectDelay (got {ReconnectDelay} and {MaxReconnectDelay}).");
        }

        if (Token is not null && (Token.Length == 0 || Token.Trim().Length != Token.Length || Token.Any(char.IsControl)
            || System.Text.Encoding.UTF8.GetByteCount(Token) > GateStream.Contracts.Framed.FramedWire.MaxTokenBytes))
        {
            // The token itself is never put in a message.
            problems.Add($"Token must be 1 to {GateStream.Contracts.Framed.FramedWire.MaxTokenBytes} UTF-8 bytes without control characters or surrounding spaces.");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid EventSenderOptions: " + string.Join(" ", problems));
        }
    }
}
