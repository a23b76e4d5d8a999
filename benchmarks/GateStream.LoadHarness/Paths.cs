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

/// <summary>OTLP/gRPC TraceService/Export: pre-serialized requests of N spans, several calls in flight.</summary>
internal sealed class OtlpPath((string, string)[] keys, int spansPerRequest, int concurrency, string url) : ILoadPath
{
    private byte[][] _requests = [];
    private GrpcChannel? _channel;
    private long _completed;

    public OtlpPath(string url, (string, string)[] keys, int spansPerRequest, int concurrency)
        : this(keys, spansPerRequest, concurrency, url)
    {
    }

    public string Name => "OTLP gRPC";

    public string Description => $"{concurrency} concurrent unary Export calls, {spansPerRequest} SERVER spans per pre-serialized request, {keys.Length} keys";

    public long Completed => Interlocked.Read(ref _completed);

    public Task PrepareAsync()
    {
        var random = new Random(42);
        _requests = [.. keys.Select(k => Workload.OtlpRequest(k, spansPerRequest, random).ToByteArray())];
        _channel = RawGrpc.Channel(url);
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken stop)
    {
        var invoker = _channel!.CreateCallInvoker();
        return Task.WhenAll(Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var i = worker;
            while (!stop.IsCancellationRequested)
            {
                var request = _requests[i++ % _requests.Length];
                try
                {
                    await invoker.AsyncUnaryCall(RawGrpc.OtlpExport, null, default, request);
                }
                catch (RpcException) when (stop.IsCancellationRequested)
                {
                    break;
                }
                Interlocked.Add(ref _completed, spansPerRequest);
            }
        })));
    }

    public ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>IngestService.Push: client-streaming, pre-serialized 1,000-event PushRequests, several streams.</summary>
internal sealed class PushPath((string, string)[] keys, int eventsPerMessage, int streams, string url) : ILoadPath
{
    private byte[][] _messages = [];
    private GrpcChannel? _channel;
    private long _written;
    private long _acknowledged;

    public PushPath(string url, (string, string)[] keys, int eventsPerMessage, int streams)
        : this(keys, eventsPerMessage, streams, url)
    {
    }

    public string Name => "gRPC Push";

    public string Description => $"{streams} client-streaming Push calls, {eventsPerMessage} events per pre-serialized PushRequest, {keys.Length} keys";

    /// <summary>Events written to the streams (flow-controlled by HTTP/2; the daemon reads one message at a time).</summary>
    public long Completed => Interlocked.Read(ref _written);

    public long Acknowledged => Interlocked.Read(ref _acknowledged);

    public Task PrepareAsync()
    {
        var random = new Random(43);
        _messages = [.. keys.Select(k => Workload.PushRequest(k, eventsPerMessage, random).ToByteArray())];
        _channel = RawGrpc.Channel(url);
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken stop)
    {
        var invoker = _channel!.CreateCallInvoker();
        return Task.WhenAll(Enumerable.Range(0, streams).Select(worker => Task.Run(async () =>
        {
            using var call = invoker.AsyncClientStreamingCall(RawGrpc.Push, null, default);
            var i = worker;
            while (!stop.IsCancellationRequested)
            {
                await call.RequestStream.WriteAsync(_messages[i++ % _messages.Length]);
                Interlocked.Add(ref _written, eventsPerMessage);
            }
            await call.RequestStream.CompleteAsync();
            var response = PushResponse.Parser.ParseFrom(await call.ResponseAsync);
            Interlocked.Add(ref _acknowledged, (long)response.AcceptedEvents);
        })));
    }

    public ValueTask DisposeAsync()
    {
        _channel?.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>The framed protocol (docs/framed-protocol.md) on raw sockets: pre-encoded DATA frames, ACKs read concurrently.</summary>
internal sealed class FramedPath((string, string)[] keys, int eventsPerFrame, int connections, int inFlightPerConnection, IPEndPoint endpoint) : ILoadPath
{
    private byte[][] _frames = [];
    private readonly List<Socket> _sockets = [];
    private long _completed;

    public FramedPath(IPEndPoint endpoint, (string, string)[] keys, int eventsPerFrame, int connections, int inFlightPerConnection)
        : this(keys, eventsPerFrame, connections, inFlightPerConnection, endpoint)
    {
    }

    public string Name => "framed TCP";

    public string Description => $"{connections} connections x {inFlightPerConnection} DATA frames in flight, {eventsPerFrame} events per pre-encoded frame, {keys.Length} keys, raw socket";

    /// <summary>Events in ACKs (accepted_events).</summary>
    public long Completed => Interlocked.Read(ref _completed);

    public async Task PrepareAsync()
    {
        var random = new Random(44);
        _frames = [.. keys.Select((k, i) => DataFrame((ulong)i, Workload.PushRequest(k, eventsPerFrame, random)))];
        for (var c = 0; c < connections; c++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(endpoint);
            byte[] hello = [(byte)'G', (byte)'S', (byte)'F', (byte)'1', 1, 0, 0, 0];
            await socket.SendAsync(hello);
            var serverHello = new byte[12];
            await ReceiveExactlyAsync(socket, serverHello, CancellationToken.None);
            if (serverHello[0] != (byte)'G')
            {
                throw new InvalidOperationException($"framed handshake refused: first byte 0x{serverHello[0]:X2}");
            }
            _sockets.Add(socket);
        }
    }

    public Task StartAsync(CancellationToken stop) =>
        Task.WhenAll(_sockets.Select((socket, c) => Task.Run(() => RunConnectionAsync(socket, c, stop))));

    private async Task RunConnectionAsync(Socket socket, int connection, CancellationToken stop)
    {
        using var window = new SemaphoreSlim(inFlightPerConnection);
        long sentFrames = 0;
        var writerDone = false;
        var reader = Task.Run(async () =>
        {
            var header = new byte[5];
            var payload = new byte[1024 + 64];
            long acked = 0;
            while (!(Volatile.Read(ref writerDone) && acked == Interlocked.Read(ref sentFrames)))
            {
                await ReceiveExactlyAsync(socket, header, CancellationToken.None);
                var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(1));
                if (payload.Length < length)
                {
                    payload = new byte[length];
                }
                await ReceiveExactlyAsync(socket, payload.AsMemory(0, length), CancellationToken.None);
                if (header[0] == 3)
                {
                    throw new InvalidOperationException($"framed ERROR {BinaryPrimitives.ReadUInt32LittleEndian(payload)}: {System.Text.Encoding.UTF8.GetString(payload, 4, length - 4)}");
                }
                if (header[0] != 2)
                {
                    continue;
                }
                Interlocked.Add(ref _completed, BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(8)));
                acked++;
                window.Release();
            }
        }, CancellationToken.None);

        var i = connection;
        while (!stop.IsCancellationRequested)
        {
            await window.WaitAsync(CancellationToken.None);
            await socket.SendAsync(_frames[i++ % _frames.Length]);
            Interlocked.Increment(ref sentFrames);
        }
        Volatile.Write(ref writerDone, true);
        if (Interlocked.Read(ref sentFrames) == 0)
        {
            return;
        }
        await reader;
    }

    private static byte[] DataFrame(ulong sequence, PushRequest request)
    {
        var body = request.ToByteArray();
        var frame = new byte[5 + 8 + body.Length];
        frame[0] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(1), (uint)(8 + body.Length));
        BinaryPrimitives.WriteUInt64LittleEndian(frame.AsSpan(5), sequence);
        body.CopyTo(frame.AsSpan(13));
        return frame;
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
