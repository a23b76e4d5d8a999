using GateStream.Core.Gates;

namespace GateStream.Cli.Replay;

/// <summary>What a replay did: its input, its decisions, and per gate and per rule what a policy review needs.</summary>
public sealed record ReplaySummary
{
    /// <summary>Messages (PushRequests) read from the events file.</summary>
    public long Messages { get; init; }

    /// <summary>Events in those messages.</summary>
    public long Events { get; init; }

    /// <summary>Metric samples in those messages.</summary>
    public long Samples { get; init; }

    /// <summary>Events the windows recorded.</summary>
    public long EventsAccepted { get; init; }

    /// <summary>Events refused or dropped, as the daemon would have: malformed batches, late, too far ahead, invalid, over the series cap.</summary>
    public long EventsDropped { get; init; }

    public long SamplesAccepted { get; init; }

    /// <summary>Samples refused or dropped, as the daemon would have: invalid, late, too far ahead, over a cap.</summary>
    public long SamplesDropped { get; init; }

    /// <summary>Batches refused whole (columns of different lengths, empty deployment or version).</summary>
    public long BatchesRefused { get; init; }

    /// <summary>Virtual clock at the first message, µs since the Unix epoch (0 with no event).</summary>
    public long FirstMicros { get; init; }

    /// <summary>Virtual clock after the last message, before the final window.</summary>
    public long LastMicros { get; init; }

    public TimeSpan TickInterval { get; init; }

    /// <summary>How long the engine ran on after the last message with no traffic (the series window).</summary>
    public TimeSpan FinalWindow { get; init; }

    public long Decisions { get; init; }

    /// <summary>
    /// Decisions taken in the final window, after the last recorded event: with no more traffic, holds release and
    /// pending rules resolve, which live traffic that went on after the recording might not have allowed.
    /// </summary>
    public long DecisionsAfterTraffic { get; init; }

    /// <summary>Every action with its count (zeros included), in the order of <see cref="DecisionAction"/>.</summary>
    public IReadOnlyList<KeyValuePair<DecisionAction, long>> DecisionsByAction { get; init; } = [];

    /// <summary>Every gate the replay opened, by start time then id.</summary>
    public IReadOnlyList<ReplayGateSummary> Gates { get; init; } = [];

    /// <summary>Per (policy, rule): decisions whose evidence shows the rule firing, by policy then rule name.</summary>
    public IReadOnlyList<ReplayRuleSummary> FiringRules { get; init; } = [];

    /// <summary>The policies replayed, with their revisions.</summary>
    public IReadOnlyList<ReplayPolicy> Policies { get; init; } = [];

    /// <summary>The replay beside the live decisions the recording holds; null when it holds none (and no start).</summary>
    public ReplayComparisonSummary? Comparison { get; init; }
}

/// <summary>One gate of a replay.</summary>
/// <param name="FirstStopAction">The first HOLD, PAUSE or ROLLBACK, if any.</param>
/// <param name="FirstStopAfter">How long after the gate's start it came.</param>
/// <param name="InsufficientEvidence">
/// Evaluation time (ticks x tick interval, over the recorded traffic) in which at least one rule had fewer samples
/// than its <c>minSamples</c>.
/// </param>
public sealed record ReplayGateSummary(
    string Id,
    string Deployment,
    string BaselineVersion,
    string CanaryVersion,
    string Policy,
    long StartedMicros,
    long Decisions,
    GatePhase Phase,
    int Weight,
    DecisionAction? FirstStopAction,
    TimeSpan? FirstStopAfter,
    TimeSpan InsufficientEvidence);

public sealed record ReplayRuleSummary(string Policy, string Rule, long FiringDecisions);

public sealed record ReplayPolicy(string Name, string Revision);
