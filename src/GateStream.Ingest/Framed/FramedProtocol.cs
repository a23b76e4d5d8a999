using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using GateStream.Contracts.Framed;
using GateStream.Ingest.Native;

namespace GateStream.Ingest.Framed;

/// <summary>Frame types of the framed protocol (the first byte of every frame). See docs/framed-protocol.md.</summary>
public enum FrameType : byte
{
    /// <summary>Client to server: u64 LE sequence, then a serialized <c>gatestream.v1.PushRequest</c>.</summary>
    Data = FramedWire.Data,

    /// <summary>Server to client: u64 sequence, u32 accepted events, u32 rejected events, u32 accepted samples, u32 rejected samples, optional UTF-8 reason.</summary>
    Ack = FramedWire.Ack,

    /// <summary>Server to client: u32 <see cref="FramedErrorCode"/>, UTF-8 message. The server closes the connection after it.</summary>
    Error = FramedWire.Error,

    /// <summary>Client to server: 0 to 8 opaque bytes, echoed in a <see cref="Pong"/>.</summary>
    Ping = FramedWire.Ping,

    /// <summary>Server to client: the payload of the <see cref="Ping"/> it answers.</summary>
    Pong = FramedWire.Pong,
}

/// <summary>The code in an ERROR frame: why the server is closing the connection. Values are the wire contract.</summary>
public enum FramedErrorCode : uint
{
    /// <summary>The connection did not start with the 4 ASCII bytes <c>GSF1</c>.</summary>
    BadMagic = 1,

    /// <summary>The client asked for a protocol version this server does not speak.</summary>
    UnsupportedVersion = 2,

    /// <summary>The client set handshake flags this server does not know.</summary>
    UnsupportedFlags = 3,

    /// <summary>A frame type the server does not know, or one only the server sends.</summary>
    UnknownFrameType = 4,

    /// <summary>A frame's payload length is above the maximum announced in the handshake.</summary>
    FrameTooLarge = FramedWire.ErrorFrameTooLarge,

    /// <summary>
    /// A frame whose payload cannot be right for its type (a DATA frame under 8 bytes, a PING over 8), a hello's token
    /// length of 0 or over <see cref="FramedWire.MaxTokenBytes"/>, or a connection closed mid-frame.
    /// </summary>
    MalformedFrame = 6,

    /// <summary>A DATA frame whose PushRequest is not decodable protobuf; nothing of it was applied.</summary>
    MalformedPayload = FramedWire.ErrorMalformedPayload,

    /// <summary>The client did not complete the handshake in time.</summary>
    HandshakeTimeout = 8,

    /// <summary>The server is stopping. Frames not acknowledged were not applied, or were only partly; reconnect later.</summary>
    ShuttingDown = 9,

    /// <summary>A fault in the server. The frame in progress may have been partly applied.</summary>
    InternalError = 10,

    /// <summary>
    /// The server is at a limit: it has as many connections as it takes (sent instead of the handshake reply), or its
    /// memory for partly received frames is in use. Nothing of the frame in progress was applied; retry later.
    /// </summary>
    Overloaded = 11,

    /// <summary>The connection sent nothing for the server's idle timeout after the handshake. Reconnect when there is data.</summary>
    IdleTimeout = 12,

    /// <summary>A frame started but was not received whole within the server's frame timeout; it was not applied.</summary>
    FrameTimeout = 13,

    /// <summary>
    /// The server requires a token (handshake flag <see cref="FramedWire.FlagToken"/>) and none, or one it does not
    /// accept, was sent. Sent instead of the handshake reply.
    /// </summary>
    Unauthenticated = FramedWire.ErrorUnauthenticated,
}

/// <summary>
/// Wire constants and codecs of the framed protocol (version 1): the handshake, the 5-byte frame header and the
/// payloads the server writes. docs/framed-protocol.md is the specification; this is its C# form. The numbers are
/// <see cref="FramedWire"/>'s (in GateStream.Contracts), which the client shares.
/// </summary>
public static class FramedProtocol
{
    /// <summary>The protocol version this code speaks.</summary>
    public const ushort Version = FramedWire.Version;

    /// <summary>Client hello: magic, u16 LE version, u16 LE flags.</summary>
    public const int ClientHelloSize = FramedWire.ClientHelloSize;

    /// <summary>Server hello: magic, u16 LE version accepted, u16 LE reserved (0), u32 LE max frame payload bytes.</summary>
    public const int ServerHelloSize = FramedWire.ServerHelloSize;

    /// <summary>Every frame: u8 type, u32 LE payload length.</summary>
    public const int FrameHeaderSize = FramedWire.FrameHeaderSize;

    /// <summary>The u64 LE sequence at the start of a DATA payload.</summary>
    public const int DataSequenceSize = FramedWire.DataSequenceSize;

    /// <summary>The fixed part of an ACK payload; a UTF-8 reason may follow.</summary>
    public const int AckFixedSize = FramedWire.AckFixedSize;

    /// <summary>Longest PING payload (echoed in the PONG).</summary>
    public const int MaxPingPayload = FramedWire.MaxPingPayload;

    /// <summary>Longest reason the server puts in an ACK or ERROR frame, in UTF-8 bytes.</summary>
    public const int MaxReasonBytes = 1024;

