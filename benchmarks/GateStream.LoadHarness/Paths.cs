using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using GateStream.Contracts.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace GateStream.LoadHarness;

/// <summary>Raw gRPC methods over pre-serialized bytes: the sender does no protobuf work per call.</summary>
internal static class RawGrpc
{
    private static readonly Marshaller<byte[]> Bytes = Marshallers.Create(static b => b, static b => b);

    public static readonly Method<byte[], byte[]> OtlpExport =
        new(MethodType.Unary, "opentelemetry.proto.collector.trace.v1.TraceService", "Export", Bytes, Bytes);

    public static readonly Method<byte[], byte[]> Push =
        new(MethodType.ClientStreaming, "gatestream.v1.IngestService", "Push", Bytes, Bytes);

    public static GrpcChannel Channel(string url) => GrpcChannel.ForAddress(url, new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
        MaxSendMessageSize = 64 * 1024 * 1024,
    });
}

/// <summary>The keys sender <paramref name="worker"/> of <paramref name="workers"/> owns: it alone restamps and sends their payloads.</summary>
internal static class KeyShare
{
    public static int[] Of(int worker, int workers, int keys) => [.. Enumerable.Range(0, keys).Where(k => k % workers == worker)];
}

/// <summary>OTLP/gRPC TraceService/Export: requests of N spans restamped before each call, several calls in flight.</summary>
internal sealed class OtlpPath((string, string)[] keys, int spansPerRequest, int concurrency, string url) : ILoadPath
{
    private TimedPayload[] _requests = [];
    private GrpcChannel? _channel;
    private long _sent;

    public OtlpPath(string url, (string, string)[] keys, int spansPerRequest, int concurrency)
        : this(keys, spansPerRequest, concurrency, url)
    {
    }

    public string Name => "OTLP gRPC";

    public string Description => $"{concurrency} concurrent unary Export calls, {spansPerRequest} SERVER spans (10 attributes each) per request, {keys.Length} series";

    public long Sent => Interlocked.Read(ref _sent);

    public Task PrepareAsync()
    {
        var random = new Random(42);
        _requests = [.. keys.Select(k => Workload.OtlpPayload(k, spansPerRequest, random))];
        _channel = RawGrpc.Channel(url);
        return Task.CompletedTask;
    }

    public async Task SendOnceAsync(IReadOnlyList<int> keysToSend)
    {
        var invoker = _channel!.CreateCallInvoker();
        foreach (var k in keysToSend)
        {
            _requests[k].Restamp();
            await invoker.AsyncUnaryCall(RawGrpc.OtlpExport, null, default, _requests[k].Bytes);
            Interlocked.Add(ref _sent, spansPerRequest);
        }
    }

    public Task StartAsync(CancellationToken stop)
    {
        var invoker = _channel!.CreateCallInvoker();
        return Task.WhenAll(Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var owned = KeyShare.Of(worker, concurrency, _requests.Length);
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                var request = _requests[owned[i % owned.Length]];
                request.Restamp();
                try
                {
                    await invoker.AsyncUnaryCall(RawGrpc.OtlpExport, null, default, request.Bytes);
                }
                catch (RpcException) when (stop.IsCancellationRequested)
                {
                    break;
                }
                Interlocked.Add(ref _sent, spansPerRequest);
            }
        })));
    }

    public ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>IngestService.Push: client-streaming, 1,000-event PushRequests restamped before each write, several streams.</summary>
internal sealed class PushPath((string, string)[] keys, int eventsPerMessage, int streams, string url) : ILoadPath
{
    private TimedPayload[] _messages = [];
    private GrpcChannel? _channel;
    private long _written;

    public PushPath(string url, (string, string)[] keys, int eventsPerMessage, int streams)
        : this(keys, eventsPerMessage, streams, url)
    {
    }

    public string Name => "gRPC Push";

    public string Description => $"{streams} client-streaming Push calls, {eventsPerMessage} events per PushRequest, {keys.Length} series";

    /// <summary>Events written to the streams (what the daemon applied is read from its counters).</summary>
    public long Sent => Interlocked.Read(ref _written);

    public Task PrepareAsync()
    {
        var random = new Random(43);
        _messages = [.. keys.Select(k => Workload.NativePayload(k, eventsPerMessage, random))];
        _channel = RawGrpc.Channel(url);
        return Task.CompletedTask;
    }

