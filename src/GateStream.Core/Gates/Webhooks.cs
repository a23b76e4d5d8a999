using GateStream.Core.Policies;

namespace GateStream.Core.Gates;

/// <summary>Which answers end a webhook call early (Flagger calls a type's hooks in order and stops there).</summary>
public enum WebhookStop
{
    /// <summary>Gating hooks: the first hook that does not answer 200-202 fails the stage; later hooks are not called.</summary>
    AtFirstFailure,

    /// <summary>Rollback hooks: the first hook that answers 200-202 asks for the rollback; later hooks are not called.</summary>
    AtFirstSuccess,

    /// <summary>Event and post-rollout hooks: every hook is called, and no answer changes anything.</summary>
    Never,
}

/// <summary>
/// Flagger's webhook payload (<c>CanaryWebhookPayload</c>): the Canary's name and namespace, Flagger's phase name,
/// a checksum that identifies the rollout, and metadata (each hook's own, plus <see cref="EventMetadata"/> for events,
/// which win over the hook's as in Flagger).
/// </summary>
public sealed record WebhookPayload(string Name, string Namespace, string Phase, string Checksum, IReadOnlyDictionary<string, string>? EventMetadata = null);

/// <summary>
/// What a gate asks the daemon to call, off the shard loop: <see cref="Hooks"/> in order, stopping as
/// <see cref="Stop"/> says. The answer comes back as a <see cref="WebhookResult"/> with the same <see cref="CallId"/>.
/// </summary>
public sealed record WebhookCall(string Gate, string Deployment, long CallId, WebhookType Type, IReadOnlyList<WebhookSpec> Hooks, WebhookStop Stop, WebhookPayload Payload);

/// <summary>One hook's answer: its HTTP status (null when none came), how long all attempts took, how many, and the error.</summary>
public sealed record WebhookOutcome(string Hook, int? Status, TimeSpan Latency, int Attempts, string? Error)
{
    /// <summary>Flagger reads 200, 201 and 202 as success; any other status, or no answer, as failure.</summary>
    public bool Succeeded => Status is >= 200 and <= 202;

    public static WebhookOutcome NotCalled(string hook, string why) => new(hook, null, TimeSpan.Zero, 0, why);
}

/// <summary>The answers to one <see cref="WebhookCall"/>, for the hooks that were called, in order.</summary>
public sealed record WebhookResult(string Gate, long CallId, IReadOnlyList<WebhookOutcome> Outcomes);

/// <summary>
/// Runs webhook calls for gates, off the shard loop. <see cref="TryDispatch"/> is called on the shard thread: it must
/// only enqueue. Every accepted call must be answered (a <see cref="WebhookResult"/> delivered to the gate's book),
/// whatever happens to the HTTP request: a gate waiting on a stage waits for that answer.
/// </summary>
public interface IWebhookDispatcher
{
    /// <summary>False when the call cannot be queued; the gate counts that as the first hook failing, without a call.</summary>
    bool TryDispatch(WebhookCall request);
}
