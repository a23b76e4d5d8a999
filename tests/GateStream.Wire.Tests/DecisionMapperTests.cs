using GateStream.Core.Gates;
using GateStream.Core.Policies;
using Google.Protobuf;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Wire.Tests;

public sealed class DecisionMapperTests
{
    private const long At = 1_764_000_000_123_456;

    [Fact]
    public void A_decision_with_evidence_and_an_override_survives_the_wire_and_back()
    {
        var decision = Decision(DecisionAction.Hold, GatePhase.Holding) with
        {
            Override = new OverrideInfo("alice", OverrideKind.SuppressRule, "known slow dependency", "latency-p99", TimeSpan.FromMinutes(30)),
            Evidence =
            [
                new Evidence
                {
                    Rule = "error-rate-slo", Signal = "error-rate", Status = RuleStatus.Firing, Action = GateAction.Rollback,
                    Observed = 0.043, Threshold = 0.02, Bound = BoundSide.Upper, Unit = "ratio", Window = TimeSpan.FromSeconds(30),
                    Samples = 2_597, MinSamples = 500, PValue = 0.0098, Confidence = 0.99, BreachedFor = TimeSpan.FromSeconds(3),
                    ForDuration = TimeSpan.FromSeconds(2), Comparison = "<= 0.02",
                },
                new Evidence
                {
                    Rule = "latency-p99", Signal = "latency-p99", Status = RuleStatus.Suppressed, Action = GateAction.Pause,
                    Baseline = 120, BaselineSamples = 3_000, SuppressedUntilMicros = At + 1_800_000_000,
                },
                new Evidence { Rule = "throughput", Signal = "throughput", Status = RuleStatus.InsufficientEvidence },
            ],
        };

        var proto = DecisionMapper.ToProto(decision);
        Assert.Equal(V1.Action.Hold, proto.Action);
        Assert.Equal(V1.Phase.Holding, proto.Phase);
        Assert.Equal(V1.OverrideKind.SuppressRule, proto.Override.Kind);
        Assert.Equal(V1.Action.Rollback, proto.Evidence[0].Action);
        Assert.Equal(V1.Bound.Upper, proto.Evidence[0].Bound);
        Assert.Equal(V1.Action.Unspecified, proto.Evidence[2].Action);
        Assert.False(proto.Evidence[2].HasObserved);

        // Through bytes, as the log and the decisions topic carry it.
        var logged = V1.Decision.Parser.ParseFrom(proto.ToByteArray());
        Assert.True(DecisionMapper.TryToGateDecision(logged, out var back, out var problem), problem);
        Assert.Equal(decision with { Evidence = [], Override = null }, back with { Evidence = [], Override = null });
        Assert.Equal(decision.Override, back.Override);
        Assert.Equal(decision.Evidence, back.Evidence);
        Assert.Equal(proto, DecisionMapper.ToProto(back));
    }

    [Fact]
    public void Every_action_and_phase_pair_round_trips()
    {
        foreach (var action in Enum.GetValues<DecisionAction>())
        {
            foreach (var phase in Enum.GetValues<GatePhase>())
            {
                var proto = DecisionMapper.ToProto(Decision(action, phase));
                Assert.True(DecisionMapper.TryToGateDecision(proto, out var back, out _));
                Assert.Equal((action, phase), (back.Action, back.Phase));
            }
        }
    }

    [Fact]
    public void A_logged_decision_with_a_phase_this_build_does_not_know_is_not_restored()
    {
        var proto = DecisionMapper.ToProto(Decision(DecisionAction.Promote, GatePhase.Progressing));
        proto.Phase = (V1.Phase)9;

        Assert.False(DecisionMapper.TryToSnapshot(proto, At, out _, out var problem));
        Assert.Equal("decision 7 (checkout/v2): phase 9 is not known here", problem);

        proto.Phase = V1.Phase.Unspecified;
        Assert.False(DecisionMapper.TryToSnapshot(proto, At, out _, out problem));
        Assert.Contains("phase PHASE_UNSPECIFIED", problem, StringComparison.Ordinal);
    }

    [Fact]
    public void A_snapshot_continues_the_gate_where_its_last_decision_left_it()
    {
        var proto = DecisionMapper.ToProto(Decision(DecisionAction.Rollback, GatePhase.RolledBack) with { Weight = 0 });

        Assert.True(DecisionMapper.TryToSnapshot(proto, At - 60_000_000, out var snapshot, out _));
        Assert.Equal(("checkout", "v1", "v2", "api", GatePhase.RolledBack, 0, At - 60_000_000),
            (snapshot.Deployment, snapshot.BaselineVersion, snapshot.CanaryVersion, snapshot.Policy, snapshot.Phase, snapshot.Weight, snapshot.StartedMicros));
        Assert.Equal(At, snapshot.LastDecision!.TimeMicros);
    }

    [Fact]
    public void A_gate_view_maps_every_field()
    {
        var view = new GateView("checkout/v2", "checkout", "v1", "v2", "api", "r3", PolicyMode.Shadow, GatePhase.Paused, 30, At, "controller",
            12, At + 5_000_000, ["latency-p99"], [new SuppressionView("errors", At + 60_000_000, "bob")], 2, DeploymentOwnership.WarmingUp);

        var proto = DecisionMapper.ToProto(view);

        Assert.Equal(V1.GateMode.Shadow, proto.Mode);
        Assert.Equal(V1.Phase.Paused, proto.Phase);
        Assert.Equal(V1.GateOwnership.WarmingUp, proto.Ownership);
        Assert.Equal(30u, proto.Weight);
        Assert.Equal(At, DecisionMapper.MicrosOf(proto.StartedTime));
        Assert.Equal(At + 5_000_000, DecisionMapper.MicrosOf(proto.LastDecisionTime));
        Assert.Equal(["latency-p99"], proto.FiringRules);
        Assert.Equal(("errors", At + 60_000_000, "bob"), (proto.Suppressions[0].Rule, DecisionMapper.MicrosOf(proto.Suppressions[0].Until), proto.Suppressions[0].Actor));
        Assert.Equal(12ul, proto.LastDecisionSequence);
    }

    private static GateDecision Decision(DecisionAction action, GatePhase phase) => new()
    {
        Sequence = 7,
        Gate = "checkout/v2",
        Deployment = "checkout",
        CanaryVersion = "v2",
        BaselineVersion = "v1",
        Action = action,
        Weight = 30,
        Phase = phase,
        Reason = "because",
        Policy = "api",
        PolicyRevision = "r3",
        TimeMicros = At,
        Shadow = true,
    };
}