    public async Task SendOnceAsync(IReadOnlyList<int> keysToSend)
    {
        using var call = _channel!.CreateCallInvoker().AsyncClientStreamingCall(RawGrpc.Push, null, default);
        foreach (var k in keysToSend)
        {
            _messages[k].Restamp();
            await call.RequestStream.WriteAsync(_messages[k].Bytes);
            Interlocked.Add(ref _written, eventsPerMessage);
        }
        await call.RequestStream.CompleteAsync();
        await call.ResponseAsync;
    }

    public Task StartAsync(CancellationToken stop)
    {
        var invoker = _channel!.CreateCallInvoker();
        return Task.WhenAll(Enumerable.Range(0, streams).Select(worker => Task.Run(async () =>
        {
            using var call = invoker.AsyncClientStreamingCall(RawGrpc.Push, null, default);
            var owned = KeyShare.Of(worker, streams, _messages.Length);
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                // WriteAsync has copied the message into the stream when it completes, so the bytes may be restamped again.
                var message = _messages[owned[i % owned.Length]];
                message.Restamp();
                await call.RequestStream.WriteAsync(message.Bytes);
                Interlocked.Add(ref _written, eventsPerMessage);
            }
            await call.RequestStream.CompleteAsync();
            await call.ResponseAsync;
        })));
    }

    public ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>The framed protocol (docs/framed-protocol.md) on raw sockets: DATA frames restamped before each send, ACKs read concurrently.</summary>
internal sealed class FramedPath((string, string)[] keys, int eventsPerFrame, int connections, int inFlightPerConnection, IPEndPoint endpoint) : ILoadPath
{
    private const int FrameHeader = 5 + 8;
    private TimedPayload[] _frames = [];
    private readonly List<Socket> _sockets = [];
    private long _sent;

    public FramedPath(IPEndPoint endpoint, (string, string)[] keys, int eventsPerFrame, int connections, int inFlightPerConnection)
        : this(keys, eventsPerFrame, connections, inFlightPerConnection, endpoint)
    {
    }

    public string Name => "framed TCP";

    public string Description => $"{connections} connections x {inFlightPerConnection} DATA frames in flight, {eventsPerFrame} events per frame, {keys.Length} series, raw socket";

    /// <summary>Events in frames sent (what the daemon applied is read from its counters).</summary>
    public long Sent => Interlocked.Read(ref _sent);

    public async Task PrepareAsync()
    {
        var random = new Random(44);
        _frames = new TimedPayload[keys.Length];
        for (var k = 0; k < keys.Length; k++)
        {
            _frames[k] = Frame(keys[k], eventsPerFrame, random, (ulong)k);
        }
        for (var c = 0; c < connections; c++)
        {
            _sockets.Add(await ConnectAsync(endpoint));
        }
    }

    /// <summary>A DATA frame: header (type 1, length, sequence) and a one-batch PushRequest, restampable.</summary>
    public static TimedPayload Frame((string, string) key, int events, Random random, ulong sequence, int? errorsPer1000 = null)
    {
        var frame = Workload.NativePayload(key, events, random, FrameHeader, header =>
        {
            header[0] = 1;
            BinaryPrimitives.WriteUInt64LittleEndian(header[5..], sequence);
        }, errorsPer1000);
        BinaryPrimitives.WriteUInt32LittleEndian(frame.Bytes.AsSpan(1), (uint)(frame.Bytes.Length - 5));
        return frame;
    }

