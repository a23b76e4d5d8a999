using System.Diagnostics;
using System.Net.Http;
using System.Text.Json;
using System.Text.RegularExpressions;
using Xunit.Abstractions;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Integration;

/// <summary>
/// The Prometheus alert rules and the Grafana dashboard under monitoring/: valid for their tools, and reading only
/// series a running daemon really exports (a renamed metric fails here, not silently on someone's board).
/// </summary>
public partial class MonitoringAssetsTests(ITestOutputHelper output)
{
    private static readonly string Root = RepoRoot();
    private static readonly string Rules = Path.Combine(Root, "monitoring", "prometheus", "gatestream.rules.yml");
    private static readonly string RuleTests = Path.Combine(Root, "monitoring", "prometheus", "gatestream.rules.test.yml");
    private static readonly string Dashboard = Path.Combine(Root, "monitoring", "grafana", "gatestream.json");

    [SkippableFact]
    public async Task The_alert_rules_pass_promtool_check_and_their_unit_tests()
    {
        var promtool = FindOnPath("promtool");
        Skip.If(promtool is null, "promtool is not installed (Debian package prometheus; .ci/run installs it)");

        var (check, checkOutput) = await RunAsync(promtool!, "check", "rules", Rules);
        output.WriteLine(checkOutput);
        Assert.True(check == 0, checkOutput);
        var (test, testOutput) = await RunAsync(promtool!, "test", "rules", RuleTests);
        output.WriteLine(testOutput);
        Assert.True(test == 0, testOutput);
    }

    [Fact]
    public async Task Every_series_the_rules_and_the_dashboard_read_is_exported_by_the_daemon()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h", maxErrorRate: 0.9));
        await daemon.StartAsync();
        await daemon.Control.StartRolloutAsync(
            new V1.StartRolloutRequest { Deployment = "checkout", BaselineVersion = "v1", CanaryVersion = "v7" }, TestDaemon.Bearer());
        await daemon.PushAsync(EventBatches.Batch("checkout", "v1", 40), EventBatches.Batch("checkout", "v7", 20));
        await daemon.Control.OverrideAsync(
            new V1.OverrideRequest { Gate = "checkout/v7", Kind = V1.OverrideKind.Pause, Reason = "monitoring assets" }, TestDaemon.Bearer());
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{daemon.HttpPort}") };
        var exported = MetricFamily().Matches(await http.GetStringAsync(new Uri("/metrics", UriKind.Relative)))
            .Select(m => m.Groups[1].Value)
            .ToHashSet(StringComparer.Ordinal);

        var rules = SeriesName().Matches(await File.ReadAllTextAsync(Rules)).Select(m => m.Value);
        var dashboard = DashboardExpressions(JsonDocument.Parse(await File.ReadAllTextAsync(Dashboard)).RootElement)
            .SelectMany(e => SeriesName().Matches(e).Select(m => m.Value))
            .ToList();
        Assert.NotEmpty(dashboard);

        var missing = rules.Concat(dashboard)
            .Select(name => Regex.Replace(name, "_(bucket|sum|count)$", string.Empty))
            .Where(name => !exported.Contains(name))
            .Distinct()
            .ToList();
        Assert.True(missing.Count == 0, "not exported by the daemon: " + string.Join(", ", missing));
    }

    [GeneratedRegex(@"^# TYPE (gatestream_[a-z0-9_]+) ", RegexOptions.Multiline)]
    private static partial Regex MetricFamily();

    [GeneratedRegex(@"gatestream_[a-z0-9_]+")]
    private static partial Regex SeriesName();

    /// <summary>Every PromQL expression in the dashboard: panel targets, template queries, annotations.</summary>
    private static IEnumerable<string> DashboardExpressions(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name is "expr" or "definition" && property.Value.ValueKind == JsonValueKind.String)
                    {
                        yield return property.Value.GetString()!;
                    }

                    foreach (var inner in DashboardExpressions(property.Value))
                    {
                        yield return inner;
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    foreach (var inner in DashboardExpressions(item))
                    {
                        yield return inner;
                    }
                }

                break;
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await stdout + await stderr);
    }

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    private static string RepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "GateStream.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("GateStream.sln not found above the test's directory.");
    }
}
