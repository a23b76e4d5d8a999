using System.Text.Json;
using GateStream.Cli.Tests.Infrastructure;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Tests;

[Collection(CliProcesses.Name)]
public sealed class GatesCommandTests
{
    [Fact]
    public async Task Gates_are_listed_as_a_table_and_as_json()
    {
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy());
        await daemon.StartRolloutAsync("checkout", "v1", "v2");
        await daemon.StartRolloutAsync("payments", "2.0", "2.1");
        await daemon.OverrideAsync("payments/2.1", V1.OverrideKind.Hold, "freeze");

        var table = await CliProcess.RunAsync(["gates", "--server", daemon.Url]);
        var json = await CliProcess.RunAsync(["gates", "--json", "--server", daemon.Url]);

        Assert.Equal(0, table.ExitCode);
        var lines = table.StdoutLines;
        Assert.Equal(3, lines.Length);
        Assert.Matches(@"^GATE\s+DEPLOYMENT\s+BASELINE\s+CANARY\s+POLICY\s+PHASE\s+WEIGHT\s+LAST DECISION\s+FIRING$", lines[0]);
        Assert.Matches(@"^checkout/v2\s+checkout\s+v1\s+v2\s+fast\s+Progressing\s+25\s+-\s+-$", lines[1]);
        Assert.Matches(@"^payments/2\.1\s+payments\s+2\.0\s+2\.1\s+fast\s+Holding\s+25\s+#1, (just now|\d+(\.\d+)?s ago)\s+-$", lines[2]);

        Assert.Equal(0, json.ExitCode);
        using var document = JsonDocument.Parse(json.Stdout);
        var gates = document.RootElement.EnumerateArray().ToArray();
        Assert.Equal(["checkout/v2", "payments/2.1"], gates.Select(g => g.GetProperty("id").GetString()));
        Assert.Equal("PHASE_HOLDING", gates[1].GetProperty("phase").GetString());
        Assert.Equal(25, gates[0].GetProperty("weight").GetInt32());
        Assert.Equal("1", gates[1].GetProperty("lastDecisionSequence").GetString());
    }

    [Fact]
    public async Task Finished_gates_are_listed_with_all()
    {
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy());
        await daemon.StartRolloutAsync("checkout");
        await daemon.OverrideAsync("checkout/v2", V1.OverrideKind.PromoteFull, "done");

        var current = await CliProcess.RunAsync(["gates", "--server", daemon.Url]);
        var all = await CliProcess.RunAsync(["gates", "--all", "--server", daemon.Url]);
        var none = await CliProcess.RunAsync(["gates", "--json", "--deployment", "nothing", "--server", daemon.Url]);

        Assert.Equal("No gate is under way (--all lists finished ones too).\n", current.Stdout);
        Assert.Matches(@"checkout/v2\s+checkout\s+v1\s+v2\s+fast\s+Succeeded\s+100\s+#1", all.StdoutLines[1]);
        Assert.Equal("[]\n", none.Stdout);
    }
}
