using GateStream.Core.Gates;
using GateStream.Core.Policies;
using Xunit.Abstractions;

namespace GateStream.Scenarios.Tests;

/// <summary>
/// The article's incident (a new version's error rate jumps from 0.1% while nobody watches) under the article's
/// Flagger policy and under the native layered policy: time from the fault to the rollback. Printed for the README.
/// </summary>
public class IncidentComparisonTests(ITestOutputHelper output)
{
    // The canary's 100 req/s are 10% of the deployment's traffic: the weight its gate opens at.
    private static readonly Behaviour Baseline = new(900, _ => 0.001, _ => 0.15, TailFactor: 2);

    private sealed record Result(double? SecondsToRollback, GatePhase Phase, int Weight)
    {
        /// <summary>What the README prints: the time to rollback, or what happened instead (never a guess).</summary>
        public string Describe() => SecondsToRollback is { } s
            ? $"{s:F0} s"
            : $"no rollback: {Phase.ToString().ToLowerInvariant()} at weight {Weight}";
    }

    private static Result Run(PolicyDefinition policy, double faultyErrorRate, double faultMinute, int seed)
    {
        var sim = new Simulation(policy, seed);
        sim.Warm(Baseline, TimeSpan.FromMinutes(1));
        var deployed = sim.Engine.NowMicros;
        var canary = new Behaviour(100, m => m < faultMinute ? 0.001 : faultyErrorRate, _ => 0.15, TailFactor: 2);
        sim.Run(Baseline, canary, TimeSpan.FromMinutes(12), s => s.Gate?.IsFinished == true);
        var rollback = sim.FirstDecision(DecisionAction.Rollback);
        var gate = sim.Gate!;
        return new Result(rollback is null ? null : ((rollback.TimeMicros - deployed) / 1e6) - (faultMinute * 60), gate.Phase, gate.Weight);
    }

    [Fact]
    public void Native_policy_rolls_back_the_articles_incident_in_seconds_where_flagger_takes_minutes()
    {
        var flagger = FlaggerScenarioTests.ArticleCanary();
        var native = Policies.Layered();
        var rows = new List<string>();
        foreach (var (rate, minute) in new[] { (0.04, 1.5), (0.08, 1.5) })
        {
            var f = Run(flagger, rate, minute, 61);
            var n = Run(native, rate, minute, 61);
            rows.Add($"| 0.1% -> {rate:P0} at minute {minute} | {f.Describe()} | {n.Describe()} |");
            Assert.NotNull(n.SecondsToRollback);
            Assert.InRange(n.SecondsToRollback!.Value, 1, 60);
            if (f.SecondsToRollback is { } seconds)
            {
                Assert.True(seconds > 3 * n.SecondsToRollback.Value, $"flagger {seconds} s vs native {n.SecondsToRollback} s");
            }
            else
            {
                // The article's Flagger bound is 5%: a 4% canary passes its checks and is promoted, not stranded.
                Assert.True(rate < 0.05, $"{rate} is above Flagger's 5% bound but was not rolled back");
                Assert.Equal(GatePhase.Succeeded, f.Phase);
            }
        }

        output.WriteLine("| fault | Flagger Canary (article) | native GatePolicy (layered) |");
        output.WriteLine("|---|---|---|");
        rows.ForEach(output.WriteLine);
    }
}
