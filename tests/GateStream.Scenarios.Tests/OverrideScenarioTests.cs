using GateStream.Core.Gates;
using GateStream.Core.Policies;

namespace GateStream.Scenarios.Tests;

public class OverrideScenarioTests
{
    private static readonly Behaviour Baseline = Behaviour.Steady(400, 0.001, 20);

    private static PolicyDefinition RollbackOnly() => Policies.Layered() with
    {
        Rules = [.. Policies.Layered().Rules.Where(r => r.Name == "error-rate-slo")],
    };

    [Fact]
    public void After_an_automatic_rollback_suppress_and_resume_are_honoured_and_recorded()
    {
        var sim = new Simulation(RollbackOnly(), 41);
        sim.Warm(Baseline, TimeSpan.FromMinutes(1));
        var bad = Behaviour.Steady(100, 0.02, 20);
        sim.Run(Baseline, bad, TimeSpan.FromMinutes(3));
        var rollback = Assert.Single(sim.Decisions, d => d.Action == DecisionAction.Rollback);
        Assert.Null(rollback.Override);

        var suppress = sim.Engine.Override(new OverrideCommand(sim.GateId, OverrideKind.SuppressRule, "alice", "known noisy dependency", "error-rate-slo", TimeSpan.FromMinutes(30)));
        Assert.True(suppress.Succeeded, suppress.Message);
        var resume = sim.Engine.Override(new OverrideCommand(sim.GateId, OverrideKind.Resume, "alice", "errors are from a known dependency"));
        Assert.True(resume.Succeeded, resume.Message);
        Assert.Equal(DecisionAction.Resume, resume.Decision!.Action);
        Assert.Equal(rollback.Evidence.Count, resume.Decision.Evidence.Count);
        Assert.Equal(("alice", OverrideKind.Resume), (resume.Decision.Override!.Actor, resume.Decision.Override.Kind));
        Assert.True(resume.Decision.Weight > 0);

        sim.Run(Baseline, bad, TimeSpan.FromMinutes(3));

        // The suppress decision restates the gate's current instruction (rollback, weight 0); no new automatic rollback.
        Assert.Single(sim.Decisions, d => d.Action == DecisionAction.Rollback && d.Override is null);
        Assert.Contains(sim.Decisions, d => d.Action == DecisionAction.Promote && d.TimeMicros > resume.Decision.TimeMicros);
        var recorded = sim.Decisions.Where(d => d.Override is not null).Select(d => d.Override!.Kind).ToList();
        Assert.Equal([OverrideKind.SuppressRule, OverrideKind.Resume], recorded);
        Assert.Equal(RuleStatus.Suppressed, sim.Decisions[^1].Evidence.Single().Status);
        Assert.True(sim.Decisions.Select(d => d.Sequence).SequenceEqual(sim.Decisions.Select((_, i) => (ulong)(i + 1))));
    }

    [Fact]
    public void After_a_pause_resume_continues_progression()
    {
        var sim = new Simulation(Policies.Layered(), 42);
        sim.Warm(Baseline, TimeSpan.FromMinutes(1));
        var slow = new Behaviour(100, _ => 0.001, minute => minute < 1.5 ? 20 : 40);
        sim.Run(Baseline, slow, TimeSpan.FromMinutes(4));
        var pause = Assert.Single(sim.Decisions, d => d.Action == DecisionAction.Pause);

        // Paused gates wait for a person, however long.
        sim.Run(Baseline, Behaviour.Steady(100, 0.001, 20), TimeSpan.FromMinutes(3));
        Assert.Equal(GatePhase.Paused, sim.Gate!.Phase);

        var resume = sim.Engine.Override(new OverrideCommand(sim.GateId, OverrideKind.Resume, "bob", "slow queries fixed by a config change"));
        Assert.True(resume.Succeeded, resume.Message);
        sim.Run(Baseline, Behaviour.Steady(100, 0.001, 20), TimeSpan.FromMinutes(5));

        var after = sim.Decisions.Where(d => d.TimeMicros > resume.Decision!.TimeMicros && d.Action == DecisionAction.Promote).ToList();
        Assert.NotEmpty(after);
        Assert.Equal(pause.Weight + 10, after[0].Weight);
    }

