using System.Net;
using System.Net.Sockets;
using GateStream.Daemon.Hosting;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Tests.Infrastructure;

/// <summary>
/// A daemon hosted in the test process on loopback, with its own policy, state and tokens files, for the CLI to talk
/// to. Restartable on the same ports and state directory (a watcher resumes across the restart).
/// </summary>
internal sealed class TestDaemon : IAsyncDisposable
{
    public const string Token = "cli-test-operator-token";

    private WebApplication? _app;

    public TestDaemon(string policyYaml)
    {
        Root = Directory.CreateTempSubdirectory("gatestream-cli-test-").FullName;
        Directory.CreateDirectory(PolicyDirectory);
        File.WriteAllText(PolicyFile, policyYaml);
        File.WriteAllText(TokensFile, $"# actor token\nalice {Token}\n");
        File.WriteAllText(TokenFile, Token + "\n");
        GrpcPort = FreePort();
        HttpPort = FreePort();
    }

    public string Root { get; }

    public string PolicyDirectory => Path.Combine(Root, "policies");

    public string PolicyFile => Path.Combine(PolicyDirectory, "policy.yaml");

    public string StateDirectory => Path.Combine(Root, "state");

    public string TokensFile => Path.Combine(Root, "tokens");

    /// <summary>A file holding just the token, as an operator keeps it for <c>--token-file</c>.</summary>
    public string TokenFile => Path.Combine(Root, "operator-token");

    public int GrpcPort { get; }

    public int HttpPort { get; }

    public string Url => $"http://127.0.0.1:{GrpcPort}";

    public GrpcChannel? Channel { get; private set; }

    public V1.DecisionService.DecisionServiceClient Decisions => new(Channel!);

    public V1.ControlService.ControlServiceClient Control => new(Channel!);

    public V1.IngestService.IngestServiceClient Ingest => new(Channel!);

    public static Metadata Bearer => new() { { "authorization", $"Bearer {Token}" } };

    public static async Task<TestDaemon> StartAsync(string policyYaml)
    {
        var daemon = new TestDaemon(policyYaml);
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
        var settings = new Dictionary<string, string?>
        {
            ["GateStream:Grpc:Url"] = Url,
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
        var app = DaemonApp.Build([.. settings.Select(kv => $"--{kv.Key}={kv.Value}")]);
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
        Channel = GrpcChannel.ForAddress(Url);
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
        Channel = null;
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

    /// <summary>Starts a rollout by hand (no traffic needed): a gate at the policy's first step, no decision yet.</summary>
    public async Task<V1.Gate> StartRolloutAsync(string deployment, string baseline = "v1", string canary = "v2") =>
        await Control.StartRolloutAsync(new V1.StartRolloutRequest { Deployment = deployment, BaselineVersion = baseline, CanaryVersion = canary }, Bearer);

    public async Task<V1.Decision> OverrideAsync(string gate, V1.OverrideKind kind, string reason = "test") =>
        await Control.OverrideAsync(new V1.OverrideRequest { Gate = gate, Kind = kind, Reason = reason }, Bearer);

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

    public async Task<V1.PushResponse> PushAsync(params V1.EventBatch[] batches)
    {
        using var call = Ingest.Push();
        var request = new V1.PushRequest();
        request.Events.Add(batches);
        await call.RequestStream.WriteAsync(request);
        await call.RequestStream.CompleteAsync();
        return await call;
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
