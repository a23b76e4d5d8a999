using GateStream.Core.Policies;
using static GateStream.Policies.Tests.PolicyTestKit;

namespace GateStream.Policies.Tests;

public class GatePolicyTests
{
    [Fact]
    public void A_layered_policy_loads_every_rule_type()
    {
        var yaml = Fixture("api-layered.yaml");

        var result = PolicyLoader.LoadText(yaml, "api-layered.yaml");

        AssertLoaded(result);
        Assert.Empty(result.Warnings);
        var policy = Assert.Single(result.Policies!.Policies);
        Assert.Equal("api-layered", policy.Name);
        Assert.Equal("api", policy.Target);
        Assert.Equal(PolicyForm.Native, policy.Form);
        Assert.Null(policy.Flagger);
        Assert.Equal(ObjectType.Application, policy.ObjectType);
        Assert.Equal(PolicyMode.Enforce, policy.Mode);
        Assert.Equal(TimeSpan.FromMinutes(2), policy.ReleaseAfter);
        Assert.Equal(new ProgressionSpec { StepWeight = 10, MaxWeight = 50, StepInterval = TimeSpan.FromMinutes(1), InitialWeight = 10 }.NextAnalysisWeight(10), policy.Progression.NextAnalysisWeight(10));
        Assert.Equal(10, policy.Progression.InitialWeight);

        var rules = policy.Rules.ToDictionary(r => r.Name);
        Assert.Equal(["error-rate-hold", "error-rate-rollback", "latency-pause", "budget", "burn"], policy.Rules.Select(r => r.Name));

        var hold = rules["error-rate-hold"];
        Assert.Equal(SignalSpec.ErrorRate, hold.Signal);
        Assert.Equal(new ThresholdSpec(ComparisonKind.BaselineDifference, null, 0.005), hold.Threshold);
        Assert.Equal(GateAction.Hold, hold.Action);
        Assert.Equal(500, hold.MinSamples);
        Assert.Equal(TimeSpan.FromSeconds(30), hold.For);
        Assert.Equal(TimeSpan.FromSeconds(60), hold.Window);
        Assert.Equal(new SourceLocation("api-layered.yaml", 13, 7), hold.Location);

        var rollback = rules["error-rate-rollback"];
        Assert.Equal(new ThresholdSpec(ComparisonKind.Absolute, null, 0.01), rollback.Threshold);
        Assert.Equal(GateAction.Rollback, rollback.Action);
        Assert.Equal(0.99, rollback.Confidence);

        var pause = rules["latency-pause"];
        Assert.Equal(SignalSpec.LatencyAt(0.99), pause.Signal);
        Assert.Equal(new ThresholdSpec(ComparisonKind.BaselineRatio, null, 1.5), pause.Threshold);
        Assert.Equal(GateAction.Pause, pause.Action);
        Assert.Equal(100, pause.MinSamples);

        var budget = rules["budget"];
        Assert.Equal(SignalSpec.ErrorRate, budget.Signal);
        Assert.Null(budget.Threshold);
        Assert.Equal(new ErrorBudgetSpec(0.999, TimeSpan.FromDays(30), 0.05, TimeSpan.FromMinutes(30)), budget.ErrorBudget);

        var burn = rules["burn"];
        Assert.Null(burn.Threshold);
        Assert.Equal(0.999, burn.BurnRate!.Slo);
        Assert.Equal(new BurnRateWindow(TimeSpan.FromHours(1), TimeSpan.FromMinutes(5), 14.4), Assert.Single(burn.BurnRate.Windows));
        Assert.Equal(TimeSpan.FromHours(1), policy.LongestWindow);
    }

    [Fact]
    public void Opening_thresholds_override_the_engine_defaults_and_a_share_above_one_is_an_error()
    {
        const string yaml = """
            apiVersion: gatestream.io/v1
            kind: GatePolicy
            metadata: { name: quiet }
            spec:
              target: checkout
              opening: { minRequests: 20, minShare: 0.001 }
              rules:
                - { name: errors, signal: error-rate, max: 0.02 }
            """;

        var result = PolicyLoader.LoadText(yaml, "quiet.yaml");

        AssertLoaded(result);
        Assert.Equal(new GateOpeningSpec { MinRequests = 20, MinShare = 0.001 }, result.Policies!.Policies[0].Opening);
        Assert.Null(PolicyLoader.LoadText(yaml.Replace("  opening: { minRequests: 20, minShare: 0.001 }\n", "", StringComparison.Ordinal), "q.yaml").Policies!.Policies[0].Opening);
        var bad = PolicyLoader.LoadText(yaml.Replace("minShare: 0.001", "minShare: 2", StringComparison.Ordinal), "bad.yaml");
        ErrorAt(bad, (6, 41), "spec.opening.minShare must be between 0 and 1 (got 2)");
    }

