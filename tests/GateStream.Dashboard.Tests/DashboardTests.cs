using System.Diagnostics;
using System.Text.Json;
using Microsoft.Playwright;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Dashboard.Tests;

/// <summary>The dashboard at <c>/</c>, in headless Chromium, against a real daemon (<see cref="TestDaemon"/>) on real sockets.</summary>
[Collection(nameof(WithChromium))]
public sealed class DashboardTests(Chromium chromium)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [SkippableFact]
    public async Task The_overview_lists_a_gate_within_2_s_of_its_first_decision()
    {
        Skip.If(chromium.Browser is null, chromium.Missing);
        await using var daemon = await TestDaemon.StartAsync(TestPolicies.Fast(stepInterval: "1h"));
        await chromium.OnPageAsync(async page =>
        {
            await page.GotoAsync(Root(daemon));
            await Assertions.Expect(page.Locator("#gates")).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("#live")).ToHaveTextAsync("live");

            await daemon.StartRolloutAsync("checkout");
            var decision = await daemon.OverrideAsync("checkout/v2", V1.OverrideKind.Pause, "looking into it");
            var shown = Stopwatch.StartNew();
            var row = page.Locator("tr[data-gate='checkout/v2']");
            await Assertions.Expect(row).ToContainTextAsync("Paused", new() { Timeout = 2_000 });
            shown.Stop();

            Assert.Equal(V1.Phase.Paused, decision.Phase);
            await Assertions.Expect(row).ToContainTextAsync("checkout");
            await Assertions.Expect(row).ToContainTextAsync("v1");
            await Assertions.Expect(row.Locator("a")).ToHaveAttributeAsync("href", "#/gates/checkout/v2");
            Assert.True(shown.Elapsed < TimeSpan.FromSeconds(2), $"shown after {shown.Elapsed}");
        });
    }

    [SkippableFact]
    public async Task A_gate_page_charts_hold_points_and_a_marker_for_each_decision()
    {
        Skip.If(chromium.Browser is null, chromium.Missing);
        await using var daemon = await TestDaemon.StartAsync(TestPolicies.Fast(stepInterval: "1s"));
        using var traffic = new CancellationTokenSource();
        var pump = PumpAsync(daemon, "checkout", errorEvery: 0, traffic.Token);
        try
        {
            // Opened from traffic at the canary's share (25%), promoted a step a second up to 100: then Succeeded.
            await Eventually.Until(async () => await PhaseAsync(daemon, "checkout/v2") == "PHASE_SUCCEEDED", Patience);
        }
        finally
        {
            await traffic.CancelAsync();
            await pump;
        }

        var decisions = await DecisionsAsync(daemon, "checkout/v2");
        Assert.True(decisions.Count >= 2, $"{decisions.Count} decisions");

        await chromium.OnPageAsync(async page =>
        {
            await page.GotoAsync(Root(daemon) + "#/gates/checkout/v2");
            foreach (var chart in new[] { "errors", "latency", "rate", "weight" })
            {
                await Assertions.Expect(page.Locator($"#chart-{chart}")).Not.ToHaveAttributeAsync("data-points", "0");
                await Assertions.Expect(page.Locator($"#chart-{chart} canvas")).ToBeVisibleAsync();
            }

            var points = int.Parse(await page.Locator("#chart-rate").GetAttributeAsync("data-points") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(points >= 2, $"{points} points");
            await Assertions.Expect(page.Locator("#markers .marker")).ToHaveCountAsync(decisions.Count);
            await Assertions.Expect(page.Locator("#timeline > li")).ToHaveCountAsync(decisions.Count);
            foreach (var sequence in decisions.Select(d => d.GetProperty("sequence").GetString()))
            {
                await Assertions.Expect(page.Locator($"#markers .marker[data-sequence='{sequence}']")).ToHaveCountAsync(1);
            }

            // Keyboard: a marker takes focus and Enter shows its decision's evidence.
            var last = decisions[^1];
            var marker = page.Locator($"#markers .marker[data-sequence='{last.GetProperty("sequence").GetString()}']");
            await marker.FocusAsync();
            await page.Keyboard.PressAsync("Enter");
            await Assertions.Expect(page.Locator("#evidence")).ToContainTextAsync($"Decision #{last.GetProperty("sequence").GetString()}: PROMOTE to weight 100");
            await Assertions.Expect(page.Locator("#evidence")).ToContainTextAsync("errors");
            await Assertions.Expect(page.Locator("#phase")).ToHaveTextAsync("Succeeded");
        });
    }

    [SkippableFact]
    public async Task An_override_from_the_page_with_a_valid_token_decides_and_a_bad_token_is_refused()
    {
        Skip.If(chromium.Browser is null, chromium.Missing);
        await using var daemon = await TestDaemon.StartAsync(TestPolicies.Fast(stepInterval: "1h"));
        await daemon.StartRolloutAsync("checkout");
        await chromium.OnPageAsync(async page =>
        {
            await page.GotoAsync(Root(daemon) + "#/gates/checkout/v2");
            await Assertions.Expect(page.Locator("#phase")).ToHaveTextAsync("Progressing");

            await page.Locator("#token").FillAsync("not-a-token");
            await page.Locator("#reason").FillAsync("canary looks odd");
            await page.Locator("button[data-kind='OVERRIDE_KIND_PAUSE']").ClickAsync();
            await Assertions.Expect(page.Locator("#override-result")).ToContainTextAsync("Refused (401");
            Assert.Equal("PHASE_PROGRESSING", await PhaseAsync(daemon, "checkout/v2"));
            Assert.Empty(await DecisionsAsync(daemon, "checkout/v2"));

            await page.Locator("#token").FillAsync(TestDaemon.Token);
            await page.Locator("button[data-kind='OVERRIDE_KIND_PAUSE']").ClickAsync();
            await Assertions.Expect(page.Locator("#override-result")).ToContainTextAsync("PAUSE to weight 25 (Paused), by alice");

            var logged = Assert.Single(await DecisionsAsync(daemon, "checkout/v2"));
            Assert.Equal("ACTION_PAUSE", logged.GetProperty("action").GetString());
            Assert.Equal("alice", logged.GetProperty("override").GetProperty("actor").GetString());
            Assert.Equal("canary looks odd", logged.GetProperty("override").GetProperty("reason").GetString());
            await Assertions.Expect(page.Locator("#override-result")).ToContainTextAsync($"Decision #{logged.GetProperty("sequence").GetString()}");
            await Assertions.Expect(page.Locator("#phase")).ToHaveTextAsync("Paused");
            await Assertions.Expect(page.Locator("#markers .marker")).ToHaveCountAsync(1);
            await Assertions.Expect(page.Locator("#timeline > li")).ToHaveCountAsync(1);

            // A rule suppressed from the page, then the canary resumed: each one decision, audited with the actor.
            await page.Locator("#suppress-rule").SelectOptionAsync("errors");
            await page.Locator("button[data-kind='OVERRIDE_KIND_SUPPRESS_RULE']").ClickAsync();
            await Assertions.Expect(page.Locator("#override-result")).ToContainTextAsync("by alice");
            await page.Locator("button[data-kind='OVERRIDE_KIND_RESUME']").ClickAsync();
            await Assertions.Expect(page.Locator("#override-result")).ToContainTextAsync("RESUME");
            await Assertions.Expect(page.Locator("#phase")).ToHaveTextAsync("Progressing");
            Assert.Equal(3, (await DecisionsAsync(daemon, "checkout/v2")).Count);
            await Assertions.Expect(page.Locator("#markers .marker")).ToHaveCountAsync(3);
        },
        // Chromium logs the refused request itself ("status of 401") as a console error: the answer the test asked for.
        expected: e => e.Contains("401", StringComparison.Ordinal));
    }

    [SkippableFact]
    public async Task On_a_phone_sized_screen_nothing_overflows_sideways()
    {
        Skip.If(chromium.Browser is null, chromium.Missing);
        await using var daemon = await TestDaemon.StartAsync(TestPolicies.Fast(stepInterval: "1h"));
        await daemon.StartRolloutAsync("checkout");
        await chromium.OnPageAsync(async page =>
        {
            await page.GotoAsync(Root(daemon));
            await Assertions.Expect(page.Locator("tr[data-gate='checkout/v2']")).ToBeVisibleAsync();
            Assert.True(await FitsAsync(page), "the overview is wider than the screen");

            await page.Locator("tr[data-gate='checkout/v2'] a").ClickAsync();
            await Assertions.Expect(page.Locator("#phase")).ToHaveTextAsync("Progressing");
            await Assertions.Expect(page.Locator("#chart-weight canvas")).ToBeVisibleAsync();
            Assert.True(await FitsAsync(page), "the gate page is wider than the screen");
        }, 390, 844);
    }

    [SkippableFact]
    public async Task Turned_off_by_configuration_the_root_is_not_found_and_the_api_stays()
    {
        await using var daemon = await TestDaemon.StartAsync(TestPolicies.Fast(), new Dictionary<string, string?> { ["GateStream:Dashboard:Enabled"] = "false" });
        using var http = new HttpClient { BaseAddress = new Uri(Root(daemon)) };
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync(new Uri("/", UriKind.Relative))).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, (await http.GetAsync(new Uri("/dashboard/app.js", UriKind.Relative))).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.OK, (await http.GetAsync(new Uri("/api/v1/gates", UriKind.Relative))).StatusCode);
    }

    internal static string Root(TestDaemon daemon) => $"http://127.0.0.1:{daemon.HttpPort}/";

    private static async Task<bool> FitsAsync(IPage page) =>
        await page.EvaluateAsync<bool>("() => document.documentElement.scrollWidth <= window.innerWidth");

    internal static async Task<string?> PhaseAsync(TestDaemon daemon, string gate)
    {
        using var http = new HttpClient();
        var response = await http.GetAsync(new Uri($"{Root(daemon)}api/v1/gates/{gate}"));
        return response.IsSuccessStatusCode
            ? JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("phase").GetString()
            : null;
    }

    internal static async Task<List<JsonElement>> DecisionsAsync(TestDaemon daemon, string gate)
    {
        using var http = new HttpClient();
        var body = await http.GetStringAsync(new Uri($"{Root(daemon)}api/v1/decisions?gate={Uri.EscapeDataString(gate)}&limit=1000"));
        return [.. JsonDocument.Parse(body).RootElement.GetProperty("decisions").EnumerateArray().Select(d => d.Clone())];
    }

    /// <summary>Healthy baseline and canary traffic (a quarter each second) until cancelled.</summary>
    private static async Task PumpAsync(TestDaemon daemon, string deployment, int errorEvery, CancellationToken cancellationToken)
    {
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var now = EventBatches.NowMicros;
                await daemon.PushAsync(
                    EventBatches.Batch(deployment, "v1", 60, now, 250_000, latencyMicros: 3_000),
                    EventBatches.Batch(deployment, "v2", 20, now, 250_000, errorEvery, latencyMicros: 4_000));
                await Task.Delay(250, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }
}
