using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using GateStream.Core.Policies;

namespace GateStream.Core.Gates;

/// <summary>
/// A Flagger gate's webhooks, called as Flagger's scheduler calls them. A check that reaches a stage with hooks asks the
/// dispatcher for the call and waits (the shard loop never does I/O); the book delivers the answer as a command, and the
/// next tick resumes the check where it stopped. Stages already passed in the check are not called again.
/// </summary>
/// <remarks>Single writer: the shard thread. Nothing here runs for a gate whose policy has no webhooks.</remarks>
public sealed partial class Gate
{
    private HookState[]? _hooks;
    private IWebhookDispatcher? _dispatcher;
    private long _lastCallId;

    // The stage the current check waits on, and its answer once delivered.
    private WebhookType? _awaiting;
    private long _awaitingCallId;
    private WebhookResult? _awaitedResult;

    // Stages that passed in the current check (bit per WebhookType), so a resumed check does not call them again.
    private int _stagesPassed;

    // confirm-rollout approved (or none to ask); a confirm hook the gate is waiting on; blue/green and A/B iterations.
    private bool _rolloutConfirmed;
    private WebhookType? _waitingFor;
    private int _iterations;

    private enum StageOutcome
    {
        Passed,
        Failed,
        Waiting,
    }

    /// <summary>Blue/green and A/B: iterations counted so far (Flagger's <c>status.iterations</c>).</summary>
    public int Iterations => _iterations;

    /// <summary>Whether the current check waits on a webhook answer.</summary>
    public bool AwaitsWebhooks => _awaiting is not null;

    internal void UseWebhooks(IWebhookDispatcher? dispatcher)
    {
        _dispatcher = dispatcher;
        _hooks = Policy.Flagger is not null && Policy.Webhooks.Count > 0 ? [.. Policy.Webhooks.Select(h => new HookState(h))] : null;
        _rolloutConfirmed |= !Has(WebhookType.ConfirmRollout);
    }

    private void ReloadWebhooks(PolicyDefinition policy)
    {
        var old = _hooks?.ToDictionary(h => h.Spec.Name, StringComparer.Ordinal);
        _hooks = policy.Flagger is not null && policy.Webhooks.Count > 0
            ? [.. policy.Webhooks.Select(spec => old?.GetValueOrDefault(spec.Name) is { } kept ? kept.With(spec) : new HookState(spec))]
            : null;
        _awaiting = null; // the stage's hooks may have changed: the next check calls them again
        _awaitedResult = null;
        _stagesPassed = 0;
        _rolloutConfirmed |= !Has(WebhookType.ConfirmRollout);
    }

