using System.Diagnostics;
using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Testing;

/// <summary>
/// The daemon as its own process (<c>dotnet gatestreamd.dll</c>, built beside the tests), with the configuration a
/// test gives as command-line keys and free loopback ports for its gRPC and HTTP listeners (and the framed one when
/// <c>GateStream:Framed:Endpoint</c> is <c>127.0.0.1:0</c>). Started when its gRPC listener answers; picks new ports
/// when a bind failed because a port was taken.
/// </summary>
public sealed class DaemonProcess : IAsyncDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private DaemonProcess(ChildProcess process, int grpcPort, int httpPort, int framedPort)
    {
        Child = process;
        GrpcPort = grpcPort;
        HttpPort = httpPort;
        FramedPort = framedPort;
        Channel = GrpcChannel.ForAddress($"http://127.0.0.1:{grpcPort}");
    }

    /// <summary>The daemon built next to the tests (same configuration).</summary>
    public static string Assembly
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, "gatestreamd.dll");
            Assert.True(File.Exists(path), $"{path} not found");
            Assert.True(File.Exists(Path.ChangeExtension(path, ".runtimeconfig.json")), "the daemon's runtimeconfig is not next to the tests");
            return path;
        }
    }

    public ChildProcess Child { get; }

    public Process Process => Child.Process;

    public int GrpcPort { get; }

    public int HttpPort { get; }

    public int FramedPort { get; }

    public GrpcChannel Channel { get; }

    /// <summary>What it printed so far, both streams.</summary>
    public string Output => Child.Output;

    /// <summary>
    /// Starts the daemon with <paramref name="settings"/> and waits until it answers. <paramref name="customize"/> may
    /// add environment variables or put a wrapper in front (<c>prlimit ... dotnet gatestreamd.dll</c>).
    /// </summary>
    public static Task<DaemonProcess> StartAsync(IDictionary<string, string?> settings, Action<ProcessStartInfo>? customize = null) =>
        FreePort.BindAsync(3, async ports =>
        {
            var daemon = new DaemonProcess(ChildProcess.Start(StartInfo(settings, ports, customize)), ports[0], ports[1], Framed(settings) ? ports[2] : 0);
            try
            {
                await daemon.WaitReadyAsync(ports);
                return daemon;
            }
            catch
            {
                await daemon.DisposeAsync();
                throw;
            }
        });

    /// <summary>Runs the daemon expecting it to refuse to start: its exit code and what it wrote to stdout and stderr.</summary>
    public static Task<(int ExitCode, string Output, string Error)> RunToExitAsync(IDictionary<string, string?> settings, params string[] extra) =>
        FreePort.BindAsync(3, async ports =>
        {
            await using var child = ChildProcess.Start(StartInfo(settings, ports, start =>
            {
                foreach (var argument in extra)
                {
                    start.ArgumentList.Add(argument); // later command-line values win
                }
            }));
            var exitCode = await child.WaitForExitAsync(Timeout);
            if (FreePort.IsAddressInUse(child.Output, ports))
            {
                throw new IOException("address already in use:\n" + child.Output);
            }

            return (exitCode, child.Stdout, child.Stderr);
        });

    /// <summary>SIGTERM, as a service manager stops it, and waits for a clean exit.</summary>
    public async Task StopAsync()
    {
        Child.Terminate();
        var exitCode = await Child.WaitForExitAsync(Timeout);
        Assert.True(exitCode == 0, $"exit code {exitCode}:\n{Output}");
    }

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await Child.DisposeAsync();
    }

    private static bool Framed(IDictionary<string, string?> settings) =>
        settings.TryGetValue("GateStream:Framed:Endpoint", out var framed) && IPEndPoint.TryParse(framed ?? "", out var endpoint) && endpoint.Port == 0;

    private static ProcessStartInfo StartInfo(IDictionary<string, string?> settings, int[] ports, Action<ProcessStartInfo>? customize)
    {
        var start = new ProcessStartInfo(ChildProcess.DotnetHost);
        start.ArgumentList.Add(Assembly);
        var args = new Dictionary<string, string?>
        {
            ["GateStream:Grpc:Url"] = $"http://127.0.0.1:{ports[0]}",
            ["GateStream:Http:Url"] = $"http://127.0.0.1:{ports[1]}",
        };
        foreach (var (key, value) in settings)
        {
            args[key] = value;
        }

        if (Framed(settings))
        {
            args["GateStream:Framed:Endpoint"] = $"127.0.0.1:{ports[2]}";
        }

        foreach (var (key, value) in args)
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        customize?.Invoke(start);
        return start;
    }

    private async Task WaitReadyAsync(int[] ports)
    {
        var client = new V1.DecisionService.DecisionServiceClient(Channel);
        var deadline = DateTime.UtcNow + Timeout;
        while (true)
        {
            if (Child.HasExited)
            {
                await Child.WaitForExitAsync(Timeout); // all output read
                if (FreePort.IsAddressInUse(Output, ports))
                {
                    throw new IOException("address already in use:\n" + Output);
                }

                Assert.Fail("the daemon exited during start:\n" + Output);
            }

            try
            {
                await client.ListGatesAsync(new V1.ListGatesRequest(), deadline: DateTime.UtcNow.AddSeconds(1));
                return;
            }
            catch (RpcException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
            catch (RpcException e)
            {
                Assert.Fail($"the daemon did not answer within {Timeout.TotalSeconds} s ({e.Status}):\n{Output}");
            }
        }
    }
}
