using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using GateStream.Contracts.Framed;
using Google.Protobuf;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Client.Internal;

/// <summary>
/// The client side of one framed connection (docs/framed-protocol.md): connect and handshake, write DATA frames, read
/// the server's frames. One writer and one reader may use it concurrently.
/// </summary>
internal sealed class FramedClientConnection : IAsyncDisposable
{
    // The protocol's numbers are declared once, in GateStream.Contracts, for this client and the server.
    public const byte Data = FramedWire.Data;
    public const byte Ack = FramedWire.Ack;
    public const byte Error = FramedWire.Error;
    public const byte Ping = FramedWire.Ping;
    public const byte Pong = FramedWire.Pong;

    /// <summary>Error codes after which the frame the server was reading is at fault: resending it cannot succeed.</summary>
    public const uint FrameTooLarge = FramedWire.ErrorFrameTooLarge;
    public const uint MalformedPayload = FramedWire.ErrorMalformedPayload;

    private const int HeaderSize = FramedWire.FrameHeaderSize;
    private const int SequenceSize = FramedWire.DataSequenceSize;

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly byte[] _header = new byte[HeaderSize];

    private FramedClientConnection(Socket socket, int maxFramePayload)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
        MaxFramePayload = maxFramePayload;
    }

    /// <summary>The largest frame payload the server accepts (from its handshake).</summary>
    public int MaxFramePayload { get; }

    /// <summary>Connects and completes the handshake; <paramref name="token"/>, when set, goes in the hello (flag <see cref="FramedWire.FlagToken"/>).</summary>
    public static async Task<FramedClientConnection> ConnectAsync(EndPoint endpoint, string? token, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        var socket = endpoint is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (endpoint is not UnixDomainSocketEndPoint)
            {
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            }

            await socket.ConnectAsync(endpoint, deadline.Token).ConfigureAwait(false);
            var clientHello = ClientHello(token);
            await socket.SendAsync(clientHello, SocketFlags.None, deadline.Token).ConfigureAwait(false);
            var hello = new byte[FramedWire.ServerHelloSize];

            // The reply is the 12-byte server hello, or an ERROR frame (first byte 3) saying why not.
            await ReceiveExactlyAsync(socket, hello.AsMemory(0, 1), deadline.Token).ConfigureAwait(false);
            if (hello[0] == Error)
            {
                await ReceiveExactlyAsync(socket, hello.AsMemory(1, 4), deadline.Token).ConfigureAwait(false);
                var length = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(hello.AsSpan(1)), 64 * 1024);
                var payload = new byte[length];
                await ReceiveExactlyAsync(socket, payload, deadline.Token).ConfigureAwait(false);
                throw FramedErrorException.From(payload);
            }

            await ReceiveExactlyAsync(socket, hello.AsMemory(1, FramedWire.ServerHelloSize - 1), deadline.Token).ConfigureAwait(false);
            if (!hello.AsSpan(0, 4).SequenceEqual(FramedWire.Magic))
            {
                throw new IOException($"{endpoint} is not a GateStream framed listener (its reply does not start with GSF1)");
            }

            var version = BinaryPrimitives.ReadUInt16LittleEndian(hello.AsSpan(4));
            if (version != FramedWire.Version)
            {
                throw new IOException($"{endpoint} accepted protocol version {version}; this client speaks {FramedWire.Version}");
            }

            var maxFrame = BinaryPrimitives.ReadUInt32LittleEndian(hello.AsSpan(8));
            return new FramedClientConnection(socket, (int)Math.Min(maxFrame, int.MaxValue));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>The client's hello: magic, version, flags, and with a token its u16 LE length and its UTF-8 bytes.</summary>
    private static byte[] ClientHello(string? token)
    {
        var tokenBytes = token is null ? 0 : Encoding.UTF8.GetByteCount(token);
        var hello = new byte[FramedWire.ClientHelloSize + (token is null ? 0 : 2 + tokenBytes)];
        FramedWire.Magic.CopyTo(hello);
        BinaryPrimitives.WriteUInt16LittleEndian(hello.AsSpan(4), FramedWire.Version);
        BinaryPrimitives.WriteUInt16LittleEndian(hello.AsSpan(6), token is null ? (ushort)0 : FramedWire.FlagToken);
        if (token is not null)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(hello.AsSpan(FramedWire.ClientHelloSize), (ushort)tokenBytes);
            Encoding.UTF8.GetBytes(token, hello.AsSpan(FramedWire.ClientHelloSize + 2));
        }

        return hello;
    }

    private static async Task ReceiveExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        while (buffer.Length > 0)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                throw new IOException("the server closed the connection during the handshake");
            }

            buffer = buffer[n..];
        }
    }

    /// <summary>Size of a DATA frame's payload for <paramref name="request"/>.</summary>
    public static int PayloadSize(V1.PushRequest request) => SequenceSize + request.CalculateSize();

    public async ValueTask WriteDataAsync(ulong sequence, V1.PushRequest request, CancellationToken cancellationToken)
    {
        var size = request.CalculateSize();
        var total = HeaderSize + SequenceSize + size;
        var buffer = ArrayPool<byte>.Shared.Rent(total);
        try
        {
            buffer[0] = Data;
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(1), (uint)(SequenceSize + size));
            BinaryPrimitives.WriteUInt64LittleEndian(buffer.AsSpan(HeaderSize), sequence);
            request.WriteTo(buffer.AsSpan(HeaderSize + SequenceSize, size));
            await _stream.WriteAsync(buffer.AsMemory(0, total), cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>A PING with no payload (the server answers PONG); keeps an otherwise quiet connection open.</summary>
    public ValueTask WritePingAsync(CancellationToken cancellationToken)
    {
        var frame = new byte[HeaderSize];
        frame[0] = Ping;
        return _stream.WriteAsync(frame, cancellationToken);
    }

    /// <summary>The server's next frame; throws <see cref="IOException"/> when the connection ends.</summary>
    public async ValueTask<(byte Type, byte[] Payload)> ReadFrameAsync(CancellationToken cancellationToken)
    {
        await _stream.ReadExactlyAsync(_header, cancellationToken).ConfigureAwait(false);
        var length = BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(1));
        if (length > 1024 * 1024)
        {
            throw new IOException($"the server sent a frame of {length} bytes; this client expects small ACK and ERROR frames");
        }

        var payload = new byte[length];
        await _stream.ReadExactlyAsync(payload, cancellationToken).ConfigureAwait(false);
        return (_header[0], payload);
    }

    public ValueTask DisposeAsync()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        return _stream.DisposeAsync();
    }
}

/// <summary>The server ended the connection with an ERROR frame.</summary>
internal sealed class FramedErrorException(uint code, string message) : IOException($"the server refused with ERROR {code}: {message}")
{
    public uint Code { get; } = code;

    public string ServerMessage { get; } = message;

    public static FramedErrorException From(ReadOnlySpan<byte> payload) => payload.Length < 4
        ? new FramedErrorException(0, "(malformed ERROR frame)")
        : new FramedErrorException(BinaryPrimitives.ReadUInt32LittleEndian(payload), Encoding.UTF8.GetString(payload[4..]));
}
