using GateStream.Core.Gates;
using GateStream.Core.Policies;
using static GateStream.Core.Tests.TestData;

namespace GateStream.Core.Tests.Gates;

/// <summary>
/// A Flagger gate's webhook stages on a virtual clock: the check asks the dispatcher and waits, the answer arrives as a
/// command, the check resumes where it stopped. Iterations count checks; confirm hooks wait without failing a check.
/// </summary>
public sealed class FlaggerWebhookGateTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(10);

    /// <summary>Records calls and answers nothing by itself: the test delivers each answer.</summary>
    private sealed class HeldDispatcher : IWebhookDispatcher
    {
        public List<WebhookCall> Calls { get; } = [];

        public bool Refuse { get; set; }

        public bool TryDispatch(WebhookCall request)
        {
            if (Refuse)
            {
                return false;
            }

            Calls.Add(request);
            return true;
        }
    }

    private static WebhookSpec Hook(string name, WebhookType type) => new(name, type, $"http://hooks.test/{name}", WebhookSpec.DefaultTimeout, new Dictionary<string, string>());

    private static PolicyDefinition Policy(int iterations, int threshold, params WebhookSpec[] hooks) => new()
    {
        Name = "shop",
        Target = "shop",
        Form = PolicyForm.Flagger,
        Flagger = new FlaggerAnalysisSpec(Interval, threshold) { Iterations = iterations, Namespace = "retail", Match = iterations > 0 ? ["headers.x-beta.exact=on"] : [] },
        Progression = new ProgressionSpec { StepWeight = iterations > 0 ? 100 : 50, MaxWeight = iterations > 0 ? 100 : 50, StepInterval = Interval, InitialWeight = 0 },
        Webhooks = hooks,
    };

    private static (InlineEngine Engine, InMemoryDecisionSink Sink, HeldDispatcher Hooks) Start(PolicyDefinition policy, bool withDispatcher = true)
    {
        var sink = new InMemoryDecisionSink();
        var hooks = new HeldDispatcher();
        var engine = new InlineEngine(T0, new PolicyCatalog(new PolicySet([policy])), sink, webhooks: withDispatcher ? hooks : null);
        Assert.True(engine.Start(new StartRolloutCommand("shop", "v1", "v2", null, null, "flagger")).Succeeded);
        return (engine, sink, hooks);
    }

    /// <summary>Moves the clock by <paramref name="seconds"/>, with a steady trickle of canary traffic (progress deadline).</summary>
    private static void Run(InlineEngine engine, double seconds, bool traffic = true)
    {
        var end = engine.NowMicros + (long)(seconds * Second);
        while (engine.NowMicros < end)
        {
            if (traffic)
            {
                engine.Apply(Batch("shop", "v2", 10, engine.NowMicros));
            }

            engine.AdvanceTo(Math.Min(end, engine.NowMicros + Second));
        }
    }

    private static WebhookResult Answer(WebhookCall call, params int?[] statuses) =>
        new(call.Gate, call.CallId, [.. statuses.Select((s, i) => new WebhookOutcome(call.Hooks[i].Name, s, TimeSpan.FromMilliseconds(3), 1, s is null ? "connection refused" : null))]);

    [Fact]
    public void A_check_waits_for_its_webhook_answer_and_starts_no_other_check_meanwhile()
    {
        var (engine, sink, hooks) = Start(Policy(0, 2, Hook("load", WebhookType.PreRollout)));

        Run(engine, 10.5);
        var call = Assert.Single(hooks.Calls);
        Assert.Equal(WebhookType.PreRollout, call.Type);
        Assert.Equal(("shop", "retail", "Progressing"), (call.Payload.Name, call.Payload.Namespace, call.Payload.Phase));
        Assert.Equal(16, call.Payload.Checksum.Length);

        // Three more intervals pass without an answer: no second call, no decision.
        Run(engine, 30);
        Assert.Single(hooks.Calls);
        Assert.Empty(sink.Decisions);
        Assert.True(engine.Gates.Find("shop/v2")!.AwaitsWebhooks);

        Assert.True(engine.Deliver(Answer(call, 200)));
        Run(engine, 0.5);
        var step = Assert.Single(sink.Decisions);
        Assert.Equal((DecisionAction.Promote, 50), (step.Action, step.Weight));
        var evidence = Assert.Single(step.Evidence, e => e.Rule == "load");
        Assert.Equal((RuleStatus.Passing, 200.0, 1L), (evidence.Status, evidence.Observed, evidence.Samples));
        Assert.Equal("webhook:pre-rollout", evidence.Signal);
    }

    [Fact]
    public void Without_a_dispatcher_as_in_replay_webhook_stages_pass()
    {
        var (engine, sink, _) = Start(Policy(2, 1, Hook("gate", WebhookType.ConfirmPromotion), Hook("smoke", WebhookType.Rollout)), withDispatcher: false);

        Run(engine, 31);

        var promoted = Assert.Single(sink.Decisions);
        Assert.Equal((DecisionAction.Promote, 100, GatePhase.Succeeded), (promoted.Action, promoted.Weight, promoted.Phase));
        Assert.DoesNotContain(promoted.Evidence, e => e.Signal.StartsWith("webhook:", StringComparison.Ordinal)); // none called, none reported
        Assert.Equal(2, promoted.Evidence.Single(e => e.Rule == "iterations").Observed);
    }

    [Fact]
    public void Iterations_wait_on_confirm_promotion_without_failing_a_check_then_promote()
    {
        var (engine, sink, hooks) = Start(Policy(2, 1, Hook("gate", WebhookType.ConfirmPromotion)));

        // Iteration 1 at 10 s, 2 at 20 s, then confirm-promotion at 30 s.
        Run(engine, 30.5);
        var first = Assert.Single(hooks.Calls);
        Assert.Equal(WebhookType.ConfirmPromotion, first.Type);
        engine.Deliver(Answer(first, 403));
        Run(engine, 0.5);
        var hold = Assert.Single(sink.Decisions);
        Assert.Equal((DecisionAction.Hold, 0), (hold.Action, hold.Weight));
        Assert.Contains("waiting for approval to promote", hold.Reason, StringComparison.Ordinal);
        Assert.Equal(0, engine.Gates.Find("shop/v2")!.FailedChecks);
        var iterations = hold.Evidence.Single(e => e.Rule == "iterations");
        Assert.Equal((2.0, 2.0), (iterations.Observed, iterations.Threshold));
        Assert.Contains("headers.x-beta.exact=on", iterations.Comparison, StringComparison.Ordinal);

        // Refused again: no new decision. Approved: promoted.
        Run(engine, 10);
        engine.Deliver(Answer(hooks.Calls[^1], 403));
        Run(engine, 10);
        Assert.Single(sink.Decisions);
        engine.Deliver(Answer(hooks.Calls[^1], 200));
        Run(engine, 0.5);
        Assert.Equal((DecisionAction.Promote, 100), (sink.Decisions[^1].Action, sink.Decisions[^1].Weight));
        Assert.All(hooks.Calls, c => Assert.Equal("Progressing", c.Payload.Phase)); // Flagger sends confirm-promotion "Progressing" whatever its status
    }

    [Fact]
    public void Failed_rollout_hooks_count_toward_the_threshold_and_a_full_queue_counts_as_a_failure()
    {
        var (engine, sink, hooks) = Start(Policy(0, 2, Hook("smoke", WebhookType.Rollout), Hook("deep", WebhookType.Rollout)));

        Run(engine, 10.5); // first iteration: no rollout hooks, step to 50
        Assert.Equal(50, Assert.Single(sink.Decisions).Weight);
        Run(engine, 10);
        var call = Assert.Single(hooks.Calls);
        Assert.Equal(["smoke", "deep"], call.Hooks.Select(h => h.Name));
        Assert.Equal(WebhookStop.AtFirstFailure, call.Stop);
        engine.Deliver(Answer(call, (int?)null)); // smoke: no answer; deep was not called
        Run(engine, 0.5);
        Assert.Equal(DecisionAction.Hold, sink.Decisions[^1].Action);
        Assert.Contains("Webhook 'smoke' (rollout) failed after 1 attempt in 3 ms: connection refused; failed checks 1 of 2", sink.Decisions[^1].Reason, StringComparison.Ordinal);

        hooks.Refuse = true;
        Run(engine, 10);
        Assert.Equal(DecisionAction.Rollback, sink.Decisions[^1].Action);
        Assert.Contains("queue is full", sink.Decisions[^1].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Event_and_post_rollout_hooks_hear_of_durable_decisions_only()
    {
        var (engine, sink, hooks) = Start(Policy(0, 1, Hook("tell", WebhookType.Event), Hook("after", WebhookType.PostRollout)));

        Run(engine, 10.5);
        var told = Assert.Single(hooks.Calls);
        Assert.Equal(WebhookStop.Never, told.Stop);
        Assert.Equal(sink.Decisions[0].Reason, told.Payload.EventMetadata!["eventMessage"]);
        Assert.Equal("Normal", told.Payload.EventMetadata["eventType"]);

        engine.Override(new OverrideCommand("shop/v2", OverrideKind.Rollback, "alice", "bad canary"));
        Assert.Equal([WebhookType.Event, WebhookType.Event, WebhookType.PostRollout], hooks.Calls.Select(c => c.Type));
        Assert.Equal("Warning", hooks.Calls[1].Payload.EventMetadata!["eventType"]);
        Assert.Equal("Failed", hooks.Calls[2].Payload.Phase);
    }

    [Fact]
    public void An_analysis_gated_by_webhooks_alone_needs_no_traffic_past_the_progress_deadline()
    {
        var policy = Policy(0, 1, Hook("smoke", WebhookType.Rollout));
        policy = policy with { Flagger = policy.Flagger! with { ProgressDeadline = TimeSpan.FromSeconds(15) } };
        var (engine, sink, hooks) = Start(policy);

        Run(engine, 10.5, traffic: false); // step to 50 without analysis
        Run(engine, 10, traffic: false);
        engine.Deliver(Answer(Assert.Single(hooks.Calls), 200));
        Run(engine, 0.5, traffic: false);

        Assert.Equal([(DecisionAction.Promote, 50), (DecisionAction.Promote, 100)], sink.Decisions.Select(d => (d.Action, d.Weight)));
    }

    [Fact]
    public void After_a_restart_a_gate_keeps_waiting_on_its_confirm_hook_with_its_iterations_counted()
    {
        var policy = Policy(2, 1, Hook("gate", WebhookType.ConfirmPromotion));
        var (engine, sink, hooks) = Start(policy);
        Run(engine, 30.5);
        engine.Deliver(Answer(hooks.Calls[^1], 403));
        Run(engine, 0.5);
        var hold = Assert.Single(sink.Decisions);

        // A new engine, as after a restart: the gate comes back from its last logged decision.
        var restarted = new InMemoryDecisionSink(hold.Sequence);
        var calls = new HeldDispatcher();
        var engine2 = new InlineEngine(engine.NowMicros, new PolicyCatalog(new PolicySet([policy])), restarted, webhooks: calls);
        var snapshot = new GateSnapshot("shop", "v1", "v2", "shop", hold.Phase, hold.Weight, T0, "flagger", hold);
        Assert.NotNull(engine2.Gates.Restore(snapshot, engine2.NowMicros).Gate);
        Assert.Equal(2, engine2.Gates.Find("shop/v2")!.Iterations);

        Run(engine2, 10.5); // the next check asks confirm-promotion again: no pre-rollout, no iteration recounted
        var again = Assert.Single(calls.Calls);
        Assert.Equal(WebhookType.ConfirmPromotion, again.Type);
        engine2.Deliver(Answer(again, 403));
        Run(engine2, 0.5);
        Assert.Empty(restarted.Decisions); // still waiting: no second HOLD
        Run(engine2, 10);
        engine2.Deliver(Answer(calls.Calls[^1], 200));
        Run(engine2, 0.5);
        Assert.Equal((DecisionAction.Promote, 100), (restarted.Decisions[^1].Action, restarted.Decisions[^1].Weight));
    }

    [Fact]
    public void A_persons_hold_stops_passing_checks_from_stepping_for_its_length_or_until_resumed()
    {
        var policy = Policy(0, 2) with
        {
            Progression = new ProgressionSpec { StepWeight = 10, MaxWeight = 90, StepInterval = Interval, InitialWeight = 0 },
        };
        var (engine, sink, _) = Start(policy, withDispatcher: false);
        Run(engine, 25.5);
        var weight = sink.Decisions[^1].Weight;
        Assert.True(weight > 0, "the canary stepped before the hold");
        var gate = sink.Decisions[^1].Gate;

        Assert.True(engine.Override(new OverrideCommand(gate, OverrideKind.Hold, "alice", "looking at the dashboards", Duration: TimeSpan.FromSeconds(60))).Succeeded);
        var decisionsAtHold = sink.Decisions.Count;
        Run(engine, 55);
        Assert.Equal(decisionsAtHold, sink.Decisions.Count); // five passing checks inside the hold: no step, no resume
        Assert.Equal(GatePhase.Holding, sink.Decisions[^1].Phase);
        Run(engine, 15);
        Assert.True(sink.Decisions[^1].Weight > weight, "the first passing check after the hold's length steps the canary");

        weight = sink.Decisions[^1].Weight;
        Assert.True(engine.Override(new OverrideCommand(gate, OverrideKind.Hold, "alice", "again", Duration: TimeSpan.FromHours(1))).Succeeded);
        Run(engine, 30);
        Assert.Equal(GatePhase.Holding, sink.Decisions[^1].Phase);
        Assert.True(engine.Override(new OverrideCommand(gate, OverrideKind.Resume, "alice", "looks fine")).Succeeded);
        Run(engine, 20.5);
        Assert.True(sink.Decisions[^1].Weight > weight, "the canary steps again once resumed, before the hold's hour");
    }
}
