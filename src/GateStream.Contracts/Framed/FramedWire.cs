namespace GateStream.Contracts.Framed;

/// <summary>
/// The framed protocol's wire constants (version 1; docs/framed-protocol.md is the specification), declared once for
/// both ends: the server in GateStream.Ingest and the client in GateStream.Client. They live here, beside the
/// generated contracts, because the Contracts project is the one both already reference: the client must not depend
/// on the ingest library (and through it on Core and Confluent.Kafka) to know a frame type's number.
/// </summary>
public static class FramedWire
{
    /// <summary>The protocol version both ends speak.</summary>
    public const ushort Version = 1;

    /// <summary>Client hello: magic, u16 LE version, u16 LE flags.</summary>
    public const int ClientHelloSize = 8;

    /// <summary>Client hello flag: a token follows the hello (u16 LE length, then that many UTF-8 bytes).</summary>
    public const ushort FlagToken = 0x0001;

    /// <summary>Longest token a client may send in its hello, in bytes.</summary>
    public const int MaxTokenBytes = 1024;

    /// <summary>Server hello: magic, u16 LE version accepted, u16 LE reserved (0), u32 LE max frame payload bytes.</summary>
    public const int ServerHelloSize = 12;

    /// <summary>Every frame: u8 type, u32 LE payload length.</summary>
    public const int FrameHeaderSize = 5;

    /// <summary>The u64 LE sequence at the start of a DATA payload.</summary>
    public const int DataSequenceSize = 8;

    /// <summary>The fixed part of an ACK payload (sequence, four u32 counts); a UTF-8 reason may follow.</summary>
    public const int AckFixedSize = 24;

    /// <summary>Longest PING payload (echoed in the PONG).</summary>
    public const int MaxPingPayload = 8;

    /// <summary>Default largest frame payload (the length field) a server accepts, 4 MiB.</summary>
    public const int DefaultMaxFramePayloadBytes = 4 * 1024 * 1024;

    /// <summary>Frame type DATA (client to server).</summary>
    public const byte Data = 1;

    /// <summary>Frame type ACK (server to client).</summary>
    public const byte Ack = 2;

    /// <summary>Frame type ERROR (server to client; the server closes after it).</summary>
    public const byte Error = 3;

    /// <summary>Frame type PING (client to server).</summary>
    public const byte Ping = 4;

    /// <summary>Frame type PONG (server to client).</summary>
    public const byte Pong = 5;

    /// <summary>ERROR code: the frame's payload length is over the announced maximum.</summary>
    public const uint ErrorFrameTooLarge = 5;

    /// <summary>ERROR code: the DATA frame's PushRequest is not decodable; nothing of it was applied.</summary>
    public const uint ErrorMalformedPayload = 7;

    /// <summary>ERROR code: the server requires a token in the hello and none, or a wrong one, was sent.</summary>
    public const uint ErrorUnauthenticated = 14;

    /// <summary>The 4 ASCII bytes every handshake (client's and server's) starts with.</summary>
    public static ReadOnlySpan<byte> Magic => "GSF1"u8;
}
