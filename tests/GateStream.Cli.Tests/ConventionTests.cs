using System.Diagnostics;
using GateStream.Cli.Tests.Infrastructure;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Tests;

/// <summary>
/// The habits people bring from kubectl, grpcurl and POSIX tools: -o json|yaml|wide, describe, get --watch, durations
/// as written, colour only on a terminal and never with NO_COLOR, shell completion.
/// </summary>
[Collection(CliProcesses.Name)]
public sealed class ConventionTests
{
    [Fact]
    public async Task Gates_come_as_yaml_and_as_a_wide_table()
    {
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy());
        await daemon.StartRolloutAsync("checkout");

        var yaml = await CliProcess.RunAsync(["gates", "-o", "yaml", "--server", daemon.Url]);
        var wide = await CliProcess.RunAsync(["gates", "-o", "wide", "--server", daemon.Url]);

        Assert.Equal(0, yaml.ExitCode);
        Assert.StartsWith("- id: checkout/v2\n", yaml.Stdout, StringComparison.Ordinal);
        Assert.Contains("\n  phase: PHASE_PROGRESSING\n", yaml.Stdout, StringComparison.Ordinal);
        Assert.Contains("\n  weight: 25\n", yaml.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, wide.ExitCode);
        Assert.Matches(@"^GATE\s+DEPLOYMENT\s+BASELINE\s+CANARY\s+POLICY\s+PHASE\s+WEIGHT\s+LAST DECISION\s+FIRING\s+MODE\s+AGE\s+STARTED BY\s+OWNERSHIP\s+REVISION$", wide.StdoutLines[0]);
        Assert.Matches(@"^checkout/v2\s+checkout\s+v1\s+v2\s+fast\s+Progressing\s+25\s+-\s+-\s+enforce\s+\S+\s+alice\s+OWNED\s+\S+$", wide.StdoutLines[1]);
    }

    [Fact]
    public async Task Describe_shows_the_rules_with_their_bounds_and_the_gates_decisions()
    {
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy());
        await daemon.StartRolloutAsync("checkout");
        await daemon.OverrideAsync("checkout/v2", V1.OverrideKind.Hold, "freeze");
        await daemon.OverrideAsync("checkout/v2", V1.OverrideKind.Resume, "thaw");

        var text = await CliProcess.RunAsync(["describe", "checkout/v2", "--server", daemon.Url]);
        var json = await CliProcess.RunAsync(["describe", "checkout/v2", "-o", "json", "--server", daemon.Url]);
        var missing = await CliProcess.RunAsync(["describe", "nothing/v9", "--server", daemon.Url]);

        Assert.Equal(0, text.ExitCode);
        Assert.Contains("Gate:        checkout/v2\n", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("Deployment:  checkout: baseline v1, canary v2\n", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("Latest decision:\n  #2 ", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("Decisions (the last 2 decisions, oldest first):\n  #1 ", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("HOLD 25 Holding: Override by alice: freeze", text.Stdout, StringComparison.Ordinal);
        Assert.Equal(0, json.ExitCode);
        var gate = Google.Protobuf.JsonParser.Default.Parse<V1.Gate>(json.Stdout);
        Assert.Equal(("checkout/v2", 2ul), (gate.Id, gate.LastDecisionSequence));
        Assert.Equal(1, missing.ExitCode);
        Assert.StartsWith("gatestream describe: no gate 'nothing/v9' on http://127.0.0.1:", missing.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Gates_watch_prints_the_table_again_when_a_gate_changes()
    {
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy());
        await daemon.StartRolloutAsync("checkout");
        await using var watch = CliProcess.Start(["gates", "--watch", "--server", daemon.Url]);
        await watch.WaitForLineAsync(l => l.Contains("Progressing", StringComparison.Ordinal));

        await daemon.OverrideAsync("checkout/v2", V1.OverrideKind.Pause, "look");

        await watch.WaitForLineAsync(l => l.Contains("Paused", StringComparison.Ordinal));
        watch.Terminate();
        Assert.Equal(0, await watch.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(2, watch.StdoutLines.Count(l => l.StartsWith("GATE ", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task Help_shows_durations_as_they_are_written()
    {
        var report = await CliProcess.RunAsync(["report", "--help"]);
        var replay = await CliProcess.RunAsync(["replay", "--help"]);

        Assert.Contains("[default: 14d]", report.Stdout, StringComparison.Ordinal);
        Assert.Contains("[default: 1h]", report.Stdout, StringComparison.Ordinal);
        Assert.Contains("[default: 250ms]", replay.Stdout, StringComparison.Ordinal);
        Assert.DoesNotMatch(@"default: [\d.]*\d\d:\d\d", report.Stdout + replay.Stdout);
    }

    [Fact]
    public async Task Completion_comes_from_the_parser_and_the_script_asks_for_it()
    {
        var bash = await CliProcess.RunAsync(["completion", "bash"]);
        var commands = await CliProcess.RunAsync(["[suggest:12]", "gatestream g"]);
        var formats = await CliProcess.RunAsync(["[suggest:20]", "gatestream gates -o "]);

        Assert.Equal(0, bash.ExitCode);
        Assert.Contains("complete -o default -F _gatestream_complete gatestream", bash.Stdout, StringComparison.Ordinal);
        Assert.Contains("[suggest:", bash.Stdout, StringComparison.Ordinal);
        Assert.Equal(["gates"], commands.StdoutLines);
        Assert.Equal(["json", "table", "wide", "yaml"], formats.StdoutLines.Order(StringComparer.Ordinal));
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Colour_only_on_a_terminal_and_never_with_NO_COLOR(bool noColor)
    {
        // script(1) gives the command a pseudo-terminal, as a person's shell would.
        Skip.IfNot(File.Exists("/usr/bin/script"), "script(1) (util-linux) is not installed");
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy());
        await daemon.StartRolloutAsync("checkout");
        var piped = await CliProcess.RunAsync(["gates", "--server", daemon.Url]);

        var start = new ProcessStartInfo("/usr/bin/script") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-qec", $"stty cols 200; {ChildProcess.DotnetHost} {CliProcess.CliDll} gates --server {daemon.Url}", "/dev/null" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["TERM"] = "xterm-256color";
        start.Environment.Remove("NO_COLOR");
        if (noColor)
        {
            start.Environment["NO_COLOR"] = "1";
        }

        await using var terminal = ChildProcess.Start(start);
        Assert.Equal(0, await terminal.WaitForExitAsync(TimeSpan.FromSeconds(60)));

        // SGR sequences (ESC [ ... m) only: a terminal also gets .NET's keypad-mode sequence, which is not colour.
        const string Colour = "\u001b\\[[0-9;]*m";
        Assert.DoesNotMatch(Colour, piped.Stdout);
        Assert.Contains("checkout/v2", terminal.Stdout, StringComparison.Ordinal);
        Assert.Equal(!noColor, System.Text.RegularExpressions.Regex.IsMatch(terminal.Stdout, Colour));
    }
}