    /// <summary>Default largest frame payload (the length field), 4 MiB.</summary>
    public const int DefaultMaxFramePayloadBytes = FramedWire.DefaultMaxFramePayloadBytes;

    /// <summary>The 4 ASCII bytes every handshake starts with.</summary>
    public static ReadOnlySpan<byte> Magic => FramedWire.Magic;

    /// <summary>Reads a frame header from the first 5 bytes of <paramref name="buffer"/>; false when fewer are there.</summary>
    public static bool TryReadHeader(in ReadOnlySequence<byte> buffer, out byte type, out uint length)
    {
        if (buffer.Length < FrameHeaderSize)
        {
            type = 0;
            length = 0;
            return false;
        }

        Span<byte> header = stackalloc byte[FrameHeaderSize];
        buffer.Slice(0, FrameHeaderSize).CopyTo(header);
        type = header[0];
        length = BinaryPrimitives.ReadUInt32LittleEndian(header[1..]);
        return true;
    }

    /// <summary>Writes a frame header.</summary>
    public static void WriteHeader(Span<byte> destination, FrameType type, int length)
    {
        destination[0] = (byte)type;
        BinaryPrimitives.WriteUInt32LittleEndian(destination[1..], (uint)length);
    }

    /// <summary>Writes the server's handshake reply.</summary>
    public static void WriteServerHello(IBufferWriter<byte> output, ushort version, int maxFramePayloadBytes)
    {
        ArgumentNullException.ThrowIfNull(output);
        var span = output.GetSpan(ServerHelloSize);
        Magic.CopyTo(span);
        BinaryPrimitives.WriteUInt16LittleEndian(span[4..], version);
        BinaryPrimitives.WriteUInt16LittleEndian(span[6..], 0);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], (uint)maxFramePayloadBytes);
        output.Advance(ServerHelloSize);
    }

    /// <summary>Writes an ACK for the DATA frame <paramref name="sequence"/>, with the first rejection's reason when there was one.</summary>
    public static void WriteAck(IBufferWriter<byte> output, ulong sequence, in NativeIngestCounts counts)
    {
        ArgumentNullException.ThrowIfNull(output);
        var reason = counts.FirstProblem;
        var reasonBytes = reason is null ? 0 : Math.Min(Encoding.UTF8.GetByteCount(reason), MaxReasonBytes);
        var span = output.GetSpan(FrameHeaderSize + AckFixedSize + reasonBytes);
        WriteHeader(span, FrameType.Ack, AckFixedSize + reasonBytes);
        var body = span[FrameHeaderSize..];
        BinaryPrimitives.WriteUInt64LittleEndian(body, sequence);
        BinaryPrimitives.WriteUInt32LittleEndian(body[8..], (uint)counts.AcceptedEvents);
        BinaryPrimitives.WriteUInt32LittleEndian(body[12..], (uint)counts.RejectedEvents);
        BinaryPrimitives.WriteUInt32LittleEndian(body[16..], (uint)counts.AcceptedSamples);
        BinaryPrimitives.WriteUInt32LittleEndian(body[20..], (uint)counts.RejectedSamples);
        if (reason is not null)
        {
            WriteTruncatedUtf8(reason, body.Slice(AckFixedSize, reasonBytes));
        }

        output.Advance(FrameHeaderSize + AckFixedSize + reasonBytes);
    }

    /// <summary>Writes an ERROR frame; the message is cut to <see cref="MaxReasonBytes"/> bytes.</summary>
    public static void WriteError(IBufferWriter<byte> output, FramedErrorCode code, string message)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(message);
        var messageBytes = Math.Min(Encoding.UTF8.GetByteCount(message), MaxReasonBytes);
        var span = output.GetSpan(FrameHeaderSize + 4 + messageBytes);
        WriteHeader(span, FrameType.Error, 4 + messageBytes);
        BinaryPrimitives.WriteUInt32LittleEndian(span[FrameHeaderSize..], (uint)code);
        WriteTruncatedUtf8(message, span.Slice(FrameHeaderSize + 4, messageBytes));
        output.Advance(FrameHeaderSize + 4 + messageBytes);
    }

    /// <summary>Writes a PONG echoing a PING's payload.</summary>
    public static void WritePong(IBufferWriter<byte> output, in ReadOnlySequence<byte> pingPayload)
    {
        ArgumentNullException.ThrowIfNull(output);
        var length = (int)pingPayload.Length;
        var span = output.GetSpan(FrameHeaderSize + length);
        WriteHeader(span, FrameType.Pong, length);
        pingPayload.CopyTo(span[FrameHeaderSize..]);
        output.Advance(FrameHeaderSize + length);
    }

    /// <summary>Fills <paramref name="destination"/> with the UTF-8 of <paramref name="text"/>, cut at a character boundary.</summary>
    private static void WriteTruncatedUtf8(string text, Span<byte> destination)
    {
        var encoder = Encoding.UTF8.GetEncoder();
        encoder.Convert(text, destination, flush: true, out _, out var written, out _);
        // A cut inside a multi-byte character leaves a few bytes unused: pad with spaces so the length stays exact.
        destination[written..].Fill((byte)' ');
    }
}
