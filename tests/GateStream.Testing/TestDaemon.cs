using System.Net;
using System.Text;
using GateStream.Core;
using GateStream.Daemon.Engine;
using GateStream.Daemon.Hosting;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Testing;

/// <summary>
/// The daemon hosted in the test process on real loopback sockets, with its own policy, state and tokens files.
/// Restartable on the same state directory and, when they are still free, the same ports (a watcher resumes across
/// the restart).
/// </summary>
/// <remarks>
/// The gRPC and HTTP listeners get free ports. A listener in <see cref="Settings"/> given port 0
/// (<c>GateStream:Framed:Endpoint = 127.0.0.1:0</c>, <c>GateStream:Grpc:Url = https://127.0.0.1:0</c>) gets one too;
/// the ports chosen are <see cref="GrpcPort"/>, <see cref="HttpPort"/> and <see cref="FramedPort"/> once started.
/// </remarks>
public sealed class TestDaemon : IAsyncDisposable
{
    public const string Token = "s3cret-operator-token";

    private const string GrpcKey = "GateStream:Grpc:Url";
    private const string HttpKey = "GateStream:Http:Url";
    private const string FramedKey = "GateStream:Framed:Endpoint";

    private WebApplication? _app;
    private int[]? _ports;

    public TestDaemon(string policyYaml, IDictionary<string, string?>? settings = null)
    {
        Root = Directory.CreateTempSubdirectory("gatestream-test-").FullName;
        Directory.CreateDirectory(PolicyDirectory);
        File.WriteAllText(PolicyFile, policyYaml);
        File.WriteAllText(TokensFile, $"# actor token\nalice {Token}\n");
        File.WriteAllText(TokenFile, Token + "\n");
        Settings = settings ?? new Dictionary<string, string?>();
    }

    public string Root { get; }

    public string PolicyDirectory => Path.Combine(Root, "policies");

    public string PolicyFile => Path.Combine(PolicyDirectory, "policy.yaml");

    public string StateDirectory => Path.Combine(Root, "state");

    public string TokensFile => Path.Combine(Root, "tokens");

    /// <summary>A file holding just the token, as an operator keeps it for <c>--token-file</c>.</summary>
    public string TokenFile => Path.Combine(Root, "operator-token");

    /// <summary>Configuration on top of the test defaults (later wins), as command-line keys.</summary>
    public IDictionary<string, string?> Settings { get; }

    /// <summary>The running daemon's services (the engine, the hub), for tests that look inside.</summary>
    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("the daemon is not running");

    internal EngineHost Engine => Services.GetRequiredService<EngineHost>();

    public int GrpcPort { get; private set; }

    public int HttpPort { get; private set; }

    /// <summary>The framed listener's port when <see cref="Settings"/> asked for one on port 0; else 0.</summary>
    public int FramedPort { get; private set; }

    /// <summary>The gRPC listener's address, <c>http://127.0.0.1:port</c> (https when configured so).</summary>
    public string Url { get; private set; } = "";

    public Uri GrpcUrl => new(Url);

    public string FramedEndpoint => $"127.0.0.1:{FramedPort}";

    /// <summary>A channel to the plain-text gRPC listener (null before the first start, or when the listener is https).</summary>
    public GrpcChannel? Channel { get; private set; }

    public V1.DecisionService.DecisionServiceClient Decisions => new(Channel!);

    public V1.ControlService.ControlServiceClient Control => new(Channel!);

    public V1.IngestService.IngestServiceClient Ingest => new(Channel!);

    public static Metadata Bearer(string token = Token) => new() { { "authorization", $"Bearer {token}" } };

    /// <summary>A started daemon, or none and the failure.</summary>
    public static async Task<TestDaemon> StartAsync(string policyYaml, IDictionary<string, string?>? settings = null)
    {
        var daemon = new TestDaemon(policyYaml, settings);
        try
        {
            await daemon.StartAsync();
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }

        return daemon;
    }

    public async Task StartAsync()
    {
        if (_ports is { } previous)
        {
            try
            {
                await BootAsync(previous);
                return;
            }
            catch (Exception e) when (FreePort.IsAddressInUse(e.ToString(), previous))
            {
                // Taken while stopped: the retry below picks new ones.
            }
        }

        _ports = await FreePort.BindAsync(3, async ports =>
        {
            await BootAsync(ports);
            return ports;
        });
    }

