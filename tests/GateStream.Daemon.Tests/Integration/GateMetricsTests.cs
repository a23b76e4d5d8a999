using System.Net.Http;
using GateStream.Core.Gates;
using GateStream.Daemon.Diagnostics;
using Prometheus;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Integration;

/// <summary>Per-gate series on /metrics: what a Grafana board and the alert rules in deploy/ read.</summary>
public class GateMetricsTests
{
    [Fact]
    public async Task A_gate_shows_its_weight_phase_versions_and_decisions_on_metrics()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h", maxErrorRate: 0.9));
        await daemon.StartAsync();
        await daemon.Control.StartRolloutAsync(
            new V1.StartRolloutRequest { Deployment = "checkout", BaselineVersion = "v1", CanaryVersion = "v7" }, TestDaemon.Bearer());
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{daemon.HttpPort}") };
        const string Gate = "deployment=\"checkout\",canary=\"v7\"";

        // Traffic keeps arriving, as it would: the share is the canary's part of the requests between two history samples
        // (5 s apart), so one early batch alone may fall before the first sample and never show. Pause once it shows.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            await daemon.PushAsync(EventBatches.Batch("checkout", "v1", 40), EventBatches.Batch("checkout", "v7", 20, errorEvery: 4, latencyMicros: 3_000));
            var seen = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), timeout.Token);
            if (Value(seen, $"gatestream_gate_error_ratio{{{Gate},role=\"canary\"}}") > 0 && Value(seen, $"gatestream_gate_observed_share_percent{{{Gate}}}") > 0)
            {
                break;
            }

            await Task.Delay(200, timeout.Token);
        }

        await daemon.Control.OverrideAsync(
            new V1.OverrideRequest { Gate = "checkout/v7", Kind = V1.OverrideKind.Pause, Reason = "look at metrics" }, TestDaemon.Bearer());
        var text = await ScrapeUntilAsync(http, t => Value(t, $"gatestream_gate_phase{{{Gate},phase=\"paused\"}}") == 1);

        Assert.Equal(25, Value(text, $"gatestream_gate_weight_percent{{{Gate}}}"));
        Assert.Equal(1, Value(text, $"gatestream_gate_phase{{{Gate},phase=\"paused\"}}"));
        Assert.Equal(0, Value(text, $"gatestream_gate_phase{{{Gate},phase=\"progressing\"}}"));
        Assert.Equal(1, Value(text, $"gatestream_gate_decisions_total{{{Gate},action=\"pause\"}}"));
        Assert.Equal(5.0 / 20, Value(text, $"gatestream_gate_error_ratio{{{Gate},role=\"canary\"}}"));
        Assert.Equal(0, Value(text, $"gatestream_gate_error_ratio{{{Gate},role=\"baseline\"}}"));
        Assert.InRange(Value(text, $"gatestream_gate_latency_p99_seconds{{{Gate},role=\"canary\"}}"), 0.003 * 0.99, 0.003 * 1.01);
        Assert.InRange(Value(text, $"gatestream_gate_latency_p99_seconds{{{Gate},role=\"baseline\"}}"), 0.002 * 0.99, 0.002 * 1.01);
        Assert.True(Value(text, $"gatestream_gate_requests_per_second{{{Gate},role=\"baseline\"}}") > 0);
        Assert.True(Value(text, $"gatestream_gate_observed_share_percent{{{Gate}}}") is > 0 and < 100);
    }

    [Fact]
    public async Task A_gate_that_leaves_the_read_leaves_metrics_and_its_labels_stay_bounded()
    {
        var registry = Metrics.NewCustomRegistry();
        var gates = new List<(GateView, GateVitals)> { (View("api", "v2"), default), (View("api", "v3"), default) };
        var metrics = new GateMetrics(registry, _ => Task.FromResult<IReadOnlyList<(GateView, GateVitals)>>([.. gates]));
        metrics.OnDecision(new V1.Decision { Deployment = "api", CanaryVersion = "v2", Gate = "api/v2", Action = V1.Action.Rollback });

        var before = await ExportAsync(registry);
        Assert.Equal(1, Value(before, "gatestream_gate_decisions_total{deployment=\"api\",canary=\"v2\",action=\"rollback\"}"));
        Assert.Contains("canary=\"v3\"", before, StringComparison.Ordinal);

        gates.RemoveAt(0);
        var after = await ExportAsync(registry);
        Assert.DoesNotContain("canary=\"v2\"", after, StringComparison.Ordinal);
        Assert.Contains("canary=\"v3\"", after, StringComparison.Ordinal);
    }

    private static GateView View(string deployment, string canary) => new(
        $"{deployment}/{canary}", deployment, "v1", canary, "p", "r", Core.Policies.PolicyMode.Enforce, GatePhase.RolledBack, 0,
        0, "test", 1, 0, [], [], 0);

    private static async Task<string> ExportAsync(CollectorRegistry registry)
    {
        using var stream = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(stream);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static async Task<string> ScrapeUntilAsync(HttpClient http, Func<string, bool> done)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (true)
        {
            var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative), timeout.Token);
            if (done(text))
            {
                return text;
            }

            await Task.Delay(50, timeout.Token);
        }
    }

    /// <summary>The sample's value, NaN when absent.</summary>
    private static double Value(string exposition, string series) => MetricsText.Value(exposition, series) ?? double.NaN;
}