    private bool Has(WebhookType type)
    {
        if (_hooks is null)
        {
            return false;
        }

        foreach (var hook in _hooks)
        {
            if (hook.Spec.Type == type)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Records the answers of a call; the stage the check waits on resumes at the next tick.</summary>
    internal void OnWebhookResult(WebhookResult result, long nowMicros)
    {
        if (_hooks is null)
        {
            return;
        }

        foreach (var outcome in result.Outcomes)
        {
            foreach (var hook in _hooks)
            {
                if (hook.Spec.Name == outcome.Hook)
                {
                    hook.Last = outcome;
                    hook.AnsweredMicros = nowMicros;
                }
            }
        }

        if (_awaiting is not null && result.CallId == _awaitingCallId)
        {
            _awaitedResult = result;
        }
    }

    /// <summary>
    /// Runs one stage of a check: passes when the policy has no hook of <paramref name="type"/> (or no dispatcher, as in
    /// replay), or when it passed earlier in this check; otherwise asks for the call and waits, then reads its answer.
    /// For rollback hooks "failed" means a hook asked for the rollback.
    /// </summary>
    private StageOutcome RunStage(WebhookType type, string phase, long now, out WebhookOutcome? decisive)
    {
        decisive = null;
        var bit = 1 << (int)type;
        if (_hooks is null || _dispatcher is null || (_stagesPassed & bit) != 0 || !Has(type))
        {
            return StageOutcome.Passed;
        }

        if (_awaiting == type)
        {
            if (_awaitedResult is not { } result)
            {
                return StageOutcome.Waiting;
            }

            _awaiting = null;
            _awaitedResult = null;
            foreach (var outcome in result.Outcomes)
            {
                if (type == WebhookType.Rollback ? outcome.Succeeded : !outcome.Succeeded)
                {
                    decisive = outcome;
                    return StageOutcome.Failed;
                }
            }

            _stagesPassed |= bit;
            return StageOutcome.Passed;
        }

        var hooks = _hooks.Where(h => h.Spec.Type == type).Select(h => h.Spec).ToArray();
        var call = new WebhookCall(Id, Deployment, ++_lastCallId, type, hooks,
            type == WebhookType.Rollback ? WebhookStop.AtFirstSuccess : WebhookStop.AtFirstFailure,
            Payload(phase, null));
        if (!_dispatcher.TryDispatch(call))
        {
            decisive = WebhookOutcome.NotCalled(hooks[0].Name, "not called: the webhook caller's queue is full");
            Record(decisive, now);
            return type == WebhookType.Rollback ? StageOutcome.Passed : StageOutcome.Failed;
        }

        _awaiting = type;
        _awaitingCallId = call.CallId;
        return StageOutcome.Waiting;
    }

    private void Record(WebhookOutcome outcome, long now)
    {
        foreach (var hook in _hooks!)
        {
            if (hook.Spec.Name == outcome.Hook)
            {
                hook.Last = outcome;
                hook.AnsweredMicros = now;
            }
        }
    }

    /// <summary>A check ended without waiting: the next one starts from its first stage.</summary>
    private void EndCheck() => _stagesPassed = 0;

    /// <summary>
    /// Flagger's phase name for a payload: what its status would say now. Confirm, pre-rollout and rollout hooks are sent
    /// "Progressing" by Flagger whatever the status; confirm-rollout and rollback hooks get the status itself.
    /// </summary>
    private string FlaggerPhaseName() => Phase switch
    {
        GatePhase.Succeeded => "Succeeded",
        GatePhase.RolledBack => "Failed",
        _ when !_rolloutConfirmed => _waitingFor == WebhookType.ConfirmRollout ? "Waiting" : "Initialized",
        _ when _waitingFor == WebhookType.ConfirmPromotion => "WaitingPromotion",
        _ => "Progressing",
    };

    private const string Progressing = "Progressing";

    private WebhookPayload Payload(string phase, IReadOnlyDictionary<string, string>? eventMetadata) =>
        new(Policy.Name, Policy.Flagger?.Namespace ?? FlaggerAnalysisSpec.DefaultNamespace, phase, Checksum, eventMetadata);

    /// <summary>Identifies this rollout (deployment, canary version, policy revision) as Flagger's checksum identifies a Canary's spec.</summary>
    private string Checksum => _checksum ??= Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{Id}\n{Policy.Revision}")))[..16];

    private string? _checksum;

    /// <summary>
    /// After a decision is durable: event hooks hear of it (message, Normal or Warning, time in ms, as Flagger sends its
    /// events), and post-rollout hooks are called once the gate succeeded or rolled back. Fire and forget: answers are
    /// recorded as evidence and change nothing.
    /// </summary>
    private void AnnounceDecision(GateDecision decision)
    {
        if (_hooks is null || _dispatcher is null)
        {
            return;
        }

        if (Has(WebhookType.Event))
        {
            var warning = decision.Action is DecisionAction.Hold or DecisionAction.Pause or DecisionAction.Rollback;
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["eventMessage"] = decision.Reason,
                ["eventType"] = warning ? "Warning" : "Normal",
                ["timestamp"] = (decision.TimeMicros / 1000).ToString(CultureInfo.InvariantCulture),
            };
            Dispatch(WebhookType.Event, Payload(FlaggerPhaseName(), metadata), decision.TimeMicros);
        }

        if (IsFinished && Has(WebhookType.PostRollout))
        {
            Dispatch(WebhookType.PostRollout, Payload(FlaggerPhaseName(), null), decision.TimeMicros);
        }
    }

    private void Dispatch(WebhookType type, WebhookPayload payload, long now)
    {
        var hooks = _hooks!.Where(h => h.Spec.Type == type).Select(h => h.Spec).ToArray();
        if (!_dispatcher!.TryDispatch(new WebhookCall(Id, Deployment, ++_lastCallId, type, hooks, WebhookStop.Never, payload)))
        {
            foreach (var hook in hooks)
            {
                Record(WebhookOutcome.NotCalled(hook.Name, "not called: the webhook caller's queue is full"), now);
            }
        }
    }

    /// <summary>
    /// A confirm hook refused: the gate waits at its weight without counting a failed check, as Flagger does. The first
    /// refusal is a HOLD decision; later ones change nothing until the hook approves.
    /// </summary>
    private GateDecision? WaitFor(WebhookType type, WebhookOutcome? refusal, long now)
    {
        var already = _waitingFor == type && Phase == GatePhase.Holding;
        _waitingFor = type;
        if (already)
        {
            return null;
        }

        var what = type switch
        {
            WebhookType.ConfirmRollout => "approval to start the rollout",
            WebhookType.ConfirmTrafficIncrease => "approval to increase traffic",
            _ => "approval to promote",
        };
        return Enter(GatePhase.Holding, DecisionAction.Hold, now,
            $"{Describe(type, refusal)}; waiting for {what} at weight {Weight} (not a failed check, as in Flagger).");
    }

    private static string Describe(WebhookType type, WebhookOutcome? outcome) => outcome is null
        ? $"A {WebhookSpec.NameOf(type)} webhook failed"
        : $"Webhook '{outcome.Hook}' ({WebhookSpec.NameOf(type)}) {Answer(outcome)}";

    private static string Answer(WebhookOutcome outcome)
    {
        var attempts = outcome.Attempts == 1 ? "1 attempt" : $"{outcome.Attempts} attempts";
        var took = outcome.Latency.TotalMilliseconds.ToString("0.#", CultureInfo.InvariantCulture) + " ms";
        return outcome switch
        {
            { Attempts: 0 } => outcome.Error ?? "was not called",
            { Status: { } status, Error: null } => $"answered {status} in {took} ({attempts})",
            { Status: { } status } => $"answered {status} in {took} ({attempts}): {outcome.Error}",
            _ => $"failed after {attempts} in {took}: {outcome.Error}",
        };
    }

    private int WebhookEvidenceCount => (_hooks?.Length ?? 0) + (Policy.Flagger is { UsesIterations: true } ? 1 : 0);

    /// <summary>Each webhook's latest answer, and the iterations of a blue/green or A/B analysis, for evidence.</summary>
    private void WriteWebhookEvidence(Span<Evidence> evidence)
    {
        var at = 0;
        if (Policy.Flagger is { UsesIterations: true } flagger)
        {
            var match = flagger.Match.Count > 0
                ? $"; A/B testing, requests matching {string.Join(" or ", flagger.Match)} go to the canary (the router's routing, not enforced by GateStream)"
                : "; blue/green";
            evidence[at++] = new Evidence
            {
                Rule = "iterations",
                Signal = "iterations",
                Status = RuleStatus.Passing,
                Observed = _iterations,
                Threshold = flagger.Iterations,
                Bound = BoundSide.Lower,
                Unit = "checks",
                Comparison = $"iteration {_iterations} of {flagger.Iterations}; promoted after the last{match}",
            };
        }

        if (_hooks is null)
        {
            return;
        }

        foreach (var hook in _hooks)
        {
            var spec = hook.Spec;
            var last = hook.Last;
            var acts = spec.Type switch
            {
                WebhookType.ConfirmRollout or WebhookType.ConfirmTrafficIncrease or WebhookType.ConfirmPromotion => GateAction.Hold,
                WebhookType.PreRollout or WebhookType.Rollout or WebhookType.Rollback => GateAction.Rollback,
                _ => GateAction.None,
            };
            var status = last is null ? RuleStatus.InsufficientEvidence
                : spec.Type == WebhookType.Rollback ? (last.Succeeded ? RuleStatus.Firing : RuleStatus.Passing)
                : last.Succeeded ? RuleStatus.Passing : RuleStatus.Firing;
            var rule = spec.Type switch
            {
                WebhookType.Rollback => "a 200-202 answer rolls back",
                WebhookType.PreRollout or WebhookType.Rollout => "passes on 200-202; a failure is a failed check",
                WebhookType.Event or WebhookType.PostRollout => "fire and forget",
                _ => "passes on 200-202; waits while it fails",
            };
            var retries = spec.Retries == 1 ? "1 retry" : $"{spec.Retries} retries";
            evidence[at++] = new Evidence
            {
                Rule = spec.Name,
                Signal = "webhook:" + spec.TypeName,
                Status = status,
                Action = acts,
                Observed = last?.Status,
                Unit = "HTTP status",
                Samples = last?.Attempts ?? 0,
                Comparison = $"POST {spec.Url} {(last is null ? "not called yet" : Answer(last))}; {rule} (timeout {Format(spec.Timeout)} per attempt, {retries})",
            };
        }
    }

    /// <summary>A webhook's latest answer.</summary>
    private sealed class HookState(WebhookSpec spec)
    {
        public WebhookSpec Spec { get; private set; } = spec;

        public WebhookOutcome? Last { get; set; }

        public long AnsweredMicros { get; set; }

        public HookState With(WebhookSpec spec)
        {
            Spec = spec;
            return this;
        }
    }
}
