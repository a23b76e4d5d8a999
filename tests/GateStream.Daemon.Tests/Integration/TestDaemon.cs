using System.Net;
using System.Net.Sockets;
using GateStream.Daemon.Hosting;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Integration;

/// <summary>
/// A daemon hosted in the test process on real loopback sockets, with its own policy, state and token files.
/// Restartable on the same state directory.
/// </summary>
internal sealed class TestDaemon : IAsyncDisposable
{
    public const string Token = "s3cret-operator-token";

    private WebApplication? _app;

    public TestDaemon(string policyYaml, IDictionary<string, string?>? settings = null)
    {
        Root = Directory.CreateTempSubdirectory("gatestream-test-").FullName;
        Directory.CreateDirectory(PolicyDirectory);
        File.WriteAllText(Path.Combine(PolicyDirectory, "policy.yaml"), policyYaml);
        File.WriteAllText(TokensFile, $"# actor token\nalice {Token}\n");
        Settings = settings ?? new Dictionary<string, string?>();
    }

    public string Root { get; }

    public string PolicyDirectory => Path.Combine(Root, "policies");

    public string StateDirectory => Path.Combine(Root, "state");

    public string TokensFile => Path.Combine(Root, "tokens");

    public IDictionary<string, string?> Settings { get; }

    /// <summary>The running daemon's services (the engine, the hub), for tests that look inside.</summary>
    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("the daemon is not running");

    public int GrpcPort { get; private set; }

    public int HttpPort { get; private set; }

    public GrpcChannel? Channel { get; private set; }

    public V1.DecisionService.DecisionServiceClient Decisions => new(Channel!);

    public V1.ControlService.ControlServiceClient Control => new(Channel!);

    public V1.IngestService.IngestServiceClient Ingest => new(Channel!);

    public static Metadata Bearer(string token = Token) => new() { { "authorization", $"Bearer {token}" } };

    public Task StartAsync() => StartAsync(tls: false);

    /// <summary>Starts with the gRPC URL from <see cref="Settings"/> (an https URL with certificate paths).</summary>
    public Task StartTlsAsync() => StartAsync(tls: true);

    private async Task StartAsync(bool tls)
    {
        GrpcPort = tls && Settings.TryGetValue("GateStream:Grpc:Url", out var url) ? new Uri(url!).Port : FreePort();
        HttpPort = FreePort();
        var args = new Dictionary<string, string?>
        {
            ["GateStream:Grpc:Url"] = $"http://127.0.0.1:{GrpcPort}",
            ["GateStream:Http:Url"] = $"http://127.0.0.1:{HttpPort}",
            ["GateStream:Framed:Endpoint"] = "",
            ["GateStream:Policies:Directory"] = PolicyDirectory,
            ["GateStream:State:Directory"] = StateDirectory,
            ["GateStream:Control:TokensFile"] = TokensFile,
            ["GateStream:Engine:TickInterval"] = "00:00:00.050",
            ["GateStream:Engine:Shards"] = "2",
            ["GateStream:Demo:Enabled"] = "false",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in Settings)
        {
            args[key] = value;
        }

        var app = DaemonApp.Build([.. args.Select(kv => $"--{kv.Key}={kv.Value}")]);
        try
        {
            await app.StartAsync();
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        _app = app;
        Channel = tls ? null : GrpcChannel.ForAddress($"http://127.0.0.1:{GrpcPort}");
    }

    public async Task StopAsync()
    {
        if (_app is null)
        {
            return;
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
        Channel?.Dispose();
        _app = null;
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(Root, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>A native batch of <paramref name="count"/> events ending now, spaced 1 ms apart.</summary>
    public static V1.EventBatch Batch(string deployment, string version, int count, int errorEvery = 0, uint latencyMicros = 2_000)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000;
        var batch = new V1.EventBatch { Deployment = deployment, Version = version, BaseTimeUnixMicros = now - (count * 1_000L) };
        for (var i = 0; i < count; i++)
        {
            batch.TimeDeltasMicros.Add(1_000);
            batch.LatencyMicros.Add(latencyMicros);
            batch.StatusCodes.Add(errorEvery > 0 && i % errorEvery == 0 ? 503u : 200u);
        }

        return batch;
    }

    /// <summary>Opens a Watch and waits until the subscription is live (the server's response headers).</summary>
    public async Task<AsyncServerStreamingCall<V1.Decision>> WatchAsync(V1.WatchRequest request)
    {
        var call = Decisions.Watch(request);
        await call.ResponseHeadersAsync;
        return call;
    }

    public async Task<V1.PushResponse> PushAsync(params V1.EventBatch[] batches)
    {
        using var call = Ingest.Push();
        var request = new V1.PushRequest();
        request.Events.Add(batches);
        await call.RequestStream.WriteAsync(request);
        await call.RequestStream.CompleteAsync();
        return await call;
    }

    /// <summary>A native policy for <paramref name="target"/> with short steps so tests see decisions within seconds.</summary>
    public static string FastPolicy(string target = "checkout", string stepInterval = "1s", string name = "fast", double maxErrorRate = 0.05) => $$"""
        apiVersion: gatestream.io/v1
        kind: GatePolicy
        metadata:
          name: {{name}}
        spec:
          target: {{target}}
          releaseAfter: 2s
          opening: { minRequests: 10 } # tests send a few dozen events per version
          progression: { stepWeight: 25, maxWeight: 75, stepInterval: {{stepInterval}} }
          rules:
            - name: errors
              signal: error-rate
              max: {{maxErrorRate.ToString(System.Globalization.CultureInfo.InvariantCulture)}}
              action: rollback
              minSamples: 10
        """;
}
