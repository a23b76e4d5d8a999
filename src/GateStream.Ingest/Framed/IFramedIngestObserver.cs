using GateStream.Ingest.Native;

namespace GateStream.Ingest.Framed;

/// <summary>Why a framed connection ended.</summary>
public enum FramedCloseReason
{
    /// <summary>The client closed its side between frames (the normal end).</summary>
    ClientClosed,

    /// <summary>The server sent an ERROR frame for bad input (see its <see cref="FramedErrorCode"/>) and closed.</summary>
    ProtocolError,

    /// <summary>The server is stopping (ERROR <see cref="FramedErrorCode.ShuttingDown"/> sent when possible).</summary>
    ShuttingDown,

    /// <summary>The connection broke (reset, abort) or the server hit an unexpected fault.</summary>
    TransportFault,
}

/// <summary>
/// Told what happens on framed connections, for logs and metrics (the ingest library has no logging of its own).
/// Called on connection threads, concurrently for different connections: implementations must be cheap, thread-safe
/// and must not throw. Every member has a do-nothing default.
/// </summary>
public interface IFramedIngestObserver
{
    /// <summary>A connection was accepted (before its handshake).</summary>
    void OnConnected(string peer)
    {
    }

    /// <summary>A DATA frame was applied and acknowledged; <paramref name="counts"/> is what its ACK said.</summary>
    void OnFrameAcknowledged(string peer, ulong sequence, in NativeIngestCounts counts)
    {
    }

    /// <summary>The server sent an ERROR frame (bad input, or shutdown) and is closing the connection.</summary>
    void OnProtocolError(string peer, FramedErrorCode code, string message)
    {
    }

    /// <summary>An unexpected exception ended a connection (a transport failure, or a bug).</summary>
    void OnFault(string peer, Exception exception)
    {
    }

    /// <summary>A connection ended.</summary>
    void OnDisconnected(string peer, FramedCloseReason reason)
    {
    }
}
