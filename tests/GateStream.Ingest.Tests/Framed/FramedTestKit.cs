using System.Buffers;
using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using GateStream.Core.Events;
using GateStream.Ingest;
using GateStream.Ingest.Framed;
using Google.Protobuf;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Ingest.Tests.Framed;

/// <summary>What the engine received: every batch, copied, in the order posted. Optionally holds posts back.</summary>
internal sealed class RecordingSink : IBatchSink
{
    private readonly ConcurrentQueue<(string Deployment, string Version, int Events, int Samples)> _posted = new();
    private long _events;
    private long _samples;

    public BatchPool<EventBatch> EventPool { get; } = BatchPools.CreateEventPool();

    public BatchPool<MetricSampleBatch> MetricPool { get; } = BatchPools.CreateMetricPool();

    /// <summary>When set, each post waits for a release: the engine is full.</summary>
    public SemaphoreSlim? Gate { get; set; }

    public long Events => Interlocked.Read(ref _events);

    public long Samples => Interlocked.Read(ref _samples);

    public IReadOnlyCollection<(string Deployment, string Version, int Events, int Samples)> Posted => _posted;

    public async ValueTask PostAsync(EventBatch batch, CancellationToken cancellationToken)
    {
        if (Gate is { } gate)
        {
            await gate.WaitAsync(cancellationToken);
        }

        _posted.Enqueue((Encoding.UTF8.GetString(batch.Key.Deployment), Encoding.UTF8.GetString(batch.Key.Version), batch.Count, 0));
        Interlocked.Add(ref _events, batch.Count);
        EventPool.Return(batch);
    }

    public async ValueTask PostAsync(MetricSampleBatch batch, CancellationToken cancellationToken)
    {
        if (Gate is { } gate)
        {
            await gate.WaitAsync(cancellationToken);
        }

        _posted.Enqueue((Encoding.UTF8.GetString(batch.Key.Deployment), Encoding.UTF8.GetString(batch.Key.Version), 0, batch.Count));
        Interlocked.Add(ref _samples, batch.Count);
        MetricPool.Return(batch);
    }
}

/// <summary>Records what the handler reports, as the daemon's logger would.</summary>
internal sealed class RecordingObserver : IFramedIngestObserver
{
    public ConcurrentQueue<(string Peer, FramedErrorCode Code, string Message)> Errors { get; } = new();

    public ConcurrentQueue<(string Peer, FramedCloseReason Reason)> Closed { get; } = new();

    public ConcurrentQueue<Exception> Faults { get; } = new();

    public void OnProtocolError(string peer, FramedErrorCode code, string message) => Errors.Enqueue((peer, code, message));

    public void OnDisconnected(string peer, FramedCloseReason reason) => Closed.Enqueue((peer, reason));

    public void OnFault(string peer, Exception exception) => Faults.Enqueue(exception);
}

internal sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
{
    public PipeReader Input { get; } = input;

    public PipeWriter Output { get; } = output;
}

internal readonly record struct Frame(FrameType Type, byte[] Payload)
{
    public Ack AsAck()
    {
        Assert.Equal(FrameType.Ack, Type);
        var p = Payload.AsSpan();
        return new Ack(
            BinaryPrimitives.ReadUInt64LittleEndian(p),
            BinaryPrimitives.ReadUInt32LittleEndian(p[8..]),
            BinaryPrimitives.ReadUInt32LittleEndian(p[12..]),
            BinaryPrimitives.ReadUInt32LittleEndian(p[16..]),
            BinaryPrimitives.ReadUInt32LittleEndian(p[20..]),
            Encoding.UTF8.GetString(p[24..]));
    }

    public (FramedErrorCode Code, string Message) AsError()
    {
        Assert.Equal(FrameType.Error, Type);
        return ((FramedErrorCode)BinaryPrimitives.ReadUInt32LittleEndian(Payload), Encoding.UTF8.GetString(Payload.AsSpan(4)));
    }
}

