using GateStream.Daemon.Engine;
using GateStream.Daemon.Tests.Integration;
using Microsoft.Extensions.DependencyInjection;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Policies;

/// <summary>The whole daemon on real sockets while its policy directory holds files meant to break it.</summary>
public class PolicyReloadTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_daemon_starts_and_keeps_serving_with_hostile_policy_files_present()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast());
        var outside = Directory.CreateDirectory(Path.Combine(daemon.Root, "outside")).FullName;
        var hostile = await HostileDirectory.WriteAsync(daemon.PolicyDirectory, outside);

        await daemon.StartAsync().WaitAsync(Timeout);

        var watcher = daemon.Services.GetRequiredService<PolicyWatcher>();
        Assert.All(hostile, name => Assert.Contains(watcher.LastReport.Problems, p => p.Contains(name, StringComparison.Ordinal)));
        Assert.DoesNotContain(watcher.LastReport.Problems, p => p.Contains(HostileDirectory.Secret, StringComparison.Ordinal));

        // Serving: a rollout under the good policy, events in, the gate visible, health green.
        await daemon.Control.StartRolloutAsync(new V1.StartRolloutRequest { Deployment = "checkout", BaselineVersion = "v1", CanaryVersion = "v2" }, TestDaemon.Bearer());
        var pushed = await daemon.PushAsync(EventBatches.Batch("checkout", "v1", 40), EventBatches.Batch("checkout", "v2", 20));
        Assert.Equal(60ul, pushed.AcceptedEvents);
        var gate = await daemon.Decisions.GetGateAsync(new V1.GetGateRequest { Gate = "checkout/v2" });
        Assert.Equal("fast", gate.Policy);

        // A reload with the same files, as the timer or SIGHUP would run it, changes nothing and throws nothing.
        var again = watcher.Reload("test");
        Assert.Equal(watcher.LastReport.Problems.Count, again.Problems.Count);
        using var http = new HttpClient();
        var health = await http.GetAsync(new Uri($"http://127.0.0.1:{daemon.HttpPort}/healthz"));
        Assert.True(health.IsSuccessStatusCode, $"/healthz answered {(int)health.StatusCode}");
    }

    [Fact]
    public async Task A_changed_policy_file_is_reloaded_and_an_invalid_one_is_reported_and_ignored()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"));
        await daemon.StartAsync();
        var watcher = daemon.Services.GetRequiredService<PolicyWatcher>();
        await daemon.Control.StartRolloutAsync(new V1.StartRolloutRequest { Deployment = "checkout", BaselineVersion = "v1", CanaryVersion = "v2" }, TestDaemon.Bearer());
        var original = await RevisionAsync(daemon);
        var file = Path.Combine(daemon.PolicyDirectory, "policy.yaml");

        var valid = await PolicyWatcherTests.WaitForReport(
            watcher,
            r => r.Ok && !r.Running.Contains($"fast@{original}"),
            () => File.WriteAllTextAsync(file, TestPolicies.Fast(stepInterval: "1h", maxErrorRate: 0.02)));
        var changed = Assert.Single(valid.Running).Split('@')[1];
        Assert.NotEqual(original, changed);
        await WaitForRevisionAsync(daemon, changed);

        // The problem is waited for, not slept for: the reload ran, reported the file and position, and kept the policy.
        var invalid = await PolicyWatcherTests.WaitForReport(
            watcher,
            r => !r.Ok,
            () => File.WriteAllTextAsync(file, "apiVersion: gatestream.io/v1\nkind: GatePolicy\nmetadata: { name: fast }\nspec: { target: checkout, rules: [ { name: e, signal: nope } ] }\n"));
        Assert.Contains(invalid.Problems, p => p.StartsWith(file + ":4:", StringComparison.Ordinal) && p.Contains("nope", StringComparison.Ordinal));
        Assert.Equal([$"fast@{changed}"], invalid.Running);
        await WaitForRevisionAsync(daemon, changed);
    }

    private static async Task<string> RevisionAsync(TestDaemon daemon) =>
        (await daemon.Decisions.GetGateAsync(new V1.GetGateRequest { Gate = "checkout/v2" })).PolicyRevision;

    /// <summary>The gate takes a new revision at its next tick; wait for that tick, then for the gate to show it.</summary>
    private static async Task WaitForRevisionAsync(TestDaemon daemon, string expected)
    {
        using var timeout = new CancellationTokenSource(Timeout);
        while (await RevisionAsync(daemon) != expected)
        {
            await Task.Delay(50, timeout.Token);
        }
    }
}
