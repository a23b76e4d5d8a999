using System.Diagnostics;
using System.Text.RegularExpressions;
using Grpc.Net.Client;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Packaging.Tests;

/// <summary>
/// Every shell block of the README marked <c>```sh runnable</c> runs as written, against a daemon started as the quick
/// start starts it (the Development environment of the daemon's own build, on the default ports), from the
/// repository's root, with the CLI's build output on PATH as the quick start puts it there.
/// </summary>
public sealed partial class ReadmeCommandsTests
{
    [GeneratedRegex(@"^```sh runnable\n(?<body>.*?)^```$", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex RunnableBlock();

    public static IReadOnlyList<string> Blocks() =>
        [.. RunnableBlock().Matches(File.ReadAllText(Path.Combine(Repository.Root, "README.md"))).Select(m => m.Groups["body"].Value)];

    [Fact]
    public void The_readme_has_runnable_blocks_and_they_use_the_commands_it_documents()
    {
        var blocks = Blocks();

        Assert.NotEmpty(blocks);
        Assert.Contains(blocks, b => b.Contains("gatestream override demo-api/v2-0", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_quick_start_goes_from_a_fresh_daemon_to_an_override_of_the_demo_canary()
    {
        var daemonPath = Path.Combine(Repository.DaemonDirectory, "gatestreamd.dll");
        Assert.True(File.Exists(daemonPath), $"{daemonPath} is not built");
        var start = new ProcessStartInfo(ChildProcess.DotnetHost) { WorkingDirectory = Repository.Root };
        start.ArgumentList.Add(daemonPath);
        start.Environment["DOTNET_ENVIRONMENT"] = "Development";
        await using var daemon = ChildProcess.Start(start);
        using var channel = GrpcChannel.ForAddress("http://127.0.0.1:4317");
        var decisions = new V1.DecisionService.DecisionServiceClient(channel);

        // The demo's canary opens its gate once its traffic flows (about 10 s after the start).
        await Eventually.Until(async () =>
        {
            Assert.False(daemon.HasExited, "the daemon exited (are ports 4317, 9317 and 7317 free?):\n" + daemon.Output);
            try
            {
                var gates = await decisions.ListGatesAsync(new V1.ListGatesRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                return gates.Gates.Any(g => g.Id == "demo-api/v2-0");
            }
            catch (Grpc.Core.RpcException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(90), () => daemon.Output, TimeSpan.FromMilliseconds(250));
        Assert.Contains("Development: the control API accepts the token in", daemon.Output, StringComparison.Ordinal);

        foreach (var block in Blocks())
        {
            var shell = new ProcessStartInfo("/bin/bash") { WorkingDirectory = Repository.Root };
            shell.ArgumentList.Add("-euo");
            shell.ArgumentList.Add("pipefail");
            shell.ArgumentList.Add("-c");
            shell.ArgumentList.Add(block);
            shell.Environment["PATH"] = Repository.CliDirectory + ":" + Environment.GetEnvironmentVariable("PATH");
            shell.Environment.Remove("GATESTREAM_SERVER");
            shell.Environment.Remove("GATESTREAM_TOKEN");
            await using var run = ChildProcess.Start(shell);
            var exit = await run.WaitForExitAsync(TimeSpan.FromMinutes(2));
            Assert.True(exit == 0, $"README block exited {exit}:\n{block}\n{run.Output}");
        }

        // The override in the README took effect: the canary is paused by the developer's token.
        var gate = await decisions.GetGateAsync(new V1.GetGateRequest { Gate = "demo-api/v2-0" });
        Assert.Equal(V1.Phase.Paused, gate.Phase);
        Assert.Equal("developer", gate.LastDecision.Override.Actor);
        daemon.Terminate();
        Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30)));

        // Started again, the demo plays from its beginning: the paused canary is not restored from the log.
        await using var again = ChildProcess.Start(start);
        await again.WaitForLineAsync(l => l.Contains("Development: the demo starts afresh; emptied the decision log", StringComparison.Ordinal), timeout: TimeSpan.FromSeconds(60));
        await Eventually.Until(async () =>
        {
            try
            {
                var gates = await decisions.ListGatesAsync(new V1.ListGatesRequest { IncludeFinished = true }, deadline: DateTime.UtcNow.AddSeconds(2));
                return gates.LastSequence == 0 || gates.Gates.Any(g => g.Id == "demo-api/v2-0" && g.Phase != V1.Phase.Paused);
            }
            catch (Grpc.Core.RpcException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(60), () => again.Output, TimeSpan.FromMilliseconds(250));
        again.Terminate();
        Assert.Equal(0, await again.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }
}
