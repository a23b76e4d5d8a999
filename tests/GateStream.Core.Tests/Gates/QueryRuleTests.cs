using GateStream.Core.Events;
using GateStream.Core.Gates;
using GateStream.Core.Policies;
using GateStream.Core.Time;
using GateStream.Core.Windows;

namespace GateStream.Core.Tests.Gates;

/// <summary>
/// A Flagger metric whose value is a query result (a MetricTemplate): each check judges the result taken for it, and a
/// check with no fresh result is a failed check even when an older result still sits in the series' window.
/// </summary>
public sealed class QueryRuleTests
{
    private const string Signal = "prometheus:db connections";
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);
    private static readonly long Start = EventTime.FromTimeSpan(TimeSpan.FromHours(1));

    [Fact]
    public void Each_check_reads_the_result_taken_for_it_and_a_missing_one_is_a_failed_check()
    {
        var (engine, sink) = Engine(query: true);

        // Check 1 (t=10s) steps to the first weight without analysis; results arrive a second before checks 2 and 3.
        Result(engine, 19, 12);
        engine.AdvanceTo(At(20));
        Result(engine, 29, 14);
        engine.AdvanceTo(At(30));
        // No result for check 4 (the query failed): the one from 29s is still in the 60 s series window, but not fresh.
        engine.AdvanceTo(At(40));

        var decisions = sink.Decisions;
        Assert.Equal(
            [(DecisionAction.Promote, 20), (DecisionAction.Promote, 40), (DecisionAction.Promote, 60), (DecisionAction.Hold, 60)],
            decisions.Select(d => (d.Action, d.Weight)));
        var passed = Assert.Single(decisions[2].Evidence);
        Assert.Equal((14.0, 1L), (passed.Observed, passed.Samples));
        Assert.StartsWith("No values for metric 'db connections'", decisions[3].Reason, StringComparison.Ordinal);

        // A result over the bound fails the next check; with threshold 2 that is the rollback.
        Result(engine, 49, 95);
        engine.AdvanceTo(At(50));
        var last = sink.Decisions[^1];
        Assert.Equal((DecisionAction.Rollback, GatePhase.RolledBack), (last.Action, last.Phase));
        Assert.Equal(95.0, Assert.Single(last.Evidence).Observed);
    }

    [Fact]
    public void A_metric_rule_without_a_query_keeps_reading_its_window()
    {
        var (engine, sink) = Engine(query: false);

        Result(engine, 19, 12);
        engine.AdvanceTo(At(20));
        engine.AdvanceTo(At(30));

        // The same sample passes both checks: only query rules ask for a result per check.
        Assert.Equal([DecisionAction.Promote, DecisionAction.Promote, DecisionAction.Promote], sink.Decisions.Select(d => d.Action));
    }

    private static long At(int seconds) => Start + EventTime.FromTimeSpan(TimeSpan.FromSeconds(seconds));

    private static void Result(InlineEngine engine, int seconds, double value)
    {
        engine.AdvanceTo(At(seconds));
        var batch = new MetricSampleBatch();
        batch.Key.Set("payments", "v2");
        batch.Add(Signal, At(seconds), value, MetricKind.Gauge);
        Assert.Equal(1, engine.Apply(batch));
    }

    private static (InlineEngine Engine, InMemoryDecisionSink Sink) Engine(bool query)
    {
        var rule = new RuleSpec
        {
            Name = "db connections",
            Signal = SignalSpec.MetricOf(Signal, MetricAggregation.Last),
            Threshold = new ThresholdSpec(ComparisonKind.Absolute, null, 80),
            Action = GateAction.Rollback,
            MinSamples = 1,
            Window = Interval,
            Query = query
                ? new MetricQuerySpec
                {
                    Template = "apps/db-connections",
                    Query = "max(db_connections{app=\"payments\"})",
                    Provider = new MetricProviderSpec("prometheus", "http://127.0.0.1:9090", false, null, "apps"),
                }
                : null,
        };
        var policy = new PolicyDefinition
        {
            Name = "payments",
            Target = "payments",
            Form = PolicyForm.Flagger,
            Rules = [rule],
            Progression = new ProgressionSpec { StepWeight = 20, MaxWeight = 80, StepInterval = Interval, InitialWeight = 0 },
            Flagger = new FlaggerAnalysisSpec(Interval, 2),
        };
        var sink = new InMemoryDecisionSink();
        var engine = new InlineEngine(Start, new PolicyCatalog(new PolicySet([policy])), sink);
        var started = engine.Start(new StartRolloutCommand("payments", "v1", "v2", null, null, "test"));
        Assert.NotNull(started.Gate);
        return (engine, sink);
    }
}