    public async Task StopAsync()
    {
        if (_app is null)
        {
            return;
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
        Channel?.Dispose(); // kept, disposed, until the next start: a client's channel factory sees it fail, not null
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

    /// <summary>Opens a Watch and waits until the subscription is live (the server's response headers).</summary>
    public async Task<AsyncServerStreamingCall<V1.Decision>> WatchAsync(V1.WatchRequest request)
    {
        var call = Decisions.Watch(request);
        await call.ResponseHeadersAsync;
        return call;
    }

    /// <summary>Reads decisions from <paramref name="call"/> until <paramref name="done"/> says so (or the stream ends); fails past <paramref name="timeout"/>.</summary>
    public static async Task<List<V1.Decision>> CollectAsync(AsyncServerStreamingCall<V1.Decision> call, Func<List<V1.Decision>, bool> done, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(call);
        ArgumentNullException.ThrowIfNull(done);
        using var cancel = new CancellationTokenSource(timeout);
        var seen = new List<V1.Decision>();
        while (await call.ResponseStream.MoveNext(cancel.Token))
        {
            seen.Add(call.ResponseStream.Current);
            if (done(seen))
            {
                break;
            }
        }

        return seen;
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

    /// <summary>Starts a rollout by hand (no traffic needed): a gate at the policy's first step, no decision yet.</summary>
    public async Task<V1.Gate> StartRolloutAsync(string deployment, string baseline = "v1", string canary = "v2") =>
        await Control.StartRolloutAsync(new V1.StartRolloutRequest { Deployment = deployment, BaselineVersion = baseline, CanaryVersion = canary }, Bearer());

    public async Task<V1.Decision> OverrideAsync(string gate, V1.OverrideKind kind, string reason = "test") =>
        await Control.OverrideAsync(new V1.OverrideRequest { Gate = gate, Kind = kind, Reason = reason }, Bearer());

    /// <summary>Every decision in the log, read as <c>report</c> does: Watch from the start up to ListGates' last_sequence.</summary>
    public async Task<List<V1.Decision>> LoggedDecisionsAsync()
    {
        var last = (await Decisions.ListGatesAsync(new V1.ListGatesRequest { IncludeFinished = true })).LastSequence;
        var decisions = new List<V1.Decision>();
        if (last == 0)
        {
            return decisions;
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var call = Decisions.Watch(new V1.WatchRequest { FromStart = true, IncludeShadow = true }, cancellationToken: timeout.Token);
        while (await call.ResponseStream.MoveNext(timeout.Token))
        {
            decisions.Add(call.ResponseStream.Current);
            if (call.ResponseStream.Current.Sequence >= last)
            {
                break;
            }
        }

        return decisions;
    }

    /// <summary>Reads the series (deployment, version) on the shard that owns it, after everything posted to it; null if there is none.</summary>
    internal async Task<T?> ReadAsync<T>(string deployment, string version, Func<Series, T> read)
        where T : class
    {
        var ingest = Engine.Ingest;
        var shard = ingest.ShardOf(Encoding.UTF8.GetBytes(deployment));
        return await ingest.InvokeAsync(shard, s => s.Find(deployment, version) is { } series ? read(series) : null);
    }

    /// <summary>Polls <paramref name="read"/> until it returns a value satisfying <paramref name="done"/>, or gives up (returns the last value).</summary>
    internal async Task<T?> WaitForAsync<T>(string deployment, string version, Func<Series, T> read, Func<T, bool> done)
        where T : class
    {
        T? last = null;
        for (var attempt = 0; attempt < 100; attempt++)
        {
            last = await ReadAsync(deployment, version, read);
            if (last is not null && done(last))
            {
                return last;
            }

            await Task.Delay(50);
        }

        return last;
    }

    /// <summary>The daemon's <c>/metrics</c> page.</summary>
    public async Task<string> MetricsTextAsync()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{HttpPort}") };
        return await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
    }

    /// <summary>The settings the daemon runs with: fast ticks, no demo, listeners on <paramref name="ports"/> (grpc, http, framed).</summary>
    private Dictionary<string, string?> Configuration(int[] ports)
    {
        var args = new Dictionary<string, string?>
        {
            [GrpcKey] = $"http://127.0.0.1:{ports[0]}",
            [HttpKey] = $"http://127.0.0.1:{ports[1]}",
            [FramedKey] = "",
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
            args[key] = key switch
            {
                GrpcKey when value is not null && new Uri(value).Port == 0 => new UriBuilder(value) { Port = ports[0] }.Uri.ToString().TrimEnd('/'),
                HttpKey when value is not null && new Uri(value).Port == 0 => new UriBuilder(value) { Port = ports[1] }.Uri.ToString().TrimEnd('/'),
                FramedKey when IPEndPoint.TryParse(value ?? "", out var framed) && framed.Port == 0 => $"{framed.Address}:{ports[2]}",
                _ => value,
            };
        }

        return args;
    }

    private async Task BootAsync(int[] ports)
    {
        var args = Configuration(ports);
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
        var grpc = new Uri(args[GrpcKey]!);
        Url = grpc.GetLeftPart(UriPartial.Authority);
        GrpcPort = grpc.Port;
        HttpPort = new Uri(args[HttpKey]!).Port;
        FramedPort = IPEndPoint.TryParse(args[FramedKey] ?? "", out var framed) ? framed.Port : 0;
        Channel = grpc.Scheme == Uri.UriSchemeHttp ? GrpcChannel.ForAddress(Url) : null;
    }
}
