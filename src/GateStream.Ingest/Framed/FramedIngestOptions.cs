namespace GateStream.Ingest.Framed;

/// <summary>Limits of the framed protocol, per connection. The daemon binds them from <c>GateStream:Framed</c>.</summary>
public sealed class FramedIngestOptions
{
    /// <summary>
    /// Largest frame payload (the header's length field) a client may send, announced in the handshake. A bigger
    /// frame gets ERROR <see cref="FramedErrorCode.FrameTooLarge"/>. Default 4 MiB; at least 1 KiB, at most 256 MiB.
    /// </summary>
    public int MaxFrameBytes { get; set; } = FramedProtocol.DefaultMaxFramePayloadBytes;

    /// <summary>Time a new connection has to send its 8-byte hello. Default 10 s.</summary>
    public TimeSpan HandshakeTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Most connections served at once; one more gets ERROR <see cref="FramedErrorCode.Overloaded"/> instead of the
    /// handshake reply and is closed. Default 1024 (the daemon also keeps it below its file-descriptor limit).
    /// </summary>
    public int MaxConnections { get; set; } = DefaultMaxConnections;

    /// <summary>Default of <see cref="MaxConnections"/>.</summary>
    public const int DefaultMaxConnections = 1024;

    /// <summary>
    /// After the handshake, how long a connection may send nothing (between frames) before it is closed with ERROR
    /// <see cref="FramedErrorCode.IdleTimeout"/>. A PING keeps a quiet connection open. Default 5 minutes.
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a frame may take to arrive whole once its first byte came; a slower one (a slowloris sender) is
    /// dropped, its memory released, with ERROR <see cref="FramedErrorCode.FrameTimeout"/>. Default 30 s.
    /// </summary>
    public TimeSpan FrameTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Memory all connections together may hold for large frames still arriving (those copied out of the transport's
    /// buffer, see <see cref="MaxBufferedPartialFrameBytes"/>). A frame that would exceed it gets ERROR
    /// <see cref="FramedErrorCode.Overloaded"/>. Default 256 MiB: 64 frames of the default 4 MiB maximum.
    /// </summary>
    public long MaxPartialFrameMemoryBytes { get; set; } = 256L * 1024 * 1024;

    /// <summary>
    /// A frame not yet complete in the transport's buffer is left there (and parsed in place once whole) up to this
    /// size; a larger one is copied out as it arrives so the transport's buffer never has to hold a whole large frame
    /// (a pipe stops filling at its pause threshold: 64 KiB for a default <c>Pipe</c>). Default 32 KiB.
    /// </summary>
    public int MaxBufferedPartialFrameBytes { get; set; } = 32 * 1024;

    /// <summary>
    /// After an ERROR frame, how long the server keeps reading (and discarding) what the client still sends before it
    /// closes, so the kernel does not reset the connection and lose the ERROR frame before the client reads it.
    /// </summary>
    internal TimeSpan CloseLinger { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// When set, every connection must present a token in its hello that this accepts (checked once, in the handshake);
    /// otherwise it gets ERROR <see cref="FramedErrorCode.Unauthenticated"/>. When null (the default) a token a client
    /// sends is read and ignored.
    /// </summary>
    public IFramedAuthenticator? Authenticator { get; set; }

    /// <summary>Source name of the batches this listener decodes, for the engine's counters and logs. Default "framed".</summary>
    public string Source { get; set; } = "framed";

    /// <summary>Every problem with the values, each naming its property; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (MaxFrameBytes is < 1024 or > 256 * 1024 * 1024)
        {
            problems.Add($"MaxFrameBytes must be between 1024 and 268435456 (got {MaxFrameBytes}).");
        }

        if (HandshakeTimeout <= TimeSpan.Zero)
        {
            problems.Add($"HandshakeTimeout must be positive (got {HandshakeTimeout}).");
        }

        if (MaxConnections < 1)
        {
            problems.Add($"MaxConnections must be at least 1 (got {MaxConnections}).");
        }

        if (IdleTimeout <= TimeSpan.Zero)
        {
            problems.Add($"IdleTimeout must be positive (got {IdleTimeout}).");
        }

        if (FrameTimeout <= TimeSpan.Zero)
        {
            problems.Add($"FrameTimeout must be positive (got {FrameTimeout}).");
        }

        if (MaxPartialFrameMemoryBytes < MaxFrameBytes)
        {
            problems.Add($"MaxPartialFrameMemoryBytes must be at least MaxFrameBytes ({MaxFrameBytes}) (got {MaxPartialFrameMemoryBytes}).");
        }

        if (MaxBufferedPartialFrameBytes < 0)
        {
            problems.Add($"MaxBufferedPartialFrameBytes must not be negative (got {MaxBufferedPartialFrameBytes}).");
        }

        if (string.IsNullOrEmpty(Source))
        {
            problems.Add("Source must be set.");
        }

        return problems;
    }
}
