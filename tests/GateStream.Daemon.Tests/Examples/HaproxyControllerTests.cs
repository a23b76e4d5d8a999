using System.Diagnostics;
using System.Net.Http;
using GateStream.Client;
using GateStream.Examples.Haproxy;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Examples;

/// <summary>
/// The example controller (examples/GateStream.HaproxyController) against a real HAProxy (Debian's package) with two
/// real HTTP backends: requests sent through HAProxy move between the versions as the daemon's decisions arrive.
/// </summary>
public class HaproxyControllerTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [SkippableFact]
    public async Task Decisions_move_real_requests_between_the_versions_behind_haproxy()
    {
        var haproxy = new[] { "/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy" }.FirstOrDefault(File.Exists);
        Skip.If(haproxy is null, "haproxy is not installed (Debian package haproxy; .ci/run installs it)");

        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"));
        await daemon.StartAsync();
        await using var v1 = await VersionServer.StartAsync("v1");
        await using var v2 = await VersionServer.StartAsync("v2");
        var dir = Directory.CreateTempSubdirectory("gatestream-haproxy-").FullName;
        var socket = Path.Combine(dir, "admin.sock");
        var config = Path.Combine(dir, "haproxy.cfg");
        using var stop = new CancellationTokenSource(Timeout);
        var runtime = new HaproxyRuntime(socket);

        // HAProxy binds its frontend itself: on a port taken meanwhile it exits naming it, and FreePort picks another.
        var (proxy, front) = await FreePort.BindAsync(1, async ports =>
        {
            await File.WriteAllTextAsync(config, $"""
                global
                    stats socket {socket} mode 600 level admin
                defaults
                    mode http
                    timeout connect 5s
                    timeout client 30s
                    timeout server 30s
                frontend checkout
                    bind 127.0.0.1:{ports[0]}
                    default_backend checkout
                backend checkout
                    balance roundrobin
                    server v1 127.0.0.1:{v1.Port} weight 100
                    server v2 127.0.0.1:{v2.Port} weight 0

                """);
            var process = Process.Start(new ProcessStartInfo(haproxy!, ["-f", config, "-db"]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            await Until(
                async () => process.HasExited
                    ? throw new InvalidOperationException("haproxy exited: " + await process.StandardError.ReadToEndAsync(stop.Token))
                    : File.Exists(socket) && (await runtime.CommandAsync("show info", stop.Token)).Contains("Name: HAProxy", StringComparison.Ordinal),
                stop.Token);
            return (process, ports[0]);
        });
        try
        {
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{daemon.GrpcPort}");
            var watching = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var log = new StringWriter();
            var controller = new WeightController(
                new DecisionWatcher(channel, new DecisionWatcherOptions { Watching = _ => watching.TrySetResult() }),
                runtime,
                new ControllerOptions("checkout", "checkout"),
                TextWriter.Synchronized(log));
            var running = controller.RunAsync(stop.Token);
            await watching.Task.WaitAsync(stop.Token);
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{front}") };

            await daemon.Control.StartRolloutAsync(
                new V1.StartRolloutRequest { Deployment = "checkout", BaselineVersion = "v1", CanaryVersion = "v2" }, TestDaemon.Bearer());
            Assert.Equal((200, 0), await CountAsync(http, 200, stop.Token));

            // One step up (25 -> 50): HAProxy now splits the requests evenly.
            var promote = await daemon.Control.OverrideAsync(
                new V1.OverrideRequest { Gate = "checkout/v2", Kind = V1.OverrideKind.Promote, Reason = "step" }, TestDaemon.Bearer());
            Assert.Equal(50u, promote.Weight);
            await Until(async () => await runtime.GetWeightAsync("checkout", "v2", stop.Token) == 50, stop.Token);
            var (toV1, toV2) = await CountAsync(http, 200, stop.Token);
            Assert.InRange(toV2, 90, 110);
            Assert.Equal(200, toV1 + toV2);

            // Rolled back: every request goes to v1 again.
            await daemon.Control.OverrideAsync(
                new V1.OverrideRequest { Gate = "checkout/v2", Kind = V1.OverrideKind.Rollback, Reason = "bad canary" }, TestDaemon.Bearer());
            await Until(async () => await runtime.GetWeightAsync("checkout", "v2", stop.Token) == 0, stop.Token);
            Assert.Equal((200, 0), await CountAsync(http, 200, stop.Token));
            Assert.Equal(2, controller.Applied);
            Assert.Contains("ROLLBACK checkout/v2: checkout/v2 weight 0, checkout/v1 weight 100", log.ToString(), StringComparison.Ordinal);

            await stop.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => running);
        }
        finally
        {
            proxy.Kill(entireProcessTree: true);
            proxy.Dispose();
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>Sends <paramref name="requests"/> GETs through HAProxy and counts which version answered.</summary>
    private static async Task<(int V1, int V2)> CountAsync(HttpClient http, int requests, CancellationToken cancellationToken)
    {
        int v1 = 0, v2 = 0;
        for (var i = 0; i < requests; i++)
        {
            var body = await http.GetStringAsync(new Uri("/", UriKind.Relative), cancellationToken);
            _ = body == "v1" ? v1++ : body == "v2" ? v2++ : throw new InvalidOperationException($"unexpected answer '{body}'");
        }

        return (v1, v2);
    }

    private static async Task Until(Func<Task<bool>> condition, CancellationToken cancellationToken)
    {
        while (true)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (System.Net.Sockets.SocketException)
            {
                // HAProxy not listening on its socket yet.
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>A real HTTP server on a loopback port that answers every request with its version.</summary>
    private sealed class VersionServer : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private VersionServer(WebApplication app, int port)
        {
            _app = app;
            Port = port;
        }

        public int Port { get; }

        public static async Task<VersionServer> StartAsync(string version)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            app.MapGet("/", () => version);
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
            return new VersionServer(app, new Uri(address).Port);
        }

        public ValueTask DisposeAsync() => _app.DisposeAsync();
    }
}