    [Fact]
    public void Defaults_fill_what_is_not_written()
    {
        const string yaml = """
            apiVersion: gatestream.io/v1
            kind: GatePolicy
            metadata: { name: minimal }
            spec:
              target: checkout
              rules:
                - name: errors
                  signal: error-rate
                  max: 0.02
                - name: queue
                  signal: metric:queue_depth
                  aggregation: mean
                  max: 100
            """;

        var result = PolicyLoader.LoadText(yaml, "minimal.yaml");

        AssertLoaded(result);
        var policy = result.Policies!.Policies[0];
        Assert.Equal(ObjectType.Application, policy.ObjectType);
        Assert.Equal(PolicyMode.Enforce, policy.Mode);
        Assert.Equal(TimeSpan.FromMinutes(2), policy.ReleaseAfter);
        Assert.Equal(10, policy.Progression.StepWeight);
        Assert.Equal(50, policy.Progression.MaxWeight);
        Assert.Equal(10, policy.Progression.InitialWeight);
        Assert.Equal(TimeSpan.FromMinutes(1), policy.Progression.StepInterval);

        var errors = policy.Rules[0];
        Assert.Equal(GateAction.Hold, errors.Action);
        Assert.Equal(100, errors.MinSamples);
        Assert.Equal(TimeSpan.Zero, errors.For);
        Assert.Equal(TimeSpan.FromSeconds(60), errors.Window);

        var queue = policy.Rules[1];
        Assert.Equal(SignalSpec.MetricOf("queue_depth", MetricAggregation.Mean), queue.Signal);
        Assert.Equal(1, queue.MinSamples);
    }

    [Fact]
    public void A_glob_target_matches_deployments_by_pattern()
    {
        const string yaml = """
            apiVersion: gatestream.io/v1
            kind: GatePolicy
            metadata: { name: all-apis }
            spec:
              target: "api-*"
              mode: shadow
              templates: true
            ---
            apiVersion: gatestream.io/v1
            kind: GatePolicy
            metadata: { name: api-eu }
            spec:
              target: api-eu
              rules:
                - { name: errors, signal: error-rate, max: 0.01, action: rollback }
            """;

        var result = PolicyLoader.LoadText(yaml, "globs.yaml");

        AssertLoaded(result);
        var set = result.Policies!;
        var glob = set.ByName("all-apis")!;
        Assert.True(glob.IsGlob);
        Assert.Equal(PolicyMode.Shadow, glob.Mode);
        Assert.True(glob.Matches("api-us"));
        Assert.False(glob.Matches("web"));
        Assert.Equal("all-apis", set.ForDeployment("api-us")!.Name);
        Assert.Equal("api-eu", set.ForDeployment("api-eu")!.Name);
        Assert.Null(set.ForDeployment("web"));

        // Each document has its own revision.
        Assert.NotEqual(glob.Revision, set.ByName("api-eu")!.Revision);
    }

    [Fact]
    public void Templates_add_the_object_types_built_in_rules_and_a_rule_of_the_same_name_replaces_one()
    {
        const string yaml = """
            apiVersion: gatestream.io/v1
            kind: GatePolicy
            metadata: { name: db }
            spec:
              target: orders-db-migration
              objectType: database-migration
              templates: true
              rules:
                - name: replication-lag
                  signal: metric:replication_lag_seconds(max)
                  max: 5
                  action: rollback
            """;

        var result = PolicyLoader.LoadText(yaml, "db.yaml");

        AssertLoaded(result);
        var policy = result.Policies!.Policies[0];
        Assert.Equal(ObjectType.DatabaseMigration, policy.ObjectType);
        Assert.Equal(["replication-lag", "slow-queries", "db-pool-saturation"], policy.Rules.Select(r => r.Name));
        var lag = policy.Rules[0];
        Assert.Equal(new ThresholdSpec(ComparisonKind.Absolute, null, 5), lag.Threshold);
        Assert.Equal(GateAction.Rollback, lag.Action);
        Assert.Equal(new SourceLocation("db.yaml", 9, 7), lag.Location);
        Assert.Equal(SignalSpec.MetricOf("slow_queries", MetricAggregation.Rate), policy.Rules[1].Signal);
        Assert.Equal(new SourceLocation("db.yaml", 7, 14), policy.Rules[1].Location);
    }

    [Theory]
    [InlineData("application", new[] { "error-rate-vs-baseline", "latency-p95-vs-baseline", "latency-p99-vs-baseline", "throughput-drop" })]
    [InlineData("database-migration", new[] { "replication-lag", "slow-queries", "db-pool-saturation" })]
    [InlineData("infrastructure", new[] { "node-not-ready", "cpu-utilization", "memory-utilization", "pod-restarts" })]
    public void Every_object_type_has_templates(string objectType, string[] names)
    {
        var yaml = $"""
            apiVersion: gatestream.io/v1
            kind: GatePolicy
            metadata: {"{"} name: t {"}"}
            spec:
              target: x
              objectType: {objectType}
              templates: true
            """;

        var result = PolicyLoader.LoadText(yaml, "t.yaml");

        AssertLoaded(result);
        Assert.Equal(names, result.Policies!.Policies[0].Rules.Select(r => r.Name));
    }

    [Fact]
    public void Step_weights_in_a_native_policy_start_at_the_first_weight()
    {
        const string yaml = """
            apiVersion: gatestream.io/v1
            kind: GatePolicy
            metadata: { name: steps }
            spec:
              target: web
              progression: { stepWeights: [5, 20, 60], promotionStepWeight: 20, stepInterval: 2m }
              rules:
                - { name: p95, signal: latency-p95, max: 300, action: pause }
            """;

        var result = PolicyLoader.LoadText(yaml, "steps.yaml");

        AssertLoaded(result);
        var progression = result.Policies!.Policies[0].Progression;
        Assert.Equal(5, progression.InitialWeight);
        Assert.Equal(60, progression.MaxWeight);
        Assert.Equal(20, progression.PromotionStepWeight);
        Assert.Equal(20, progression.NextAnalysisWeight(5));
    }
}
