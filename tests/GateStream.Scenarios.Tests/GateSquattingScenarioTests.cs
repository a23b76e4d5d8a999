using GateStream.Core.Events;
using GateStream.Core.Gates;

namespace GateStream.Scenarios.Tests;

/// <summary>
/// Gate squatting (issue 12): a sender that invents versions must not open gates, nor keep the real canary from being
/// gated, nor block a controller's StartRollout. Several canaries of one deployment: the one with the most traffic wins.
/// </summary>
public class GateSquattingScenarioTests
{
    private static readonly Behaviour Baseline = Behaviour.Steady(400, 0.001, 20);

    private static Simulation Warmed(int seed)
    {
        var sim = new Simulation(Policies.Layered(), seed);
        sim.Warm(Baseline, TimeSpan.FromMinutes(2));
        return sim;
    }

    [Fact]
    public void One_event_for_an_invented_version_opens_no_gate()
    {
        var sim = Warmed(61);

        Send(sim, "evil-0", 1);
        sim.Run(Baseline, null, TimeSpan.FromSeconds(30));

        Assert.Null(sim.Engine.Gates.Find("api/evil-0"));
        Assert.Equal(0, sim.Engine.Gates.Count);
        Assert.Empty(sim.Decisions);
    }

    [Fact]
    public void While_a_squatter_sends_a_trickle_the_real_canary_failing_half_its_requests_is_gated_and_rolled_back()
    {
        var sim = Warmed(62);
        var canary = Behaviour.Steady(100, 0.5, 20);
        for (var second = 0; second < 120 && sim.FirstDecision(DecisionAction.Rollback) is null; second++)
        {
            Send(sim, "evil-0", 1); // one request a second: a quarter of a percent of the deployment's traffic
            sim.Run(Baseline, canary, TimeSpan.FromSeconds(1));
        }

        var rollback = sim.FirstDecision(DecisionAction.Rollback);
        Assert.NotNull(rollback);
        Assert.Equal("api/v2", rollback.Gate);
        Assert.Equal("auto", sim.Gate!.StartedBy);
        Assert.Null(sim.Engine.Gates.Find("api/evil-0"));
    }

    [Fact]
    public void StartRollout_replaces_a_gate_a_squatter_opened_and_a_decision_says_so()
    {
        var sim = Warmed(63);
        for (var second = 0; second < 5; second++)
        {
            Send(sim, "evil-0", 200); // enough traffic to open a gate by itself
            sim.Run(Baseline, null, TimeSpan.FromSeconds(1));
        }

        var squatted = sim.Engine.Gates.Find("api/evil-0");
        Assert.NotNull(squatted);
        Assert.Equal("auto", squatted.StartedBy);

        var result = sim.Engine.Start(new StartRolloutCommand("api", "v1", "v2", null, 5, "deployer"));

        Assert.True(result.Succeeded, result.Message);
        Assert.Equal("api/v2", result.Gate!.Id);
        Assert.Equal("deployer", result.Gate.StartedBy);
        Assert.Contains("replaces the automatically started gate api/evil-0", result.Message, StringComparison.Ordinal);
        Assert.Equal(GatePhase.RolledBack, squatted.Phase);
        var superseded = Assert.Single(sim.Decisions, d => d.Gate == "api/evil-0");
        Assert.Equal(DecisionAction.Rollback, superseded.Action);
        Assert.Contains("superseded by deployer's StartRollout v1 -> v2", superseded.Reason, StringComparison.Ordinal);

        // The controller's gate is not replaced in turn, by traffic or by another StartRollout.
        var again = sim.Engine.Start(new StartRolloutCommand("api", "v1", "v3", null, 5, "someone"));
        Assert.Equal(StartError.AlreadyExists, again.Error);
    }

    [Fact]
    public void An_automatic_gate_gives_way_to_a_new_version_carrying_more_than_twice_its_traffic()
    {
        var sim = Warmed(64);
        // 10 s at 40 req/s: 400 requests, past 1% of the deployment's minute (400 req/s of baseline), so it opens a gate.
        for (var second = 0; second < 10; second++)
        {
            Send(sim, "v3", 40);
            sim.Run(Baseline, null, TimeSpan.FromSeconds(1));
        }

        Assert.NotNull(sim.Engine.Gates.Find("api/v3"));
        sim.Run(Baseline, Behaviour.Steady(200, 0.001, 20), TimeSpan.FromSeconds(70), until: s => s.Gate is not null);

        var gate = Assert.IsType<Gate>(sim.Gate);
        Assert.Equal("auto", gate.StartedBy);
        Assert.Equal(GatePhase.RolledBack, sim.Engine.Gates.Find("api/v3")!.Phase);
        var superseded = Assert.Single(sim.Decisions, d => d.Gate == "api/v3");
        Assert.Contains("superseded by version v2", superseded.Reason, StringComparison.Ordinal);
    }

    // Requests of another version of the simulation's deployment, spread over the next second.
    private static void Send(Simulation sim, string version, int count)
    {
        var batch = new EventBatch(count) { Source = "squatter" };
        batch.Key.Set(sim.Deployment, version);
        for (var i = 0; i < count; i++)
        {
            batch.Add(sim.Engine.NowMicros + (i * (1_000_000 / count)), 20_000, error: false);
        }

        sim.Engine.Apply(batch);
    }
}
