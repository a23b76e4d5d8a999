using GateStream.Core.Gates;

namespace GateStream.Scenarios.Tests;

public class LowTrafficScenarioTests
{
    [Fact]
    public void Below_min_samples_nothing_fails_and_the_gate_reports_insufficient_evidence()
    {
        var sim = new Simulation(Policies.Layered(), 31);
        sim.Warm(Behaviour.Steady(400, 0.001, 20), TimeSpan.FromMinutes(1));
        // So little traffic never opens a gate by itself (too small a share): the controller starts the rollout.
        Assert.True(sim.Engine.Start(new StartRolloutCommand(sim.Deployment, sim.BaselineVersion, sim.CanaryVersion, null, null, "controller")).Succeeded);
        // 0.5 req/s at 50% errors and 10x latency: 30 requests a window, far below minSamples (500).
        sim.Run(Behaviour.Steady(400, 0.001, 20), Behaviour.Steady(0.5, 0.5, 200), TimeSpan.FromMinutes(5));

        Assert.Empty(sim.Decisions);
        var gate = sim.Gate!;
        Assert.Equal(GatePhase.Progressing, gate.Phase);
        Assert.Equal(10, gate.Weight);
        var evidence = gate.CurrentEvidence(sim.Engine.NowMicros);
        Assert.All(evidence, e =>
        {
            Assert.Equal(RuleStatus.InsufficientEvidence, e.Status);
            Assert.InRange(e.Samples, 1, 499);
            Assert.Equal(500, e.MinSamples);
        });
    }
}
