using GateStream.Core.Gates;

namespace GateStream.Scenarios.Tests;

/// <summary>With a consumer group, a daemon decides only for deployments it owns, and not while it warms up.</summary>
public class OwnershipScenarioTests
{
    private static readonly Behaviour Healthy = Behaviour.Steady(200, 0.001, 20);

    [Fact]
    public void Gates_of_deployments_not_owned_or_warming_up_do_not_decide()
    {
        var sim = new Simulation(Policies.Layered(), 81);
        sim.Warm(Healthy, TimeSpan.FromMinutes(1));
        sim.Run(Healthy, Healthy, TimeSpan.FromSeconds(10), until: s => s.Gate is not null);
        Assert.NotNull(sim.Gate);

        sim.Engine.Gates.SetOwnership("api", DeploymentOwnership.WarmingUp);
        sim.Run(Healthy, Healthy, TimeSpan.FromMinutes(3));
        Assert.Empty(sim.Decisions);
        Assert.Equal(DeploymentOwnership.WarmingUp, sim.Gate!.View(sim.Engine.Gates.OwnershipOf("api")).Ownership);

        sim.Engine.Gates.SetOwnership("api", DeploymentOwnership.Owned);
        sim.Run(Healthy, Healthy, TimeSpan.FromMinutes(2));
        Assert.Contains(sim.Decisions, d => d.Action == DecisionAction.Promote);
    }

    [Fact]
    public void No_gate_starts_for_a_deployment_owned_elsewhere()
    {
        var sim = new Simulation(Policies.Layered(), 82);
        sim.Engine.Gates.SetOwnership("api", DeploymentOwnership.NotOwned);
        sim.Warm(Healthy, TimeSpan.FromMinutes(1));
        sim.Run(Healthy, Healthy, TimeSpan.FromMinutes(2));
        Assert.Null(sim.Gate);
        Assert.Empty(sim.Decisions);
    }
}
