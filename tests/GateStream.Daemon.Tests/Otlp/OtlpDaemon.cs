using System.Text;
using GateStream.Core;
using GateStream.Daemon.Engine;
using GateStream.Daemon.Hosting;
using GateStream.Daemon.Tests.Integration;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace GateStream.Daemon.Tests.Otlp;

/// <summary>
/// The daemon on loopback with the same settings as <see cref="TestDaemon"/> (whose files it uses), keeping the host so
/// a test can read the engine's series directly: what OTLP senders sent must be exactly what the windows hold.
/// </summary>
internal sealed class OtlpDaemon : IAsyncDisposable
{
    private readonly TestDaemon _files;
    private WebApplication? _app;

    public OtlpDaemon(string policyYaml, IDictionary<string, string?>? settings = null)
    {
        _files = new TestDaemon(policyYaml, settings);
    }

    public int GrpcPort { get; private set; }

    public int HttpPort { get; private set; }

    public Uri GrpcUrl => new($"http://127.0.0.1:{GrpcPort}");

    public EngineHost Engine => _app!.Services.GetRequiredService<EngineHost>();

    public async Task StartAsync()
    {
        GrpcPort = TestDaemon.FreePort();
        HttpPort = TestDaemon.FreePort();
        var args = new Dictionary<string, string?>
        {
            ["GateStream:Grpc:Url"] = GrpcUrl.ToString().TrimEnd('/'),
            ["GateStream:Http:Url"] = $"http://127.0.0.1:{HttpPort}",
            ["GateStream:Framed:Endpoint"] = "",
            ["GateStream:Policies:Directory"] = _files.PolicyDirectory,
            ["GateStream:State:Directory"] = _files.StateDirectory,
            ["GateStream:Control:TokensFile"] = _files.TokensFile,
            ["GateStream:Engine:TickInterval"] = "00:00:00.050",
            ["GateStream:Engine:Shards"] = "2",
            ["GateStream:Demo:Enabled"] = "false",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in _files.Settings)
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
    }

    /// <summary>Reads the series (deployment, version) on the shard that owns it, after everything posted to it; null if there is none.</summary>
    public async Task<T?> ReadAsync<T>(string deployment, string version, Func<Series, T> read)
        where T : class
    {
        var ingest = Engine.Ingest;
        var shard = ingest.ShardOf(Encoding.UTF8.GetBytes(deployment));
        return await ingest.InvokeAsync(shard, s => s.Find(deployment, version) is { } series ? read(series) : null);
    }

    /// <summary>Polls <paramref name="read"/> until it returns a value satisfying <paramref name="done"/>, or gives up.</summary>
    public async Task<T?> WaitForAsync<T>(string deployment, string version, Func<Series, T> read, Func<T, bool> done)
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

    public async Task<string> MetricsTextAsync()
    {
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{HttpPort}") };
        return await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is { } app)
        {
            await app.StopAsync();
            await app.DisposeAsync();
            _app = null;
        }

        await _files.DisposeAsync();
    }
}
