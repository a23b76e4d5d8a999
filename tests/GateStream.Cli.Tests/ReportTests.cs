using GateStream.Cli.Report;
using Google.Protobuf.WellKnownTypes;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Tests;

public sealed class ReportTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Automatic_stops_undone_by_an_operator_within_the_window_count_as_reversed()
    {
        ulong sequence = 0;
        V1.Decision Auto(string gate, V1.Action action, uint weight, TimeSpan at, string? firing = null, V1.Action firingAction = V1.Action.Unspecified) =>
            Decision(++sequence, gate, action, weight, at, firing, firingAction);
        V1.Decision By(string gate, V1.OverrideKind kind, V1.Action action, uint weight, TimeSpan at)
        {
            var d = Decision(++sequence, gate, action, weight, at);
            d.Override = new V1.Override { Actor = "alice", Kind = kind, Reason = "r" };
            return d;
        }

        var decisions = new List<V1.Decision>
        {
            Auto("old/v2", V1.Action.Hold, 25, TimeSpan.FromDays(-20), "errors", V1.Action.Hold),
            Auto("checkout/v2", V1.Action.Promote, 50, TimeSpan.FromMinutes(1)),
            Auto("checkout/v2", V1.Action.Hold, 50, TimeSpan.FromMinutes(2), "errors", V1.Action.Hold),
            By("checkout/v2", V1.OverrideKind.Resume, V1.Action.Resume, 50, TimeSpan.FromMinutes(12)),
            Auto("checkout/v2", V1.Action.Promote, 100, TimeSpan.FromMinutes(20)),
            Auto("search/v7", V1.Action.Pause, 25, TimeSpan.FromHours(1), "latency", V1.Action.Pause),
            By("search/v7", V1.OverrideKind.Resume, V1.Action.Resume, 25, TimeSpan.FromHours(3)),
            Auto("search/v7", V1.Action.Rollback, 0, TimeSpan.FromHours(4), "errors", V1.Action.Rollback),
            Auto("search/v8", V1.Action.Hold, 25, TimeSpan.FromHours(5), "errors", V1.Action.Hold),
            Auto("search/v8", V1.Action.Resume, 25, TimeSpan.FromHours(5.1)),
            By("search/v8", V1.OverrideKind.Rollback, V1.Action.Rollback, 0, TimeSpan.FromHours(5.2)),
        };
        decisions[5].Evidence.Add(new V1.Evidence { Rule = "errors", Status = V1.RuleStatus.Firing, Action = V1.Action.Hold });
        var starts = new Dictionary<string, DateTimeOffset> { ["checkout/v2"] = T0 };

        var report = PolicyReportBuilder.Build(decisions, starts, T0 - TimeSpan.FromDays(14), T0 + TimeSpan.FromDays(1), TimeSpan.FromHours(1), includeShadow: false);

        Assert.Equal(
            [
                new RuleActionRow("errors", V1.Action.Hold, 2, 1),
                new RuleActionRow("errors", V1.Action.Rollback, 1, 0),
                new RuleActionRow("latency", V1.Action.Pause, 1, 0),
                new RuleActionRow(PolicyReportBuilder.Released, V1.Action.Resume, 1, 0),
                new RuleActionRow(PolicyReportBuilder.Progression, V1.Action.Promote, 2, 0),
            ],
            report.Rules);
        Assert.Equal([new OverrideRow(V1.OverrideKind.Resume, 2), new OverrideRow(V1.OverrideKind.Rollback, 1)], report.Overrides);
        Assert.Equal((10L, 11L, 3), (report.DecisionsInRange, report.DecisionsRead, report.Gates));
        var promotion = Assert.Single(report.Promotions);
        Assert.Equal(("checkout/v2", TimeSpan.FromMinutes(20), true), (promotion.Gate, promotion.Duration, promotion.StartFromGate));
        Assert.Equal(
            [
                new DeploymentRow("checkout", 1, 1, 0, 0, TimeSpan.FromMinutes(20), TimeSpan.FromMinutes(20)),
                new DeploymentRow("search", 2, 0, 1, 1, null, null),
            ],
            report.Deployments);
    }

    [Fact]
    public void Without_the_gate_the_rollout_starts_at_its_first_decision_and_shadow_decisions_count_only_when_asked()
    {
        var first = Decision(1, "api/v2", V1.Action.Promote, 50, TimeSpan.FromMinutes(1));
        var full = Decision(2, "api/v2", V1.Action.Promote, 100, TimeSpan.FromMinutes(4));
        var shadow = Decision(3, "web/v2", V1.Action.Rollback, 0, TimeSpan.FromMinutes(5), "errors", V1.Action.Rollback);
        shadow.Shadow = true;

        var plain = PolicyReportBuilder.Build([first, full, shadow], new Dictionary<string, DateTimeOffset>(), T0, T0 + TimeSpan.FromHours(1), TimeSpan.FromHours(1), includeShadow: false);
        var withShadow = PolicyReportBuilder.Build([first, full, shadow], new Dictionary<string, DateTimeOffset>(), T0, T0 + TimeSpan.FromHours(1), TimeSpan.FromHours(1), includeShadow: true);

        var promotion = Assert.Single(plain.Promotions);
        Assert.Equal((TimeSpan.FromMinutes(3), false), (promotion.Duration, promotion.StartFromGate));
        Assert.DoesNotContain(plain.Rules, r => r.Action == V1.Action.Rollback);
        Assert.Contains(new RuleActionRow("errors", V1.Action.Rollback, 1, 0), withShadow.Rules);
    }

    private static V1.Decision Decision(ulong sequence, string gate, V1.Action action, uint weight, TimeSpan at, string? firing = null, V1.Action firingAction = V1.Action.Unspecified)
    {
        var d = new V1.Decision
        {
            Sequence = sequence,
            Gate = gate,
            Deployment = gate[..gate.IndexOf('/', StringComparison.Ordinal)],
            CanaryVersion = gate[(gate.IndexOf('/', StringComparison.Ordinal) + 1)..],
            BaselineVersion = "v1",
            Action = action,
            Weight = weight,
            Phase = action switch
            {
                V1.Action.Promote when weight == 100 => V1.Phase.Succeeded,
                V1.Action.Hold => V1.Phase.Holding,
                V1.Action.Pause => V1.Phase.Paused,
                V1.Action.Rollback => V1.Phase.RolledBack,
                _ => V1.Phase.Progressing,
            },
            Reason = "r",
            Policy = "p",
            Time = Timestamp.FromDateTimeOffset(T0 + at),
        };
        d.Evidence.Add(new V1.Evidence { Rule = "other", Status = V1.RuleStatus.Passing, Action = V1.Action.Hold });
        if (firing is not null)
        {
            d.Evidence.Add(new V1.Evidence { Rule = firing, Status = V1.RuleStatus.Firing, Action = firingAction });
        }

        return d;
    }
}
