using GateStream.Core.Time;
using GateStream.Cli.Internal;
using GateStream.Cli.Tests.Infrastructure;

namespace GateStream.Cli.Tests;

[Collection(CliProcesses.Name)]
public sealed class CommandLineTests
{
    [Fact]
    public async Task Help_lists_every_command_with_examples()
    {
        var result = await CliProcess.RunAsync(["--help"]);

        Assert.Equal(0, result.ExitCode);
        foreach (var command in new[] { "validate", "gates", "watch", "override", "record", "replay", "report" })
        {
            Assert.Contains("  " + command, result.Stdout, StringComparison.Ordinal);
        }

        Assert.Contains("Examples:", result.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("validate")]
    [InlineData("gates")]
    [InlineData("watch")]
    [InlineData("override")]
    [InlineData("record")]
    [InlineData("replay")]
    [InlineData("report")]
    public async Task Each_command_has_help_with_examples(string command)
    {
        var result = await CliProcess.RunAsync([command, "--help"]);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Usage:", result.Stdout, StringComparison.Ordinal);
        Assert.Contains("Examples:\n  gatestream " + command, result.Stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Version_prints_the_version()
    {
        var result = await CliProcess.RunAsync(["--version"]);

        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"^\d+\.\d+\.\d+", result.Stdout);
    }

    [Fact]
    public async Task An_unreachable_daemon_is_one_line_on_stderr_and_exit_1()
    {
        using var nobody = FreePort.Reserve();
        var result = await CliProcess.RunAsync(["gates", "--server", $"http://{nobody.Endpoint}"]);

        Assert.Equal(1, result.ExitCode);
        Assert.Equal("", result.Stdout);
        var line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("gatestream gates: cannot reach the GateStream daemon at http://127.0.0.1:", line, StringComparison.Ordinal);
        Assert.EndsWith("(UNAVAILABLE)", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("ftp://127.0.0.1:4317")]
    [InlineData("127.0.0.1")]
    [InlineData("not a server")]
    public async Task A_bad_server_is_a_usage_error(string server)
    {
        var result = await CliProcess.RunAsync(["gates", "--server", server]);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"gatestream gates: --server: '{server}' is not host:port or an http:// or https:// URL (e.g. 127.0.0.1:4317)\n", result.Stderr);
    }

    [Theory]
    [InlineData("--server")]
    [InlineData("GATESTREAM_SERVER")]
    public async Task The_server_is_host_and_port_as_grpcurl_takes_it_from_the_option_or_the_environment(string how)
    {
        using var nobody = FreePort.Reserve();
        var result = how == "--server"
            ? await CliProcess.RunAsync(["gates", "--server", nobody.Endpoint.ToString()])
            : await CliProcess.RunAsync(["gates"], new Dictionary<string, string?> { ["GATESTREAM_SERVER"] = nobody.Endpoint.ToString() });

        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"gatestream gates: cannot reach the GateStream daemon at http://{nobody.Endpoint}:", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_kafka_source_without_brokers_is_a_usage_error()
    {
        var result = await CliProcess.RunAsync(["replay", "--events", "kafka://events?group=x", "--policy", "policies"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("gatestream replay: --events: 'kafka://events?group=x' names no broker: use kafka://host:port[,host:port]/events or --bootstrap host:port\n", result.Stderr);
    }

    [Theory]
    [InlineData(new[] { "record" }, "gatestream record: Option '--out' is required (see 'gatestream record --help').\n")]
    [InlineData(new[] { "replay", "--events", "e.gse", "--policy", "p", "--speed", "fast" }, "gatestream replay: --speed: 'fast' is not max, realtime or a factor such as 10x (see 'gatestream replay --help').\n")]
    [InlineData(new[] { "watch", "--from", "latest" }, "gatestream watch: --from: 'latest' is neither a decision sequence number nor 'start' (see 'gatestream watch --help').\n")]
    [InlineData(new[] { "report", "--since", "2 weeks" }, "gatestream report: --since: '2 weeks' has an unknown unit ' weeks': expected a number followed by a unit (ns, us, ms, s, m, h, d), e.g. 30s, 2m30s, 1h, 500ms (a duration such as 250ms, 30s, 10m, 1h30m or 14d) (see 'gatestream report --help').\n")]
    [InlineData(new[] { "watch", "--count", "abc" }, "gatestream watch: --count: 'abc' is not a whole number of at least 1 (see 'gatestream watch --help').\n")]
    [InlineData(new[] { "gates", "-o", "xml" }, "gatestream gates: -o: 'xml' is not one of table, wide, json, yaml (see 'gatestream gates --help').\n")]
    [InlineData(new[] { "gates", "-o", "yaml", "--json" }, "gatestream gates: --json and -o yaml: choose one\n")]
    [InlineData(new[] { "report", "--json", "--csv" }, "gatestream report: --json and --csv: choose one\n")]
    public async Task A_usage_error_is_one_line_on_stderr_and_exit_2(string[] args, string stderr)
    {
        var result = await CliProcess.RunAsync(args);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("", result.Stdout);
        Assert.Equal(stderr, result.Stderr);
    }

    [Fact]
    public async Task No_command_prints_the_overview_and_exits_2()
    {
        var result = await CliProcess.RunAsync([]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("Commands:", result.Stdout, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("250ms", 0.25)]
    [InlineData("30s", 30)]
    [InlineData("10m", 600)]
    [InlineData("1h30m", 5400)]
    [InlineData("14d", 1_209_600)]
    [InlineData("1.5s", 1.5)]
    public void Durations_read_as_people_type_them(string text, double seconds)
    {
        Assert.True(Durations.TryParsePositive(text, out var value, out var problem), problem);
        Assert.Equal(TimeSpan.FromSeconds(seconds), value);
    }

    [Theory]
    [InlineData("")]
    [InlineData("10")]
    [InlineData("10x")]
    [InlineData("0s")]
    [InlineData("m")]
    public void Bad_durations_say_why(string text)
    {
        Assert.False(Durations.TryParsePositive(text, out _, out var problem));
        Assert.NotEmpty(problem);
    }

    [Theory]
    [InlineData(0.25, "250ms")]
    [InlineData(1.5, "1.5s")]
    [InlineData(150, "2m30s")]
    [InlineData(3900, "1h5m")]
    [InlineData(273_600, "76h")]
    public void Durations_print_compactly(double seconds, string text) =>
        Assert.Equal(text, Durations.Format(TimeSpan.FromSeconds(seconds)));
}
