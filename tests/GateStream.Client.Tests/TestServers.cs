using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using GateStream.Core.Events;
using GateStream.Ingest;
using GateStream.Ingest.Framed;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Client.Tests;

/// <summary>One decoded event batch as the engine would get it.</summary>
internal sealed record ReceivedBatch(string Deployment, string Version, long[] Times, long[] Latencies, bool[] Errors);

/// <summary>The engine stand-in behind the real framed protocol: records every batch; can be made to hold posts back.</summary>
internal sealed class ColumnSink : IBatchSink
{
    private readonly ConcurrentQueue<ReceivedBatch> _batches = new();
    private long _events;

    public BatchPool<EventBatch> EventPool { get; } = BatchPools.CreateEventPool();

    public BatchPool<MetricSampleBatch> MetricPool { get; } = BatchPools.CreateMetricPool();

    public SemaphoreSlim? Gate { get; set; }

    public long Events => Interlocked.Read(ref _events);

    public IReadOnlyCollection<ReceivedBatch> Batches => _batches;

    public async ValueTask PostAsync(EventBatch batch, CancellationToken cancellationToken)
    {
        if (Gate is { } gate)
        {
            await gate.WaitAsync(cancellationToken);
        }

        _batches.Enqueue(new ReceivedBatch(Encoding.UTF8.GetString(batch.Key.Deployment), Encoding.UTF8.GetString(batch.Key.Version),
            batch.TimesMicros.ToArray(), batch.LatenciesMicros.ToArray(), batch.Errors.ToArray()));
        Interlocked.Add(ref _events, batch.Count);
        EventPool.Return(batch);
    }

    public ValueTask PostAsync(MetricSampleBatch batch, CancellationToken cancellationToken)
    {
        MetricPool.Return(batch);
        return ValueTask.CompletedTask;
    }

    public Task WaitForEventsAsync(long count, TimeSpan? timeout = null) =>
        Eventually.Until(() => Events >= count, timeout, () => $"expected {count} events, got {Events}");
}

/// <summary>A framed listener on loopback TCP or a Unix socket running the real protocol handler; stoppable like a daemon.</summary>
internal sealed class FramedServer : IAsyncDisposable
{
    private readonly Socket _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Socket> _accepted = [];
    private readonly ConcurrentBag<Task> _sessions = [];
    private readonly Task _accepting;

    private FramedServer(Socket listener, string endpoint, ColumnSink sink)
    {
        _listener = listener;
        Endpoint = endpoint;
        Sink = sink;
        Handler = new FramedIngestHandler(sink);
        _accepting = Task.Run(AcceptAsync, CancellationToken.None);
    }

    public string Endpoint { get; }

    public ColumnSink Sink { get; }

    public FramedIngestHandler Handler { get; }

    public static FramedServer StartTcp(int port = 0, ColumnSink? sink = null)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        listener.Listen(64);
        return new FramedServer(listener, $"127.0.0.1:{((IPEndPoint)listener.LocalEndPoint!).Port}", sink ?? new ColumnSink());
    }

    public static FramedServer StartUnix(string path, ColumnSink? sink = null)
    {
        var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(64);
        return new FramedServer(listener, $"unix:{path}", sink ?? new ColumnSink());
    }

    private async Task AcceptAsync()
    {
        while (true)
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

            _accepted.Add(socket);
            _sessions.Add(Task.Run(async () =>
            {
                var stream = new NetworkStream(socket, ownsSocket: true);
                await using (stream)
                {
                    await Handler.RunAsync(new Duplex(PipeReader.Create(stream), PipeWriter.Create(stream)), socket.RemoteEndPoint?.ToString() ?? "unix", _stop.Token);
                }
            }, CancellationToken.None));
        }
    }

    /// <summary>Stops like a daemon going down: no new connections, open ones told ERROR SHUTTING_DOWN and closed.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accepting;
        await Task.WhenAll(_sessions).WaitAsync(TimeSpan.FromSeconds(10));
        foreach (var socket in _accepted)
        {
            socket.Dispose();
        }

        _stop.Dispose();
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}

/// <summary>A Kestrel host (HTTP/2 on loopback) for fake gRPC services.</summary>
internal sealed class GrpcTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GrpcTestHost(WebApplication app, string url)
    {
        _app = app;
        Url = url;
        Channel = GrpcChannel.ForAddress(url);
    }

    public string Url { get; }

    public GrpcChannel Channel { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<GrpcTestHost> StartAsync(Action<IServiceCollection> services, Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0, o => o.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        services(builder.Services);
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new GrpcTestHost(app, address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal));
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>A DecisionService whose Watch calls follow a script, one step per call, recording each request.</summary>
internal sealed class ScriptedDecisions
{
    public delegate Task Step(V1.WatchRequest request, IServerStreamWriter<V1.Decision> stream, ServerCallContext context);

    public ConcurrentQueue<Step> Steps { get; } = new();

    public ConcurrentQueue<V1.WatchRequest> Requests { get; } = new();

    public ulong LastSequence { get; set; }

    public static V1.Decision Decision(ulong sequence) =>
        new() { Sequence = sequence, Gate = "checkout/v2", Deployment = "checkout", CanaryVersion = "v2", Action = V1.Action.Promote, Weight = (uint)Math.Min(100, sequence * 10) };
}

internal sealed class ScriptedDecisionService(ScriptedDecisions script) : V1.DecisionService.DecisionServiceBase
{
    public override async Task Watch(V1.WatchRequest request, IServerStreamWriter<V1.Decision> responseStream, ServerCallContext context)
    {
        script.Requests.Enqueue(request);
        await context.WriteResponseHeadersAsync([]);
        if (!script.Steps.TryDequeue(out var step))
        {
            await Task.Delay(Timeout.Infinite, context.CancellationToken);
            return;
        }

        await step(request, responseStream, context);
    }

    public override Task<V1.ListGatesResponse> ListGates(V1.ListGatesRequest request, ServerCallContext context) =>
        Task.FromResult(new V1.ListGatesResponse { LastSequence = script.LastSequence });
}

/// <summary>An IngestService that counts what it is pushed.</summary>
internal sealed class CountingIngest
{
    private long _events;

    public long Events => Interlocked.Read(ref _events);

    public ConcurrentQueue<V1.EventBatch> Batches { get; } = new();

    public void Add(V1.EventBatch batch)
    {
        Batches.Enqueue(batch);
        Interlocked.Add(ref _events, batch.TimeDeltasMicros.Count);
    }
}

internal sealed class CountingIngestService(CountingIngest ingest) : V1.IngestService.IngestServiceBase
{
    public override async Task<V1.PushResponse> Push(IAsyncStreamReader<V1.PushRequest> requestStream, ServerCallContext context)
    {
        var response = new V1.PushResponse();
        await foreach (var request in requestStream.ReadAllAsync(context.CancellationToken))
        {
            foreach (var batch in request.Events)
            {
                ingest.Add(batch);
                response.AcceptedEvents += (ulong)batch.TimeDeltasMicros.Count;
            }
        }

        return response;
    }
}
