using GateStream.Core.Gates;
using GateStream.Core.Policies;
using GateStream.Policies;
using GateStream.Scenarios.Tests.Rollouts;
using Xunit.Abstractions;

namespace GateStream.Scenarios.Tests;

/// <summary>
/// The two situations that used to defeat the gate, with a controller that applies every decided weight: a canary
/// failing from its first request (once stranded at weight 0 under a Flagger Canary), and a fault a minute into the
/// rollout. Both end in a rollback under both policy forms, and no decision lowers the weight except the rollback.
/// </summary>
public class StrandedRolloutScenarioTests(ITestOutputHelper output)
{
    internal const string IssueCanary = """
        apiVersion: flagger.app/v1beta1
        kind: Canary
        metadata: { name: api }
        spec:
          targetRef: { name: api }
          analysis:
            interval: 15s
            threshold: 3
            stepWeight: 10
            maxWeight: 50
            metrics:
              - name: request-success-rate
                thresholdRange: { min: 98 }
                interval: 30s
        """;

    internal static PolicyDefinition Load(string yaml)
    {
        var result = PolicyLoader.LoadText(yaml, "policy.yaml");
        Assert.True(result.Success, string.Join("\n", result.Errors));
        return Assert.Single(result.Policies!.Policies);
    }

    public static TheoryData<string, double, int> Situations => new()
    {
        // form, canary error rate after the onset, onset in seconds (0 = bad from the first request)
        { "flagger", 0.06, 0 },
        { "native", 0.06, 0 },
        { "flagger", 0.04, 60 },
        { "native", 0.04, 60 },
    };

    [Theory]
    [MemberData(nameof(Situations))]
    public void A_failing_canary_ends_in_rollback_and_no_decision_lowers_its_weight_before(string form, double errorRate, int onsetSeconds)
    {
        var policy = form == "flagger" ? Load(IssueCanary) : ScenarioPolicies.Native;
        var outcomes = RolloutSimulation.RunMany(policy, _ => new Traffic
        {
            TotalRps = 1_500, // the canary serves 150 req/s at weight 10
            CanaryErrorRate = onsetSeconds == 0 ? errorRate : 0.001,
            FaultErrorRate = errorRate,
            Onset = TimeSpan.FromSeconds(onsetSeconds),
        }, 20, 7_000 + onsetSeconds, TimeSpan.FromMinutes(20));

        var times = DetectionScenarios.Times(outcomes, o => o.SecondsToRollback);
        output.WriteLine($"{form}, {errorRate:P0} from second {onsetSeconds}: rolled back {times.Length} of {outcomes.Length}, median {Figures.Seconds(Figures.Quantile(times, 0.5))}, max {Figures.Seconds(times.LastOrDefault(double.NaN))}");
        Assert.All(outcomes, o => Assert.Equal(GatePhase.RolledBack, o.FinalPhase));
        Assert.DoesNotContain(outcomes, o => o.LoweredWeightWithoutRollback);
        // Flagger: one step at weight 0 without analysis, then three failed 15 s checks; native: seconds.
        Assert.True(times[^1] <= (form == "flagger" ? 75 : 30), $"slowest rollback {times[^1]} s");
    }
}
