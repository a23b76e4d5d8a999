using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Engine;
using GateStream.Daemon.Options;
using GateStream.Daemon.Tests.DecisionLog;
using GateStream.Daemon.Tests.Integration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace GateStream.Daemon.Tests.Policies;

/// <summary>The policy watcher on a real directory with real triggers (inotify, SIGHUP), its reports observed as they happen.</summary>
public sealed class PolicyWatcherTests : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly string _root = Directory.CreateTempSubdirectory("gatestream-watcher-").FullName;
    private readonly ListLogger _log = new();

    public PolicyWatcherTests()
    {
        Directory.CreateDirectory(PolicyDirectory);
        Directory.CreateDirectory(Outside);
    }

    private string PolicyDirectory => Path.Combine(_root, "policies");

    private string Outside => Path.Combine(_root, "outside");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public async Task Start_with_every_hostile_file_present_runs_the_good_policy_and_reports_each_without_leaking_content()
    {
        await Write("good.yaml", TestPolicies.Fast(name: "good"));
        var hostile = await HostileDirectory.WriteAsync(PolicyDirectory, Outside);

        // The constructor loads: it once threw (exit 134), read 1.1 GB into memory, or blocked on the FIFO.
        using var watcher = await Task.Run(NewWatcher).WaitAsync(Timeout);

        Assert.Equal(["good"], watcher.Catalog.Current.Policies.Select(p => p.Name));
        var report = watcher.LastReport;
        Assert.Equal("start", report.Trigger);
        var problems = string.Join("\n", report.Problems);
        foreach (var name in hostile)
        {
            Assert.True(report.Problems.Any(p => p.StartsWith(Path.Combine(PolicyDirectory, name) + ":", StringComparison.Ordinal)), $"{name} not reported:\n{problems}");
        }

        Assert.True(report.Problems.Any(p => p.StartsWith(Path.Combine(PolicyDirectory, "attack-colon.yaml") + ":1:4:", StringComparison.Ordinal)), problems);
        Assert.True(report.Problems.Any(p => p.StartsWith(Path.Combine(PolicyDirectory, "attack-brackets.yaml") + ":1:4:", StringComparison.Ordinal)), problems);
        var logged = string.Join("\n", _log.Entries.Select(e => e.Message));
        Assert.DoesNotContain(HostileDirectory.Secret, logged, StringComparison.Ordinal);
        if (HostileDirectory.PasswdFirstLine() is { Length: > 0 } passwd)
        {
            Assert.DoesNotContain(passwd, logged, StringComparison.Ordinal);
        }

        Assert.All(_log.Entries, e => Assert.DoesNotContain('\n', e.Message));
    }

    [Fact]
    public async Task An_invalid_file_written_while_running_is_reported_by_the_file_trigger_and_the_running_policy_stays()
    {
        await Write("p.yaml", TestPolicies.Fast(name: "fast"));
        using var watcher = NewWatcher();
        await watcher.StartAsync(CancellationToken.None);
        var running = Assert.Single(watcher.Catalog.Current.Policies);

        var report = await WaitForReport(watcher, r => r.Problems.Any(p => p.Contains("p.yaml:1:", StringComparison.Ordinal)), () => Write("p.yaml", " : i"));

        Assert.Equal("file change", report.Trigger);
        Assert.Same(running, Assert.Single(watcher.Catalog.Current.Policies));
        Assert.Contains(_log.Entries, e => e.EventId == 1002 && e.Message.Contains("p.yaml:1:", StringComparison.Ordinal));
        await watcher.StopAsync(CancellationToken.None);
    }

    [SkippableFact]
    public async Task Sighup_reloads_the_directory()
    {
        Skip.If(OperatingSystem.IsWindows(), "Windows has no SIGHUP.");
        Skip.If(InheritedSignals.Ignored(InheritedSignals.Hangup), "this test process inherited SIGHUP as ignored (started under nohup?), so .NET never delivers it; run the tests without nohup.");

        await Write("p.yaml", TestPolicies.Fast(name: "fast"));
        using var watcher = NewWatcher();
        await watcher.StartAsync(CancellationToken.None);

        // Stop the file trigger so only the signal can cause the reload this test waits for.
        await watcher.StopAsync(CancellationToken.None);
        await Write("q.yaml", TestPolicies.Fast(name: "second", target: "payments"));
        var report = await WaitForReport(watcher, r => r.Trigger == "SIGHUP", async () =>
        {
            using var kill = System.Diagnostics.Process.Start("kill", ["-HUP", Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
        });

        Assert.Equal(["fast", "second"], report.Running.Select(r => r.Split('@')[0]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Deleting_a_policy_file_removes_its_policy()
    {
        await Write("a.yaml", TestPolicies.Fast(name: "first", target: "checkout"));
        await Write("b.yaml", TestPolicies.Fast(name: "second", target: "payments"));
        using var watcher = NewWatcher();
        await watcher.StartAsync(CancellationToken.None);
        Assert.Equal(2, watcher.Catalog.Current.Policies.Count);

        var report = await WaitForReport(watcher, r => r.Running.Count == 1, () =>
        {
            File.Delete(Path.Combine(PolicyDirectory, "b.yaml"));
            return Task.CompletedTask;
        });

        Assert.True(report.Ok, string.Join("\n", report.Problems));
        Assert.Equal("first", Assert.Single(watcher.Catalog.Current.Policies).Name);
        await watcher.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_name_used_in_two_files_keeps_the_first_and_reports_the_second()
    {
        await Write("a.yaml", TestPolicies.Fast(name: "fast", target: "checkout"));
        using var watcher = NewWatcher();
        await watcher.StartAsync(CancellationToken.None);

        var report = await WaitForReport(watcher, r => !r.Ok, () => Write("b.yaml", TestPolicies.Fast(name: "fast", target: "payments")));

        var problem = Assert.Single(report.Problems);
        Assert.Contains("b.yaml: policy 'fast' is also defined in", problem, StringComparison.Ordinal);
        Assert.EndsWith("a.yaml; the first one is used.", problem, StringComparison.Ordinal);
        Assert.Equal("checkout", Assert.Single(watcher.Catalog.Current.Policies).Target);
        await watcher.StopAsync(CancellationToken.None);
    }

    [Fact]
    public void A_missing_directory_is_reported_not_thrown()
    {
        Directory.Delete(PolicyDirectory);

        using var watcher = NewWatcher();

        Assert.Empty(watcher.Catalog.Current.Policies);
        Assert.Contains("does not exist", Assert.Single(watcher.LastReport.Problems), StringComparison.Ordinal);
    }

    private PolicyWatcher NewWatcher() => new(
        Microsoft.Extensions.Options.Options.Create(new GateStreamOptions { Policies = { Directory = PolicyDirectory } }),
        new DaemonMetrics(Prometheus.Metrics.NewCustomRegistry()),
        new TypedLogger<PolicyWatcher>(_log));

    private Task Write(string name, string text) => File.WriteAllTextAsync(Path.Combine(PolicyDirectory, name), text);

    /// <summary>Runs <paramref name="act"/> and waits for the first reload after it whose report is accepted.</summary>
    internal static async Task<PolicyReloadReport> WaitForReport(PolicyWatcher watcher, Func<PolicyReloadReport, bool> accept, Func<Task> act)
    {
        var seen = new TaskCompletionSource<PolicyReloadReport>(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnReload(PolicyReloadReport report)
        {
            if (accept(report))
            {
                seen.TrySetResult(report);
            }
        }

        watcher.Reloaded += OnReload;
        try
        {
            await act();
            return await seen.Task.WaitAsync(Timeout);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"no accepted reload; the last was: {watcher.LastReport}");
        }
        finally
        {
            watcher.Reloaded -= OnReload;
        }
    }

    private sealed class TypedLogger<T>(ListLogger inner) : ILogger<T>
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            inner.Log(logLevel, eventId, state, exception, formatter);
    }
}