    /// <summary>Connects and completes the framed handshake.</summary>
    public static async Task<Socket> ConnectAsync(IPEndPoint endpoint)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(endpoint);
        byte[] hello = [(byte)'G', (byte)'S', (byte)'F', (byte)'1', 1, 0, 0, 0];
        await socket.SendAsync(hello);
        var serverHello = new byte[12];
        await ReceiveExactlyAsync(socket, serverHello, CancellationToken.None);
        if (serverHello[0] != (byte)'G')
        {
            socket.Dispose();
            throw new InvalidOperationException($"framed handshake refused: first byte 0x{serverHello[0]:X2}");
        }
        return socket;
    }

    public async Task SendOnceAsync(IReadOnlyList<int> keysToSend)
    {
        var socket = _sockets[0];
        var replies = new ReplyReader(socket);
        foreach (var k in keysToSend)
        {
            _frames[k].Restamp();
            await socket.SendAsync(_frames[k].Bytes);
            Interlocked.Add(ref _sent, eventsPerFrame);
            if (!await replies.NextIsAckAsync())
            {
                throw new InvalidOperationException("framed: expected an ACK");
            }
        }
    }

    /// <summary>
    /// Sends each of <paramref name="frames"/> once (restamped), at most <paramref name="window"/> unacknowledged, and
    /// returns when all are acknowledged. Nothing else may use the connection meanwhile.
    /// </summary>
    public static async Task SendRoundAsync(Socket socket, ReplyReader replies, IReadOnlyList<TimedPayload> frames, int window)
    {
        using var slots = new SemaphoreSlim(window);
        using var failed = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            try
            {
                for (var acked = 0; acked < frames.Count;)
                {
                    if (await replies.NextIsAckAsync())
                    {
                        acked++;
                        slots.Release();
                    }
                }
            }
            catch
            {
                await failed.CancelAsync();
                throw;
            }
        }, CancellationToken.None);
        try
        {
            foreach (var frame in frames)
            {
                await slots.WaitAsync(failed.Token);
                frame.Restamp();
                await socket.SendAsync(frame.Bytes);
            }
        }
        catch (OperationCanceledException) when (failed.IsCancellationRequested)
        {
            // The reader failed: its exception is the one to report.
        }
        await reader;
    }

    public Task StartAsync(CancellationToken stop) =>
        Task.WhenAll(_sockets.Select((socket, c) => Task.Run(() => RunConnectionAsync(socket, c, stop))));

    private async Task RunConnectionAsync(Socket socket, int connection, CancellationToken stop)
    {
        // Each key's frame is restamped only after its previous send returned (the kernel has copied it), and only by
        // this connection, which owns the key.
        var owned = KeyShare.Of(connection, connections, _frames.Length);
        using var window = new SemaphoreSlim(inFlightPerConnection);
        long sentFrames = 0;
        var writerDone = false;
        var reader = Task.Run(async () =>
        {
            var replies = new ReplyReader(socket);
            long acked = 0;
            while (!(Volatile.Read(ref writerDone) && acked == Interlocked.Read(ref sentFrames)))
            {
                if (await replies.NextIsAckAsync())
                {
                    acked++;
                    window.Release();
                }
            }
        }, CancellationToken.None);

        for (var i = 0; !stop.IsCancellationRequested; i++)
        {
            await window.WaitAsync(CancellationToken.None);
            var frame = _frames[owned[i % owned.Length]];
            frame.Restamp();
            await socket.SendAsync(frame.Bytes);
            Interlocked.Increment(ref sentFrames);
            Interlocked.Add(ref _sent, eventsPerFrame);
        }
        Volatile.Write(ref writerDone, true);
        if (Interlocked.Read(ref sentFrames) == 0)
        {
            return;
        }
        await reader;
    }

    /// <summary>Reads the server's frames on one connection: ACKs are counted, an ERROR frame throws.</summary>
    public sealed class ReplyReader(Socket socket)
    {
        private readonly byte[] _header = new byte[5];
        private byte[] _payload = new byte[1024 + 64];

        /// <summary>Reads one frame; true when it was an ACK.</summary>
        public async Task<bool> NextIsAckAsync()
        {
            await ReceiveExactlyAsync(socket, _header, CancellationToken.None);
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(1));
            if (_payload.Length < length)
            {
                _payload = new byte[length];
            }
            await ReceiveExactlyAsync(socket, _payload.AsMemory(0, length), CancellationToken.None);
            if (_header[0] == 3)
            {
                throw new InvalidOperationException($"framed ERROR {BinaryPrimitives.ReadUInt32LittleEndian(_payload)}: {System.Text.Encoding.UTF8.GetString(_payload, 4, length - 4)}");
            }
            return _header[0] == 2;
        }
    }

    private static async Task ReceiveExactlyAsync(Socket socket, Memory<byte> buffer, CancellationToken cancel)
    {
        while (buffer.Length > 0)
        {
            var n = await socket.ReceiveAsync(buffer, SocketFlags.None, cancel);
            if (n == 0)
            {
                throw new IOException("the daemon closed the framed connection");
            }
            buffer = buffer[n..];
        }
    }

    public ValueTask DisposeAsync()
    {
        foreach (var socket in _sockets)
        {
            socket.Dispose();
        }
        return ValueTask.CompletedTask;
    }
}
