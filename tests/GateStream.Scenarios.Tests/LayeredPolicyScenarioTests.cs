using GateStream.Core.Gates;
using GateStream.Core.Policies;
using Xunit.Abstractions;

namespace GateStream.Scenarios.Tests;

/// <summary>The article's layered policy on generated traffic: hold, rollback and pause, each at the right time.</summary>
public class LayeredPolicyScenarioTests(ITestOutputHelper output)
{
    private static readonly Behaviour Baseline = Behaviour.Steady(400, 0.001, 20);

    private static Simulation Started(PolicyDefinition policy, int seed)
    {
        var sim = new Simulation(policy, seed);
        sim.Warm(Baseline, TimeSpan.FromMinutes(2));
        return sim;
    }

    [Fact]
    public void Healthy_canary_is_promoted_one_step_per_interval_then_fully()
    {
        var sim = Started(Policies.Layered(), 1);
        sim.Run(Baseline, Behaviour.Steady(100, 0.001, 20), TimeSpan.FromMinutes(8));

        var gate = Assert.IsType<Gate>(sim.Gate);
        Assert.Equal("v1", gate.BaselineVersion);
        Assert.Equal("auto", gate.StartedBy);
        var promotions = sim.Decisions.Where(d => d.Action == DecisionAction.Promote).ToList();
        // The canary already carries 100 of 500 req/s when its gate opens by itself: the gate starts at 20.
        Assert.Equal([30, 40, 50, 100], promotions.Select(d => d.Weight));
        Assert.Equal(GatePhase.Succeeded, gate.Phase);
        Assert.DoesNotContain(sim.Decisions, d => d.Action is DecisionAction.Hold or DecisionAction.Rollback or DecisionAction.Pause);
        for (var i = 1; i < promotions.Count; i++)
        {
            var gap = (promotions[i].TimeMicros - promotions[i - 1].TimeMicros) / 1e6;
            Assert.InRange(gap, 60, 61);
        }
    }

    [Fact]
    public void Error_rate_rising_to_0_6_percent_holds_and_past_the_slo_rolls_back()
    {
        var sim = Started(Policies.Layered(), 2);
        var canary = new Behaviour(100, minute => minute < 3 ? 0.001 : minute < 7 ? 0.006 : 0.03, _ => 20);
        sim.Run(Baseline, canary, TimeSpan.FromMinutes(9));

        var gateStart = Simulation.MinutesOf(sim.Decisions[0]) - 1; // first promotion is one interval after the start
        var hold = Assert.Single(sim.Decisions, d => d.Action == DecisionAction.Hold);
        var holdAfterFault = Simulation.MinutesOf(hold) - gateStart - 3;
        output.WriteLine($"hold {holdAfterFault * 60:F1} s after the rise to 0.6%: {hold.Reason}");
        // Window (60 s) must fill enough for the rise to cross +0.25 pp, then `for: 30s`.
        Assert.InRange(holdAfterFault * 60, 30, 75);
        var evidence = hold.Evidence.Single(e => e.Rule == "error-rate-rise");
        Assert.Equal(RuleStatus.Firing, evidence.Status);
        Assert.InRange(evidence.Observed!.Value, 0.0035, 0.009);
        Assert.InRange(evidence.Baseline!.Value, 0.0005, 0.0016);
        Assert.Equal(RuleStatus.Passing, hold.Evidence.Single(e => e.Rule == "error-rate-slo").Status);
        Assert.Equal(GatePhase.Holding, hold.Phase);

        var rollback = Assert.Single(sim.Decisions, d => d.Action == DecisionAction.Rollback);
        var rollbackAfterFault = Simulation.MinutesOf(rollback) - gateStart - 7;
        output.WriteLine($"rollback {rollbackAfterFault * 60:F1} s after the rise to 3%: {rollback.Reason}");
        Assert.InRange(rollbackAfterFault * 60, 10, 40);
        Assert.Equal(0, rollback.Weight);
        Assert.Equal(GatePhase.RolledBack, rollback.Phase);
        Assert.Equal(RuleStatus.Firing, rollback.Evidence.Single(e => e.Rule == "error-rate-slo").Status);
        Assert.DoesNotContain(sim.Decisions, d => d.Action == DecisionAction.Pause);
    }

    [Fact]
    public void P99_latency_doubling_with_stable_errors_pauses()
    {
        var sim = Started(Policies.Layered(), 3);
        var canary = new Behaviour(100, _ => 0.001, minute => minute < 3 ? 20 : 40);
        sim.Run(Baseline, canary, TimeSpan.FromMinutes(7));

        var gateStart = Simulation.MinutesOf(sim.Decisions[0]) - 1;
        var pause = Assert.Single(sim.Decisions, d => d.Action == DecisionAction.Pause);
        var afterFault = (Simulation.MinutesOf(pause) - gateStart - 3) * 60;
        output.WriteLine($"pause {afterFault:F1} s after p99 doubled: {pause.Reason}");
        Assert.InRange(afterFault, 30, 75);
        var latency = pause.Evidence.Single(e => e.Rule == "latency-p99");
        Assert.Equal("ms", latency.Unit);
        Assert.True(latency.Observed > 1.5 * latency.Baseline, "observed p99 above 1.5x baseline");
        Assert.Equal(RuleStatus.Passing, pause.Evidence.Single(e => e.Rule == "error-rate-slo").Status);
        Assert.DoesNotContain(sim.Decisions, d => d.Action is DecisionAction.Rollback or DecisionAction.Hold);
        Assert.Equal(GatePhase.Paused, sim.Gate!.Phase);
    }

    [Fact]
    public void Hold_releases_itself_once_clear_for_release_after()
    {
        var sim = Started(Policies.Layered(), 4);
        var canary = new Behaviour(100, minute => minute is >= 1.5 and < 3 ? 0.006 : 0.001, _ => 20);
        sim.Run(Baseline, canary, TimeSpan.FromMinutes(9));

        var hold = Assert.Single(sim.Decisions, d => d.Action == DecisionAction.Hold);
        var resume = Assert.Single(sim.Decisions, d => d.Action == DecisionAction.Resume);
        Assert.True(resume.TimeMicros > hold.TimeMicros);
        Assert.Equal(hold.Weight, resume.Weight);
        Assert.Contains(sim.Decisions, d => d.Action == DecisionAction.Promote && d.TimeMicros > resume.TimeMicros);
    }

    [Fact]
    public void Shadow_mode_decides_the_same_but_marks_decisions_as_shadow()
    {
        var canary = new Behaviour(100, minute => minute < 3 ? 0.001 : 0.03, _ => 20);
        var enforce = Started(Policies.Layered(), 5);
        enforce.Run(Baseline, canary, TimeSpan.FromMinutes(6));
        var shadow = Started(Policies.Layered(PolicyMode.Shadow), 5);
        shadow.Run(Baseline, canary, TimeSpan.FromMinutes(6));

        Assert.All(shadow.Decisions, d => Assert.True(d.Shadow));
        Assert.All(enforce.Decisions, d => Assert.False(d.Shadow));
        Assert.Equal(enforce.Decisions.Select(d => (d.Action, d.Weight, d.TimeMicros)), shadow.Decisions.Select(d => (d.Action, d.Weight, d.TimeMicros)));
    }
}
