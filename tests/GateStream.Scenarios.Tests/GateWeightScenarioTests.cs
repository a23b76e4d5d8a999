using GateStream.Core.Gates;
using GateStream.Core.Policies;

namespace GateStream.Scenarios.Tests;

/// <summary>The gate knows the weight the controller really applies, and says so beside the weight it decides.</summary>
public class GateWeightScenarioTests
{
    private static readonly Behaviour Baseline = Behaviour.Steady(400, 0.001, 20);

    [Fact]
    public void An_auto_started_gate_adopts_the_observed_share_as_its_weight_and_shows_it_beside_the_decided_weight()
    {
        var sim = new Simulation(Policies.Layered(), 81);
        sim.Warm(Baseline, TimeSpan.FromMinutes(1));
        // The controller already sends the canary 100 of 500 req/s: 20%, not the policy's first step (10).
        sim.Run(Baseline, Behaviour.Steady(100, 0.001, 20), TimeSpan.FromMinutes(3));

        var gate = sim.Gate!;
        Assert.Equal(Gate.AutoStarter, gate.StartedBy);
        var first = sim.Decisions[0];
        // The gate started at the observed 20%, so its first step goes on from there.
        Assert.Equal(DecisionAction.Promote, first.Action);
        Assert.Contains("weight 20 -> 30", first.Reason, StringComparison.Ordinal);
        Assert.InRange(first.ObservedShare!.Value, 17, 23);
        Assert.InRange(gate.View().ObservedShare!.Value, 17, 23);
        // This controller does not follow (the share stays at 20% while the decided weight rises): visible.
        var last = sim.Decisions[^1];
        Assert.True(last.Weight >= 40 && last.Weight - last.ObservedShare!.Value > 5, $"weight {last.Weight}, observed {last.ObservedShare}");
    }

    [Fact]
    public void An_auto_started_gate_off_the_policys_steps_starts_at_the_share_rounded_and_steps_on_from_it()
    {
        var sim = new Simulation(Policies.Layered(), 84);
        sim.Warm(Baseline, TimeSpan.FromMinutes(1));
        // 26% of the traffic (140 of 540 req/s): no step of 10, 20 ... 50 is within 2.5 points of it.
        sim.Run(Baseline, Behaviour.Steady(140, 0.001, 20), TimeSpan.FromSeconds(90));

        var started = sim.Decisions[0];
        var from = sim.Gate!.Weight - 10;
        Assert.InRange(from, 24, 28);
        Assert.Contains($"weight {from} -> {from + 10}", started.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_auto_started_flagger_canary_at_30_percent_is_analysed_from_30_not_from_weight_0()
    {
        var flagger = FlaggerScenarioTests.ArticleCanary();
        var baseline = new Behaviour(210, _ => 0.001, _ => 0.15, TailFactor: 2);
        var sim = new Simulation(flagger, 85);
        sim.Warm(baseline, TimeSpan.FromMinutes(1));
        // The rollout is already at 30% (90 of 300 req/s) when GateStream first sees the canary.
        sim.Run(baseline, baseline with { RequestsPerSecond = 90 }, TimeSpan.FromSeconds(150));

        Assert.Equal(Gate.AutoStarter, sim.Gate!.StartedBy);
        var first = sim.Decisions[0];
        // No "first iteration at weight 0": the first check analyses the canary at 30 and steps to 40.
        Assert.Equal((DecisionAction.Promote, 40), (first.Action, first.Weight));
        Assert.Contains("Check passed; weight 30 -> 40", first.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(sim.Decisions, d => d.Reason.Contains("weight 0", StringComparison.Ordinal));
    }

    [Fact]
    public void StartRollout_with_the_controllers_current_weight_starts_from_it()
    {
        var sim = new Simulation(Policies.Layered(), 82, options: new GateEngineOptions { AutoStart = false });
        sim.Warm(Baseline, TimeSpan.FromMinutes(1));
        var started = sim.Engine.Start(new StartRolloutCommand("api", "v1", "v2", null, null, "controller", CurrentWeight: 5));
        Assert.True(started.Succeeded, started.Message);
        Assert.Equal(5, started.Gate!.Weight);
        sim.Run(Baseline, Behaviour.Steady(25, 0.001, 20), TimeSpan.FromSeconds(150));
        Assert.Equal((DecisionAction.Promote, 15), (sim.Decisions[0].Action, sim.Decisions[0].Weight));

        var bad = sim.Engine.Start(new StartRolloutCommand("api", "v1", "v3", null, null, "controller", CurrentWeight: 101));
        Assert.Equal(StartError.InvalidArgument, bad.Error);
    }

    [Fact]
    public void A_suppression_restates_the_gates_real_action_and_says_it_is_a_suppression()
    {
        var sim = new Simulation(Policies.Layered(), 83);
        sim.Warm(Baseline, TimeSpan.FromMinutes(1));
        sim.Run(Baseline, Behaviour.Steady(100, 0.001, 20), TimeSpan.FromSeconds(90));
        var gate = sim.Gate!;
        Assert.Equal(GatePhase.Progressing, gate.Phase);

        var progressing = sim.Engine.Override(new OverrideCommand(sim.GateId, OverrideKind.SuppressRule, "alice", "noisy", "latency-p99", TimeSpan.FromMinutes(5)));
        Assert.Equal((DecisionAction.Resume, GatePhase.Progressing, OverrideKind.SuppressRule),
            (progressing.Decision!.Action, progressing.Decision.Phase, progressing.Decision.Override!.Kind));
        Assert.Equal(gate.Weight, progressing.Decision.Weight);

        Assert.True(sim.Engine.Override(new OverrideCommand(sim.GateId, OverrideKind.Pause, "alice", "look")).Succeeded);
        var paused = sim.Engine.Override(new OverrideCommand(sim.GateId, OverrideKind.SuppressRule, "alice", "noisy", "error-rate-slo", TimeSpan.FromMinutes(5)));
        Assert.Equal((DecisionAction.Pause, OverrideKind.SuppressRule), (paused.Decision!.Action, paused.Decision.Override!.Kind));
    }
}
