using GateStream.Cli.Tests.Infrastructure;
using Google.Protobuf;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Tests;

[Collection(CliProcesses.Name)]
public sealed class WatchCommandTests
{
    [Fact]
    public async Task Json_lines_parse_as_decisions_from_the_start_of_the_log()
    {
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy());
        await daemon.StartRolloutAsync("checkout");
        await daemon.OverrideAsync("checkout/v2", V1.OverrideKind.Hold);
        await daemon.OverrideAsync("checkout/v2", V1.OverrideKind.Resume);
        await daemon.OverrideAsync("checkout/v2", V1.OverrideKind.PromoteFull);

        var result = await CliProcess.RunAsync(["watch", "--from", "start", "--json", "--count", "3", "--server", daemon.Url]);

        Assert.Equal(0, result.ExitCode);
        var decisions = result.StdoutLines.Select(JsonParser.Default.Parse<V1.Decision>).ToArray();
        Assert.Equal([1ul, 2ul, 3ul], decisions.Select(d => d.Sequence));
        Assert.Equal([V1.Action.Hold, V1.Action.Resume, V1.Action.Promote], decisions.Select(d => d.Action));
        Assert.Equal([25u, 25u, 100u], decisions.Select(d => d.Weight));
        Assert.All(decisions, d => Assert.Equal("checkout/v2", d.Gate));
        Assert.Contains("watching every decision from the start of the log", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Human_lines_follow_live_decisions_and_ctrl_c_exits_cleanly()
    {
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy());
        await daemon.StartRolloutAsync("checkout");
        await daemon.OverrideAsync("checkout/v2", V1.OverrideKind.Hold, "before the watch");
        await using var watch = CliProcess.Start(["watch", "--server", daemon.Url]);
        await watch.WaitForLineAsync(l => l.Contains("watching decisions from now on (after #1)", StringComparison.Ordinal), stderr: true);

        await daemon.OverrideAsync("checkout/v2", V1.OverrideKind.Pause, "live one");
        var line = await watch.WaitForLineAsync(l => l.StartsWith('#'));
        watch.Interrupt();
        var exit = await watch.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Matches(@"^#2 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z checkout/v2 PAUSE 25 Paused: Override by alice: live one; paused at weight 25\.$", line);
        Assert.Single(watch.StdoutLines);
        Assert.Equal(0, exit);
        Assert.DoesNotContain("Exception", watch.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Exec_runs_the_command_per_decision_with_the_decision_in_the_environment_and_on_stdin()
    {
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy());
        await daemon.StartRolloutAsync("checkout");
        await daemon.OverrideAsync("checkout/v2", V1.OverrideKind.Hold, "first");
        await daemon.OverrideAsync("checkout/v2", V1.OverrideKind.Rollback, "second");
        var environmentFile = Path.Combine(daemon.Root, "env.txt");
        var stdinFile = Path.Combine(daemon.Root, "stdin.jsonl");
        var command = $"""
            printf '%s|%s|%s|%s|%s|%s|%s|%s|%s|%s\n' "$GATESTREAM_SEQUENCE" "$GATESTREAM_GATE" "$GATESTREAM_DEPLOYMENT" "$GATESTREAM_CANARY_VERSION" "$GATESTREAM_BASELINE_VERSION" "$GATESTREAM_ACTION" "$GATESTREAM_WEIGHT" "$GATESTREAM_PHASE" "$GATESTREAM_SHADOW" "$GATESTREAM_REASON" >> '{environmentFile}'; cat >> '{stdinFile}'
            """;

        var result = await CliProcess.RunAsync(["watch", "--from", "0", "--count", "2", "--exec", command, "--server", daemon.Url]);

        Assert.Equal(0, result.ExitCode);
        var environment = await File.ReadAllLinesAsync(environmentFile);
        Assert.Equal(
            [
                "1|checkout/v2|checkout|v2|v1|HOLD|25|HOLDING|false|Override by alice: first; holding at weight 25 for 2s, then until no rule fires.",
                "2|checkout/v2|checkout|v2|v1|ROLLBACK|0|ROLLED_BACK|false|Override by alice: second; rolling back.",
            ],
            environment);
        var fromStdin = (await File.ReadAllLinesAsync(stdinFile)).Select(JsonParser.Default.Parse<V1.Decision>).ToArray();
        Assert.Equal([1ul, 2ul], fromStdin.Select(d => d.Sequence));
        Assert.Equal(V1.Action.Rollback, fromStdin[1].Action);
    }

    [Fact]
    public async Task A_failing_exec_is_reported_and_the_watch_goes_on()
    {
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy());
        await daemon.StartRolloutAsync("checkout");
        await daemon.OverrideAsync("checkout/v2", V1.OverrideKind.Hold);
        await daemon.OverrideAsync("checkout/v2", V1.OverrideKind.Resume);

        var result = await CliProcess.RunAsync(["watch", "--from", "start", "--count", "2", "--exec", "exit 3", "--server", daemon.Url]);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(2, result.StdoutLines.Length);
        Assert.Contains("gatestream watch: --exec exited with 3 for decision #1 (checkout/v2 HOLD 25); continuing.", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("gatestream watch: --exec exited with 3 for decision #2 (checkout/v2 RESUME 25); continuing.", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_watch_resumes_across_a_daemon_restart_with_no_gap_and_no_duplicate()
    {
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy());
        await daemon.StartRolloutAsync("checkout");
        await daemon.StartRolloutAsync("payments");
        await daemon.OverrideAsync("checkout/v2", V1.OverrideKind.Hold);
        await daemon.OverrideAsync("payments/v2", V1.OverrideKind.Hold);
        await using var watch = CliProcess.Start(["watch", "--from", "start", "--json", "--server", daemon.Url]);
        await watch.WaitForLinesAsync(2);

        // Gates come back from the decision log in their logged phase; the watcher reconnects and resumes after #2.
        await daemon.StopAsync();
        await watch.WaitForLineAsync(l => l.Contains("reconnecting", StringComparison.Ordinal), stderr: true);
        await daemon.StartAsync();
        await daemon.OverrideAsync("checkout/v2", V1.OverrideKind.Resume);
        await daemon.OverrideAsync("payments/v2", V1.OverrideKind.Pause);
        await watch.WaitForLinesAsync(4);
        await daemon.OverrideAsync("payments/v2", V1.OverrideKind.Rollback);
        await watch.WaitForLinesAsync(5);
        watch.Interrupt();
        await watch.WaitForExitAsync(TimeSpan.FromSeconds(60));

        var decisions = watch.StdoutLines.Select(JsonParser.Default.Parse<V1.Decision>).ToArray();
        Assert.Equal([1ul, 2ul, 3ul, 4ul, 5ul], decisions.Select(d => d.Sequence));
        Assert.Equal([V1.Action.Hold, V1.Action.Hold, V1.Action.Resume, V1.Action.Pause, V1.Action.Rollback], decisions.Select(d => d.Action));
        Assert.Contains("reconnected to", watch.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Filters_are_passed_to_the_daemon()
    {
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy());
        await daemon.StartRolloutAsync("checkout");
        await daemon.StartRolloutAsync("payments");
        await daemon.OverrideAsync("checkout/v2", V1.OverrideKind.Hold);
        await daemon.OverrideAsync("payments/v2", V1.OverrideKind.Hold);
        await daemon.OverrideAsync("checkout/v2", V1.OverrideKind.Pause);

        var byDeployment = await CliProcess.RunAsync(["watch", "--from", "start", "--deployment", "checkout", "--count", "2", "--server", daemon.Url]);
        var byGate = await CliProcess.RunAsync(["watch", "--from", "start", "--gate", "payments/v2", "--count", "1", "--server", daemon.Url]);

        Assert.Equal(["#1", "#3"], byDeployment.StdoutLines.Select(l => l.Split(' ')[0]));
        Assert.StartsWith("#2 ", Assert.Single(byGate.StdoutLines), StringComparison.Ordinal);
    }
    [Fact]
    public async Task A_position_past_the_end_of_the_log_is_not_retried_but_ends_with_exit_1()
    {
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy());
        await daemon.StartRolloutAsync("checkout");
        await daemon.OverrideAsync("checkout/v2", V1.OverrideKind.Hold);

        var result = await CliProcess.RunAsync(["watch", "--from", "1000", "--server", daemon.Url]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("gatestream watch: watch: ", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("(OUT_OF_RANGE)", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("reconnecting", result.Stderr, StringComparison.Ordinal);
        Assert.Empty(result.StdoutLines);
    }
}
