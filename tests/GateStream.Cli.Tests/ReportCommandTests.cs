using System.Text.Json;
using GateStream.Cli.Tests.Infrastructure;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Tests;

[Collection(CliProcesses.Name)]
public sealed class ReportCommandTests
{
    [Fact]
    public async Task The_report_reads_the_daemons_log_and_counts_an_operator_resume_as_a_reversal()
    {
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy(action: "pause"));
        var now = EventBatches.NowMicros;
        await daemon.PushAsync(EventBatches.Batch("checkout", "v1", 100, now, 100_000));
        await daemon.PushAsync(EventBatches.Batch("checkout", "v2", 100, now, 100_000, errorEvery: 2));
        await WaitForAsync(daemon, d => d.Action == V1.Action.Pause);
        var resume = await CliProcess.RunAsync(["override", "checkout/v2", "resume", "--reason", "false alarm", "--token-file", daemon.TokenFile, "--server", daemon.Url]);
        Assert.Equal(0, resume.ExitCode);
        await daemon.OverrideAsync("checkout/v2", V1.OverrideKind.Rollback, "enough");

        var json = await CliProcess.RunAsync(["report", "--json", "--server", daemon.Url]);
        var table = await CliProcess.RunAsync(["report", "--since", "1h", "--server", daemon.Url]);
        var csv = await CliProcess.RunAsync(["report", "--csv", "--reversal-window", "30m", "--server", daemon.Url]);

        Assert.Equal(0, json.ExitCode);
        using var document = JsonDocument.Parse(json.Stdout);
        var root = document.RootElement;
        var pauses = root.GetProperty("rules").EnumerateArray().Single(r => r.GetProperty("rule").GetString() == "errors" && r.GetProperty("action").GetString() == "ACTION_PAUSE");
        Assert.True(pauses.GetProperty("decisions").GetInt32() >= 1);
        Assert.Equal(1, pauses.GetProperty("reversed").GetInt32());
        Assert.Equal(3600, root.GetProperty("reversalWindowSeconds").GetDouble());
        var deployment = root.GetProperty("deployments").EnumerateArray().Single();
        Assert.Equal(("checkout", 0, 1), (deployment.GetProperty("deployment").GetString(), deployment.GetProperty("rollbacksAutomatic").GetInt32(), deployment.GetProperty("rollbacksOverride").GetInt32()));

        Assert.Equal(0, table.ExitCode);
        Assert.Matches(@"(?m)^  errors\s+PAUSE\s+\d+\s+1 \(\d+%\)$", table.Stdout);
        Assert.Matches(@"(?m)^  checkout\s+1\s+0\s+1 \(0/1\)\s+-$", table.Stdout);

        Assert.Equal(0, csv.ExitCode);
        Assert.Equal("metric,deployment,gate,rule,action,value", csv.StdoutLines[0]);
        Assert.Contains("reversed_by_override,,,errors,PAUSE,1", csv.StdoutLines);
        Assert.Contains("rollbacks_override,checkout,,,,1", csv.StdoutLines);
    }

    private static async Task WaitForAsync(TestDaemon daemon, Func<V1.Decision, bool> match)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!(await daemon.LoggedDecisionsAsync()).Any(match))
        {
            Assert.True(DateTime.UtcNow < deadline, "the expected decision never came");
            await Task.Delay(50);
        }
    }
}
