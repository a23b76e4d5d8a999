using GateStream.Core.Gates;
using GateStream.Core.Policies;

namespace GateStream.Scenarios.Tests;

/// <summary>The gate knows the weight the controller really applies, and says so beside the weight it decides.</summary>
public class GateWeightScenarioTests
{
    private static readonly Behaviour Baseline = Behaviour.Steady(400, 0.001, 20);

    [Fact]
    public void An_auto_started_gate_estimates_the_controllers_weight_from_the_traffic_share_beside_the_decided_weight()
    {
        var sim = new Simulation(Policies.Layered(), 81);
        sim.Warm(Baseline, TimeSpan.FromMinutes(1));
        // The controller already sends the canary 100 of 500 req/s: 20%, not the policy's first step (10).
        sim.Run(Baseline, Behaviour.Steady(100, 0.001, 20), TimeSpan.FromMinutes(3));

        var gate = sim.Gate!;
        Assert.Equal(Gate.AutoStarter, gate.StartedBy);
        var first = sim.Decisions[0];
        Assert.Equal((DecisionAction.Promote, 20), (first.Action, first.Weight));
        Assert.InRange(first.ObservedShare!.Value, 17, 23);
        Assert.InRange(gate.View().ObservedShare!.Value, 17, 23);
        // This controller does not follow (the share stays at 20% while the decided weight rises): visible.
        var last = sim.Decisions[^1];
        Assert.True(last.Weight >= 30 && last.Weight - last.ObservedShare!.Value > 5, $"weight {last.Weight}, observed {last.ObservedShare}");
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
