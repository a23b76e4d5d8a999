using GateStream.Cli.Tests.Infrastructure;
using Google.Protobuf;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Tests;

[Collection(CliProcesses.Name)]
public sealed class OverrideCommandTests
{
    [Fact]
    public async Task An_override_with_a_token_file_prints_the_decision_it_made()
    {
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy());
        await daemon.StartRolloutAsync("checkout");

        var result = await CliProcess.RunAsync(["override", "checkout/v2", "hold", "--for", "30m", "--reason", "freeze for the sale", "--token-file", daemon.TokenFile, "--server", daemon.Url]);

        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"^#1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z checkout/v2 HOLD 25 Holding: Override by alice: freeze for the sale; holding at weight 25 for 30m, then until no rule fires\.\n$", result.Stdout);
        Assert.Equal("", result.Stderr);
    }

    [Fact]
    public async Task The_token_can_come_from_the_environment_and_json_is_the_decision()
    {
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy());
        await daemon.StartRolloutAsync("checkout");
        var environment = new Dictionary<string, string?> { ["GATESTREAM_TOKEN"] = TestDaemon.Token };

        var pause = await CliProcess.RunAsync(["override", "checkout/v2", "pause", "--reason", "look", "--json", "--server", daemon.Url], environment);
        var suppress = await CliProcess.RunAsync(["override", "checkout/v2", "suppress", "errors", "--for", "30m", "--reason", "noisy", "--json", "--server", daemon.Url], environment);
        var rollback = await CliProcess.RunAsync(["override", "checkout/v2", "rollback", "--reason", "no", "--json", "--server", daemon.Url], environment);

        Assert.Equal(0, pause.ExitCode);
        var paused = JsonParser.Default.Parse<V1.Decision>(pause.Stdout);
        Assert.Equal((V1.Action.Pause, V1.Phase.Paused, "alice"), (paused.Action, paused.Phase, paused.Override.Actor));
        var suppressed = JsonParser.Default.Parse<V1.Decision>(suppress.Stdout);
        Assert.Equal((V1.OverrideKind.SuppressRule, "errors", TimeSpan.FromMinutes(30)), (suppressed.Override.Kind, suppressed.Override.Rule, suppressed.Override.Duration.ToTimeSpan()));
        var rolledBack = JsonParser.Default.Parse<V1.Decision>(rollback.Stdout);
        Assert.Equal((V1.Action.Rollback, 0u), (rolledBack.Action, rolledBack.Weight));
        Assert.Contains("\"weight\": 0", rollback.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_token_is_unauthenticated_and_never_printed()
    {
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy());
        await daemon.StartRolloutAsync("checkout");
        var tokenFile = Path.Combine(daemon.Root, "wrong-token");
        await File.WriteAllTextAsync(tokenFile, "mallory not-the-right-secret\n");

        var result = await CliProcess.RunAsync(["override", "checkout/v2", "pause", "--reason", "x", "--token-file", tokenFile, "--server", daemon.Url]);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Stdout);
        Assert.Equal(
            "gatestream override: pause checkout/v2: not authenticated: the bearer token is not valid (check --token-file or GATESTREAM_TOKEN) (UNAUTHENTICATED)\n",
            result.Stderr);
        Assert.DoesNotContain("not-the-right-secret", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_token_at_all_is_said_before_calling()
    {
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy());

        var result = await CliProcess.RunAsync(["override", "checkout/v2", "pause", "--reason", "x", "--server", daemon.Url]);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("gatestream override: no token: the control API needs one; pass --token-file FILE or set GATESTREAM_TOKEN\n", result.Stderr);
    }

    [Fact]
    public async Task An_unknown_gate_is_not_found()
    {
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy());

        var result = await CliProcess.RunAsync(["override", "nothing/v9", "rollback", "--reason", "x", "--token-file", daemon.TokenFile, "--server", daemon.Url]);

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith("gatestream override: rollback nothing/v9: ", result.Stderr, StringComparison.Ordinal);
        Assert.EndsWith(" (NOT_FOUND)\n", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("nothing/v9", result.Stderr[30..], StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_illegal_transition_says_why()
    {
        await using var daemon = await TestDaemon.StartAsync(Traffic.FastPolicy());
        await daemon.StartRolloutAsync("checkout");

        var result = await CliProcess.RunAsync(["override", "checkout/v2", "resume", "--reason", "x", "--token-file", daemon.TokenFile, "--server", daemon.Url]);

        Assert.Equal(1, result.ExitCode);
        Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("resume needs a holding, paused or rolled back gate", result.Stderr, StringComparison.Ordinal);
        Assert.EndsWith("(FAILED_PRECONDITION)\n", result.Stderr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(new[] { "suppress", "--reason", "x" }, "suppress needs the rule's name")]
    [InlineData(new[] { "suppress", "errors", "--reason", "x" }, "suppress needs --for")]
    [InlineData(new[] { "pause", "errors", "--reason", "x" }, "only suppress takes a rule name")]
    [InlineData(new[] { "pause", "--for", "1m", "--reason", "x" }, "--for applies to suppress and hold only")]
    [InlineData(new[] { "pause", "--reason", " " }, "--reason must say why")]
    public async Task Malformed_overrides_are_refused_before_calling(string[] args, string message)
    {
        using var nobody = FreePort.Reserve();
        var result = await CliProcess.RunAsync(["override", "checkout/v2", .. args, "--server", $"http://{nobody.Endpoint}"],
            new Dictionary<string, string?> { ["GATESTREAM_TOKEN"] = "t" });

        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr, StringComparison.Ordinal);
    }
}
