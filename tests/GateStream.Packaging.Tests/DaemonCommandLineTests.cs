using System.Diagnostics;

namespace GateStream.Packaging.Tests;

/// <summary><c>gatestreamd</c>'s own words: --help, --version, one-line refusals with exit code 1, listeners named by protocol.</summary>
public sealed class DaemonCommandLineTests
{
    [Fact]
    public async Task Help_lists_every_key_with_its_default_and_environment_form_without_starting()
    {
        var (exit, stdout, _) = await RunAsync("--help");

        Assert.Equal(0, exit);
        Assert.Contains("Usage: gatestreamd [--KEY=VALUE ...]", stdout, StringComparison.Ordinal);
        Assert.Matches(@"\nGateStream:Grpc:Url\s+http://127\.0\.0\.1:4317\s+GateStream__Grpc__Url\n", stdout);
        Assert.Matches(@"\nGateStream:Engine:TickInterval\s+00:00:00\.25 \(250ms\)\s+GateStream__Engine__TickInterval\n", stdout);
        Assert.Matches(@"\nGateStream:Kafka:BootstrapServers\s+\(unset\)\s+GateStream__Kafka__BootstrapServers\n", stdout);
    }

    [Fact]
    public async Task Version_prints_the_version()
    {
        var (exit, stdout, _) = await RunAsync("--version");

        Assert.Equal(0, exit);
        Assert.Matches(@"^gatestreamd \d+\.\d+\.\d+", stdout);
    }

    [Theory]
    [InlineData("--GateStream:Engine:Shards=abc", "gatestreamd: invalid configuration: GateStream:Engine:Shards 'abc' is not a whole number.")]
    [InlineData("--GateStream:Engine:TickInterval=250ms", "gatestreamd: invalid configuration: GateStream:Engine:TickInterval '250ms' is not a duration; write it as a .NET time span: 00:00:00.250 for 250 ms, 00:05:00 for 5 min, 14.00:00:00 for 14 days.")]
    [InlineData("--GateStream:Grcp:Url", "gatestreamd: '--GateStream:Grcp:Url' has no value: write --GateStream:Grcp:Url=VALUE (see gatestreamd --help).")]
    [InlineData("--Shards=4", "gatestreamd: unknown setting 'Shards': the daemon's keys start with GateStream: (see gatestreamd --help).")]
    [InlineData("--GateStream:Grpc:Url=http://gates.internal:4317", "gatestreamd: Listener host 'gates.internal' in GateStream:Grpc:Url must be an IP address, localhost or * (a name is not resolved): write e.g. http://0.0.0.0:4317.")]
    public async Task A_start_up_failure_is_one_line_naming_the_key_and_the_fix_with_exit_code_1(string argument, string line)
    {
        var state = Directory.CreateTempSubdirectory("gatestream-cmdline-").FullName;
        try
        {
            var (exit, stdout, stderr) = await RunAsync($"--GateStream:State:Directory={state}", "--GateStream:Framed:Endpoint=", "--GateStream:Grpc:Url=http://127.0.0.1:0", "--GateStream:Http:Url=http://127.0.0.1:0", argument);

            Assert.Equal(1, exit);
            Assert.Equal(line + "\n", stderr);
            Assert.DoesNotContain("   at ", stdout, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
    }

    [Fact]
    public async Task Listeners_are_announced_with_the_protocol_they_speak()
    {
        var root = Directory.CreateTempSubdirectory("gatestream-announce-").FullName;
        try
        {
            await using var daemon = await DaemonProcess.StartAsync(new Dictionary<string, string?>
            {
                ["GateStream:Framed:Endpoint"] = "127.0.0.1:0",
                ["GateStream:Policies:Directory"] = Path.Combine(root, "policies"),
                ["GateStream:State:Directory"] = Path.Combine(root, "state"),
            });
            var announced = await daemon.Child.WaitForLineAsync(l => l.Contains("listening:", StringComparison.Ordinal));

            Assert.Contains($"gRPC (HTTP/2) http://127.0.0.1:{daemon.GrpcPort}", announced, StringComparison.Ordinal);
            Assert.Contains($"HTTP/1.1 http://127.0.0.1:{daemon.HttpPort}", announced, StringComparison.Ordinal);
            Assert.Contains($"framed tcp://127.0.0.1:{daemon.FramedPort}", announced, StringComparison.Ordinal);
            Assert.DoesNotContain($"http://127.0.0.1:{daemon.FramedPort}", daemon.Output, StringComparison.Ordinal);
            await daemon.StopAsync();
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo(ChildProcess.DotnetHost);
        start.ArgumentList.Add(DaemonProcess.Assembly);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        await using var child = ChildProcess.Start(start);
        var exit = await child.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (exit, child.Stdout, child.Stderr);
    }
}
