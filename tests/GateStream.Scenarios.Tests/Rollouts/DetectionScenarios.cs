using GateStream.Core.Gates;
using GateStream.Core.Policies;

namespace GateStream.Scenarios.Tests.Rollouts;

/// <summary>
/// The detection scenarios of the README's fault-to-rollback table: each a policy, a traffic model with a fault at a
/// random time 1-20 minutes into a 30-minute rollout (seeded), and the decision that ends the run.
/// </summary>
internal static class DetectionScenarios
{
    public static readonly TimeSpan RolloutLength = TimeSpan.FromMinutes(31);

    /// <summary>Onset drawn uniformly from 1..20 minutes, from the seed (the simulation's own RNG is separate).</summary>
    public static TimeSpan OnsetFor(int seed) => TimeSpan.FromSeconds(60 + new Random(seed).NextDouble() * 19 * 60);

    public static RolloutOutcome[] StepFault(PolicyDefinition policy, double totalRps, double from, double to, int runs, int seedBase) =>
        RolloutSimulation.RunMany(policy, seed => new Traffic
        {
            TotalRps = totalRps,
            CanaryErrorRate = from,
            FaultErrorRate = to,
            Onset = OnsetFor(seed),
        }, runs, seedBase, RolloutLength, d => d.Action == DecisionAction.Rollback);

    public static RolloutOutcome[] LatencyDoubling(PolicyDefinition policy, double totalRps, int runs, int seedBase) =>
        RolloutSimulation.RunMany(policy, seed => new Traffic
        {
            TotalRps = totalRps,
            FaultLatencyFactor = 2,
            Onset = OnsetFor(seed),
        }, runs, seedBase, RolloutLength, d => d.Action is DecisionAction.Pause or DecisionAction.Rollback);

    public static RolloutOutcome[] Healthy(PolicyDefinition policy, double totalRps, double canaryErrorRate, int runs, int seedBase) =>
        RolloutSimulation.RunMany(policy, _ => new Traffic
        {
            TotalRps = totalRps,
            CanaryErrorRate = canaryErrorRate,
        }, runs, seedBase, RolloutLength, d => d.Action == DecisionAction.Rollback);

    /// <summary>Sorted seconds from onset to the decision, over the runs where it came after the onset.</summary>
    public static double[] Times(IEnumerable<RolloutOutcome> outcomes, Func<RolloutOutcome, double> pick) =>
        [.. outcomes.Select(pick).Where(t => !double.IsNaN(t)).Order()];
}