internal readonly record struct Ack(ulong Sequence, uint AcceptedEvents, uint RejectedEvents, uint AcceptedSamples, uint RejectedSamples, string Reason);

/// <summary>A raw protocol client for tests: writes exactly the bytes it is told to, reads frames back.</summary>
internal sealed class TestClient(IDuplexPipe pipe) : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    public IDuplexPipe Pipe { get; } = pipe;

    public static byte[] Hello(ushort version = 1, ushort flags = 0)
    {
        var hello = new byte[8];
        "GSF1"u8.CopyTo(hello);
        BinaryPrimitives.WriteUInt16LittleEndian(hello.AsSpan(4), version);
        BinaryPrimitives.WriteUInt16LittleEndian(hello.AsSpan(6), flags);
        return hello;
    }

    public static byte[] FrameBytes(byte type, ReadOnlySpan<byte> payload)
    {
        var frame = new byte[5 + payload.Length];
        frame[0] = type;
        BinaryPrimitives.WriteUInt32LittleEndian(frame.AsSpan(1), (uint)payload.Length);
        payload.CopyTo(frame.AsSpan(5));
        return frame;
    }

    public static byte[] Data(ulong sequence, V1.PushRequest request) => Data(sequence, request.ToByteArray());

    public static byte[] Data(ulong sequence, byte[] pushRequest)
    {
        var payload = new byte[8 + pushRequest.Length];
        BinaryPrimitives.WriteUInt64LittleEndian(payload, sequence);
        pushRequest.CopyTo(payload.AsSpan(8));
        return FrameBytes((byte)FrameType.Data, payload);
    }

    public async Task SendAsync(ReadOnlyMemory<byte> bytes)
    {
        await Pipe.Output.WriteAsync(bytes);
    }

    /// <summary>Sends the hello and reads the server's reply: (version, max frame bytes).</summary>
    public async Task<(ushort Version, uint MaxFrame)> HandshakeAsync()
    {
        await SendAsync(Hello());
        var reply = await ReadExactlyAsync(12);
        Assert.NotNull(reply);
        Assert.Equal("GSF1"u8.ToArray(), reply![..4]);
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(reply.AsSpan(6)));
        return (BinaryPrimitives.ReadUInt16LittleEndian(reply.AsSpan(4)), BinaryPrimitives.ReadUInt32LittleEndian(reply.AsSpan(8)));
    }

    /// <summary>The next frame, or null when the server closed the connection.</summary>
    public async Task<Frame?> ReadFrameAsync()
    {
        var header = await ReadExactlyAsync(5);
        if (header is null)
        {
            return null;
        }

        var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(header.AsSpan(1));
        var payload = length == 0 ? [] : await ReadExactlyAsync(length) ?? throw new InvalidOperationException("closed inside a frame");
        return new Frame((FrameType)header[0], payload);
    }

    public async Task<Ack> ReadAckAsync()
    {
        var frame = await ReadFrameAsync();
        Assert.True(frame.HasValue, "expected an ACK, the server closed the connection");
        if (frame.Value.Type == FrameType.Error)
        {
            Assert.Fail($"expected an ACK, got ERROR {frame.Value.AsError()}");
        }

        return frame.Value.AsAck();
    }

    /// <summary>After sending the hello: null when the server answered with its hello, else the ERROR it sent (then closed).</summary>
    public async Task<(FramedErrorCode Code, string Message)?> ReadFrameOrHelloAsync()
    {
        var first = await ReadExactlyAsync(1);
        Assert.NotNull(first);
        if (first![0] == (byte)'G')
        {
            Assert.NotNull(await ReadExactlyAsync(11));
            return null;
        }

        Assert.Equal((byte)FrameType.Error, first[0]);
        var length = BinaryPrimitives.ReadUInt32LittleEndian(await ReadExactlyAsync(4));
        var error = new Frame(FrameType.Error, await ReadExactlyAsync((int)length) ?? []).AsError();
        Assert.Null(await ReadFrameAsync());
        return error;
    }

    /// <summary>Reads an ERROR frame and then the end of the connection.</summary>
    public async Task<(FramedErrorCode Code, string Message)> ReadErrorAndCloseAsync()
    {
        var frame = await ReadFrameAsync();
        Assert.True(frame.HasValue, "expected an ERROR frame, the server closed the connection");
        var error = frame.Value.AsError();
        Assert.Null(await ReadFrameAsync());
        return error;
    }

    private async Task<byte[]?> ReadExactlyAsync(int count)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        while (true)
        {
            ReadResult result;
            try
            {
                result = await Pipe.Input.ReadAsync(timeout.Token);
            }
            catch (IOException)
            {
                return null; // reset by the server
            }

            var buffer = result.Buffer;
            if (buffer.Length >= count)
            {
                var bytes = buffer.Slice(0, count).ToArray();
                Pipe.Input.AdvanceTo(buffer.GetPosition(count));
                return bytes;
            }

            if (result.IsCompleted)
            {
                Pipe.Input.AdvanceTo(buffer.End);
                if (buffer.Length > 0)
                {
                    throw new InvalidOperationException($"closed after {buffer.Length} of {count} bytes");
                }

                return null;
            }

            Pipe.Input.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Pipe.Output.CompleteAsync();
        await Pipe.Input.CompleteAsync();
    }
}

