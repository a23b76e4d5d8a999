using Microsoft.Playwright;

namespace GateStream.Dashboard.Tests;

/// <summary>
/// Headless Chromium from the system (Debian's <c>chromium</c> package at <c>/usr/bin/chromium</c>, or the path in
/// <c>GATESTREAM_CHROMIUM</c>), driven by Playwright's driver; Playwright's own browser download is never used. Without
/// the browser every test skips, saying why.
/// </summary>
public sealed class Chromium : IAsyncLifetime
{
    public const string DefaultPath = "/usr/bin/chromium";

    private IPlaywright? _playwright;

    public IBrowser? Browser { get; private set; }

    /// <summary>Why there is no browser (null when there is one).</summary>
    public string? Missing { get; private set; }

    public static string ExecutablePath => Environment.GetEnvironmentVariable("GATESTREAM_CHROMIUM") is { Length: > 0 } path ? path : DefaultPath;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            Missing = $"no Chromium at {ExecutablePath}: install Debian's chromium package (apt-get install chromium; .ci/run does) "
                + "or set GATESTREAM_CHROMIUM to a Chromium binary";
            return;
        }

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = ExecutablePath, Headless = true });
    }

    public async Task DisposeAsync()
    {
        if (Browser is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }

    /// <summary>
    /// Runs <paramref name="test"/> on a fresh page at <paramref name="width"/> x <paramref name="height"/>, closes it,
    /// and fails on any console error or uncaught exception the page had, except those <paramref name="expected"/> accepts.
    /// </summary>
    public async Task OnPageAsync(Func<IPage, Task> test, int width = 1280, int height = 800, Func<string, bool>? expected = null)
    {
        var errors = new List<string>();
        var page = await NewPageAsync(errors, width, height);
        try
        {
            await test(page);
        }
        finally
        {
            await page.Context.CloseAsync();
        }

        lock (errors)
        {
            Assert.DoesNotContain(errors, e => expected is null || !expected(e));
        }
    }

    /// <summary>
    /// A page in a fresh context at <paramref name="width"/> x <paramref name="height"/>, recording every console error
    /// and uncaught exception into <paramref name="errors"/>.
    /// </summary>
    private async Task<IPage> NewPageAsync(List<string> errors, int width = 1280, int height = 800)
    {
        Skip.If(Browser is null, Missing);
        var context = await Browser!.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        var page = await context.NewPageAsync();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                lock (errors)
                {
                    errors.Add($"console: {message.Text} ({message.Location})");
                }
            }
        };
        page.PageError += (_, error) =>
        {
            lock (errors)
            {
                errors.Add("uncaught: " + error);
            }
        };
        return page;
    }
}

[CollectionDefinition(nameof(WithChromium))]
public sealed class WithChromium : ICollectionFixture<Chromium>;
