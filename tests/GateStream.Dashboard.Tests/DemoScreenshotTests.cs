namespace GateStream.Dashboard.Tests;

/// <summary>
/// The README's picture, from a real run: the daemon with its demo (the policy and traffic <c>dotnet run</c> starts),
/// left to run until the bad canary v2-0 is rolled back, then its gate page at 1280 x 800.
/// </summary>
[Collection(nameof(WithChromium))]
public sealed class DemoScreenshotTests(Chromium chromium)
{
    /// <summary>The demo fails v2-0 at 45 s and crosses the SLO at 90 s; the rollback follows within seconds.</summary>
    private static readonly TimeSpan RollbackPatience = TimeSpan.FromMinutes(4);

    /// <summary>Set to write the picture into docs/ (where the README shows it from) instead of the test's output folder.</summary>
    public const string WriteToDocsVariable = "GATESTREAM_WRITE_SCREENSHOT";

    [SkippableFact]
    public async Task The_demo_s_bad_canary_rolled_back_with_its_markers()
    {
        Skip.If(chromium.Browser is null, chromium.Missing);
        var root = RepositoryRoot();
        var policy = await File.ReadAllTextAsync(Path.Combine(root, "src", "GateStream.Daemon", "policies", "demo-api.yaml"));
        await using var daemon = await TestDaemon.StartAsync(policy, new Dictionary<string, string?> { ["GateStream:Demo:Enabled"] = "true" });
        string? phase = null;
        await Eventually.Until(
            async () => (phase = await DashboardTests.PhaseAsync(daemon, "demo-api/v2-0")) == "PHASE_ROLLED_BACK",
            RollbackPatience,
            () => $"the demo's v2-0 was not rolled back (last phase seen: {phase ?? "none"})",
            TimeSpan.FromSeconds(1));
        var decisions = await DashboardTests.DecisionsAsync(daemon, "demo-api/v2-0");
        Assert.Equal("ACTION_ROLLBACK", decisions[^1].GetProperty("action").GetString());

        await chromium.OnPageAsync(async page =>
        {
            await page.GotoAsync(DashboardTests.Root(daemon) + "#/gates/demo-api/v2-0");
            await Microsoft.Playwright.Assertions.Expect(page.Locator("#phase")).ToHaveTextAsync("Rolled back");
            await Microsoft.Playwright.Assertions.Expect(page.Locator("#chart-errors")).Not.ToHaveAttributeAsync("data-points", "0");
            await Microsoft.Playwright.Assertions.Expect(page.Locator("#markers .marker")).ToHaveCountAsync(decisions.Count);
            await page.Locator($"#markers .marker[data-sequence='{decisions[^1].GetProperty("sequence").GetString()}']").ClickAsync();
            await Microsoft.Playwright.Assertions.Expect(page.Locator("#evidence")).ToContainTextAsync("ROLLBACK to weight 0");

            var target = Environment.GetEnvironmentVariable(WriteToDocsVariable) is { Length: > 0 }
                ? Path.Combine(root, "docs", "dashboard.png")
                : Path.Combine(AppContext.BaseDirectory, "dashboard.png");
            await page.ScreenshotAsync(new() { Path = target });
            Assert.True(new FileInfo(target).Length > 10_000, $"{target} is too small to hold the page");
        }, 1280, 800);

        Assert.Contains(decisions, d => d.GetProperty("action").GetString() == "ACTION_PROMOTE");
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GateStream.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("GateStream.sln not found above " + AppContext.BaseDirectory);
    }
}