    [Fact]
    public void A_persons_hold_lasts_its_length_a_second_hold_restarts_it_and_then_it_releases_by_itself()
    {
        var sim = new Simulation(Policies.Layered(), 44);
        var good = Behaviour.Steady(100, 0.001, 20);
        sim.Warm(Baseline, TimeSpan.FromMinutes(1));
        sim.Run(Baseline, good, TimeSpan.FromSeconds(30));

        var hold = sim.Engine.Override(new OverrideCommand(sim.GateId, OverrideKind.Hold, "alice", "freeze during the sale", Duration: TimeSpan.FromMinutes(5)));
        Assert.True(hold.Succeeded, hold.Message);
        Assert.Equal((DecisionAction.Hold, GatePhase.Holding), (hold.Decision!.Action, hold.Decision.Phase));
        Assert.Contains("for 5m", hold.Decision.Reason, StringComparison.Ordinal);

        // Inside its length the gate stays held though no rule fires (a good canary would otherwise step every minute).
        sim.Run(Baseline, good, TimeSpan.FromMinutes(4.5));
        Assert.Equal(GatePhase.Holding, sim.Gate!.Phase);
        Assert.Equal(hold.Decision, sim.Decisions[^1]);

        // A second hold on the held gate restarts the clock: 2 more minutes from now, past the first hold's end.
        var again = sim.Engine.Override(new OverrideCommand(sim.GateId, OverrideKind.Hold, "bob", "the sale runs late", Duration: TimeSpan.FromMinutes(2)));
        Assert.True(again.Succeeded, again.Message);
        Assert.Equal((DecisionAction.Hold, GatePhase.Holding), (again.Decision!.Action, again.Decision.Phase));
        sim.Run(Baseline, good, TimeSpan.FromMinutes(1.5));
        Assert.Equal(GatePhase.Holding, sim.Gate!.Phase);
        Assert.Equal(again.Decision, sim.Decisions[^1]);

        sim.Run(Baseline, good, TimeSpan.FromMinutes(1));
        var release = Assert.Single(sim.Decisions, d => d.Action == DecisionAction.Resume);
        Assert.Null(release.Override);
        Assert.Equal((GatePhase.Progressing, hold.Decision.Weight), (release.Phase, release.Weight));
        var after = TimeSpan.FromMicroseconds(release.TimeMicros - again.Decision.TimeMicros);
        Assert.InRange(after, TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(1));
        Assert.Contains("Hold released", release.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_persons_hold_without_a_length_lasts_release_after_and_stays_while_a_rule_fires()
    {
        var sim = new Simulation(Policies.Layered(), 45);
        sim.Warm(Baseline, TimeSpan.FromMinutes(1));
        sim.Run(Baseline, Behaviour.Steady(100, 0.001, 20), TimeSpan.FromSeconds(30));
        var hold = sim.Engine.Override(new OverrideCommand(sim.GateId, OverrideKind.Hold, "alice", "watching a dependency"));
        Assert.True(hold.Succeeded, hold.Message);
        Assert.Contains("for 2m", hold.Decision!.Reason, StringComparison.Ordinal); // the policy's releaseAfter
        var negative = sim.Engine.Override(new OverrideCommand(sim.GateId, OverrideKind.Hold, "alice", "typo", Duration: TimeSpan.FromMinutes(-1)));
        Assert.Equal(OverrideError.InvalidArgument, negative.Error);

        // Past the hold's length a hold rule fires (errors above the baseline's): the gate stays held, by the rule now.
        var rising = Behaviour.Steady(100, 0.006, 20);
        sim.Run(Baseline, rising, TimeSpan.FromMinutes(4));
        Assert.Equal(GatePhase.Holding, sim.Gate!.Phase);
        Assert.DoesNotContain(sim.Decisions, d => d.Action == DecisionAction.Resume);

        // The rule stops firing: the rule's own hold releases after releaseAfter without a firing rule.
        sim.Run(Baseline, Behaviour.Steady(100, 0.001, 20), TimeSpan.FromMinutes(5));
        Assert.Contains(sim.Decisions, d => d.Action == DecisionAction.Resume && d.Override is null);
    }

    [Fact]
    public void Illegal_overrides_are_refused_with_a_sentence()
    {
        var sim = new Simulation(Policies.Layered(), 43);
        sim.Warm(Baseline, TimeSpan.FromMinutes(1));
        sim.Run(Baseline, Behaviour.Steady(100, 0.001, 20), TimeSpan.FromSeconds(10));

        var unknown = sim.Engine.Override(new OverrideCommand("api/v9", OverrideKind.Pause, "carol", "test"));
        Assert.Equal(OverrideError.NotFound, unknown.Error);
        var resume = sim.Engine.Override(new OverrideCommand(sim.GateId, OverrideKind.Resume, "carol", "test"));
        Assert.Equal(OverrideError.IllegalTransition, resume.Error);
        Assert.Contains("Progressing", resume.Message, StringComparison.Ordinal);
        var noRule = sim.Engine.Override(new OverrideCommand(sim.GateId, OverrideKind.SuppressRule, "carol", "test", "nope", TimeSpan.FromMinutes(1)));
        Assert.Equal(OverrideError.InvalidArgument, noRule.Error);
        var noReason = sim.Engine.Override(new OverrideCommand(sim.GateId, OverrideKind.Pause, "carol", ""));
        Assert.Equal(OverrideError.InvalidArgument, noReason.Error);

        var full = sim.Engine.Override(new OverrideCommand(sim.GateId, OverrideKind.PromoteFull, "carol", "hotfix"));
        Assert.Equal((100, GatePhase.Succeeded), (full.Decision!.Weight, full.Decision.Phase));
        Assert.Equal(OverrideError.IllegalTransition, sim.Engine.Override(new OverrideCommand(sim.GateId, OverrideKind.Promote, "carol", "again")).Error);
        Assert.Equal(OverrideKind.PromoteFull, Assert.Single(sim.Decisions).Override!.Kind); // refusals record nothing
    }
}