/// <summary>How a test connects: an in-memory pipe pair, or a real loopback TCP socket.</summary>
internal interface ITestTransport : IAsyncDisposable
{
    Task<TestClient> ConnectAsync();

    /// <summary>Completes when every server-side session has ended.</summary>
    Task SessionsEndedAsync();
}

internal sealed class InMemoryTransport(FramedIngestHandler handler, PipeOptions? options = null, CancellationToken shutdown = default) : ITestTransport
{
    private readonly ConcurrentBag<Task> _sessions = [];

    public Task<TestClient> ConnectAsync()
    {
        var up = new Pipe(options ?? PipeOptions.Default);
        var down = new Pipe(options ?? PipeOptions.Default);
        _sessions.Add(handler.RunAsync(new DuplexPipe(up.Reader, down.Writer), $"memory-{_sessions.Count}", shutdown));
        return Task.FromResult(new TestClient(new DuplexPipe(down.Reader, up.Writer)));
    }

    public Task SessionsEndedAsync() => Task.WhenAll(_sessions);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>A loopback TCP listener running the handler on each accepted socket, as the daemon's Kestrel binding does.</summary>
internal sealed class TcpTransport : ITestTransport
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Task> _sessions = [];
    private readonly ConcurrentBag<Socket> _clients = [];
    private readonly Task _accepting;

    public TcpTransport(FramedIngestHandler handler, CancellationToken shutdown = default)
    {
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(128);
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        var token = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token, shutdown).Token;
        _accepting = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket socket;
                try
                {
                    socket = await _listener.AcceptAsync(_stop.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
                {
                    return;
                }

                _sessions.Add(Task.Run(async () =>
                {
                    var stream = new NetworkStream(socket, ownsSocket: true);
                    await using (stream)
                    {
                        await handler.RunAsync(new DuplexPipe(PipeReader.Create(stream), PipeWriter.Create(stream)), socket.RemoteEndPoint!.ToString()!, token);
                    }
                }, CancellationToken.None));
            }
        }, CancellationToken.None);
    }

    public int Port { get; }

    public async Task<TestClient> ConnectAsync()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, Port));
        _clients.Add(socket);
        var stream = new NetworkStream(socket, ownsSocket: true);
        return new TestClient(new DuplexPipe(PipeReader.Create(stream), PipeWriter.Create(stream)));
    }

    public Task SessionsEndedAsync() => Task.WhenAll(_sessions);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accepting;
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        _stop.Dispose();
    }
}

internal static class Transports
{
    public static ITestTransport Create(string kind, FramedIngestHandler handler, CancellationToken shutdown = default) => kind switch
    {
        "memory" => new InMemoryTransport(handler, shutdown: shutdown),
        "tcp" => new TcpTransport(handler, shutdown),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
