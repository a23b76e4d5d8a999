using GateStream.Cli.Internal;
using GateStream.Core.Gates;
using GateStream.Core.Policies;
using GateStream.Core.Time;
using GateStream.Wire;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Replay;

/// <summary>
/// Replayed decisions beside the live ones a recording holds (<c>live_decision</c> entries): per gate, in order, a
/// decision is replayed alike when its action, weight and phase are the live one's. The first pair that differs is
/// the divergence, said with why: either the recording cannot hold what the live gate knew (its start came after the
/// gate's windows began to fill, or the gate keeps state since its rollout started), or, once the replay was exact,
/// the events or the policy differ from what the live gate saw.
/// </summary>
/// <remarks>
/// When a seeded gate becomes exact: its windows have filled with recorded traffic (the recording's start plus the
/// policy's longest rule window) and then one decision lines up exactly (same time too), which resets the step and
/// release clocks on both sides. A gate whose policy keeps state since the rollout started (a rule with
/// <c>confidence</c>, an error budget, a burn-rate window longer than the recording) stays approximate when seeded.
/// </remarks>
internal sealed class ReplayComparison
{
    private readonly List<V1.Decision> _live = [];
    private readonly Dictionary<string, List<GateDecision>> _replayed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, GateSnapshot> _seeded = new(StringComparer.Ordinal);
    private readonly List<string> _problems = [];

    /// <summary>True once the recording carried live decisions or a start: there is something to compare with.</summary>
    public bool HasLive { get; private set; }

    public void AddLive(V1.Decision decision)
    {
        HasLive = true;
        _live.Add(decision);
    }

    public void Started() => HasLive = true;

    public void Seeded(GateSnapshot snapshot) => _seeded[Gate.IdFor(snapshot.Deployment, snapshot.CanaryVersion)] = snapshot;

    public void Problem(string problem) => _problems.Add(problem);

    public void AddReplayed(GateDecision decision)
    {
        if (!_replayed.TryGetValue(decision.Gate, out var list))
        {
            _replayed[decision.Gate] = list = [];
        }

        list.Add(decision);
    }

    /// <summary>
    /// Compares the live decisions taken from <paramref name="startMicros"/> up to <paramref name="lastMicros"/> (the last
    /// recorded event) with the replayed ones of the same span.
    /// </summary>
    public ReplayComparisonSummary Summarize(long startMicros, long lastMicros, PolicySet policies)
    {
        var live = _live
            .Where(d => DecisionMapper.MicrosOf(d.Time) <= lastMicros)
            .GroupBy(d => d.Gate, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(d => d.Sequence).ToList(), StringComparer.Ordinal);
        var gates = live.Keys.Concat(_replayed.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        long liveCount = 0, alike = 0, sameTime = 0;
        ReplayDivergence? first = null;
        var approximate = new List<string>();
        foreach (var gate in gates)
        {
            var liveList = live.GetValueOrDefault(gate) ?? [];
            var replayList = (_replayed.GetValueOrDefault(gate) ?? []).Where(d => d.TimeMicros <= lastMicros).ToList();
            liveCount += liveList.Count;
            var policy = PolicyOf(gate, liveList, replayList, policies);
            var window = EventTime.FromTimeSpan(policy?.LongestWindow ?? Core.Defaults.WindowLength);
            var seeded = _seeded.ContainsKey(gate);
            var memory = seeded ? MemorySinceStart(policy) : null;
            if (memory is not null)
            {
                approximate.Add($"{gate} ({memory})");
            }

            // Exact from: windows full, then a decision that lines up to the microsecond.
            var exact = false;
            for (var i = 0; i < Math.Max(liveList.Count, replayList.Count); i++)
            {
                var l = i < liveList.Count ? liveList[i] : null;
                var r = i < replayList.Count ? replayList[i] : null;
                if (l is not null && r is not null && Alike(l, r))
                {
                    alike++;
                    var lt = DecisionMapper.MicrosOf(l.Time);
                    if (lt == r.TimeMicros)
                    {
                        sameTime++;
                        exact |= memory is null && lt >= startMicros + window;
                    }

                    continue;
                }

                var at = Math.Min(l is null ? long.MaxValue : DecisionMapper.MicrosOf(l.Time), r?.TimeMicros ?? long.MaxValue);
                var divergence = new ReplayDivergence(gate, i + 1, l, r is null ? null : DecisionMapper.ToProto(r), at,
                    exact ? null : startMicros + window, Why(l, r, exact, seeded, memory, startMicros, window, policy, policies));
                if (first is null || at < first.TimeMicros)
                {
                    first = divergence;
                }

                break;
            }
        }

        return new ReplayComparisonSummary(startMicros, liveCount, alike, sameTime,
            [.. _seeded.Values.OrderBy(s => s.Deployment, StringComparer.Ordinal).ThenBy(s => s.CanaryVersion, StringComparer.Ordinal)],
            approximate, first, _problems);
    }

    private static bool Alike(V1.Decision live, GateDecision replayed) =>
        live.Action == WireEnums.ToWire(replayed.Action) && live.Weight == (uint)replayed.Weight && live.Phase == WireEnums.ToWire(replayed.Phase);

    private static PolicyDefinition? PolicyOf(string gate, List<V1.Decision> live, List<GateDecision> replayed, PolicySet policies)
    {
        var name = replayed.FirstOrDefault()?.Policy ?? live.FirstOrDefault()?.Policy;
        return name is null ? null : policies.ByName(name);
    }

    /// <summary>What a seeded gate of this policy knew that no recording holds, or null when it is only its windows.</summary>
    private static string? MemorySinceStart(PolicyDefinition? policy)
    {
        foreach (var rule in policy?.Rules ?? [])
        {
            if (rule.ErrorBudget is not null)
            {
                return $"rule '{rule.Name}' counts the error budget since the rollout started";
            }

            if (rule.Confidence is not null)
            {
                return $"rule '{rule.Name}' runs a change detector over every request since the rollout started";
            }
        }

        return null;
    }

    private static string Why(V1.Decision? live, GateDecision? replayed, bool exact, bool seeded, string? memory, long startMicros, long window,
        PolicyDefinition? policy, PolicySet policies)
    {
        if (live is not null && replayed is not null && live.PolicyRevision != replayed.PolicyRevision)
        {
            return $"the live gate ran policy '{live.Policy}' revision {live.PolicyRevision}, the replay revision {replayed.PolicyRevision}: the policies differ";
        }

        if (live is not null && policies.ByName(live.Policy) is null)
        {
            return $"the live gate ran policy '{live.Policy}', which the replay was not given";
        }

        if (live?.Override is { } by && by.Actor != GateBook.AutoActor)
        {
            return $"the live decision was {by.Actor}'s override ({WireNames.ProtoName(by.Kind)}): a replay takes no overrides";
        }

        var windowText = Durations.Format(EventTime.ToTimeSpan(window));
        var startText = DecisionFormat.TimeOfMicros(startMicros);
        if (!exact && seeded)
        {
            return memory is not null
                ? $"the gate was under way when the recording started ({startText}) and {memory}, which the recording does not hold: its replay is approximate"
                : $"the gate was under way when the recording started ({startText}): its windows held only recorded traffic, and its step and release clocks restarted there; exact once its windows have filled ({windowText}, the policy's longest rule window) and a decision lines up";
        }

        if (!exact)
        {
            return $"the recording started at {startText}: the deployment's windows held only recorded traffic until {DecisionFormat.TimeOfMicros(startMicros + window)} ({windowText}, the policy's longest rule window), so the replay is not exact before a decision lines up after that";
        }

        var at = Math.Min(live is null ? long.MaxValue : DecisionMapper.MicrosOf(live.Time), replayed?.TimeMicros ?? long.MaxValue);
        var ruleWindow = policy is null || policy.Rules.Count == 0 ? window : EventTime.FromTimeSpan(policy.Rules.Max(r => r.Window));
        var rules = DifferingRules(live, replayed);
        return $"the replay was exact up to here, so the recorded events between {DecisionFormat.TimeOfMicros(at - ruleWindow)} and {DecisionFormat.TimeOfMicros(at)} "
            + $"(the rule windows of this decision) differ from what the live gate saw{rules}";
    }

    /// <summary>The rules whose status differs between the two decisions' evidence, or whose live status drove the live decision.</summary>
    private static string DifferingRules(V1.Decision? live, GateDecision? replayed)
    {
        if (live is null || replayed is null)
        {
            var only = live is not null ? "live" : "replayed";
            var reason = live?.Reason ?? replayed?.Reason;
            return $"; only the {only} gate decided here: {reason}";
        }

        var differing = new List<string>();
        foreach (var e in live.Evidence)
        {
            var mine = replayed.Evidence.FirstOrDefault(x => x.Rule == e.Rule);
            if (mine is not null && WireEnums.ToWire(mine.Status) != e.Status)
            {
                differing.Add($"rule '{e.Rule}' was {WireNames.ProtoName(e.Status)} live ({Num(e.HasObserved ? e.Observed : null)} over {e.Samples} samples) and {WireNames.ProtoName(WireEnums.ToWire(mine.Status))} in the replay ({Num(mine.Observed)} over {mine.Samples} samples)");
            }
        }

        return differing.Count == 0 ? "" : "; " + string.Join("; ", differing);
    }

    private static string Num(double? value) => value is { } v ? v.ToString("0.####", System.Globalization.CultureInfo.InvariantCulture) : "no value";
}

/// <summary>The first replayed decision that is not the live one.</summary>
/// <param name="Index">Position among the gate's decisions, from 1.</param>
/// <param name="Live">The live decision there; null when the replay decided and the live gate did not.</param>
/// <param name="Replayed">The replayed decision there; null when the live gate decided and the replay did not.</param>
/// <param name="ExactFromMicros">When the replay of this gate is expected to become exact (null: it already was).</param>
public sealed record ReplayDivergence(string Gate, int Index, V1.Decision? Live, V1.Decision? Replayed, long TimeMicros, long? ExactFromMicros, string Why)
{
    /// <summary>False when the recording explains it (it started late, or the gate keeps state it cannot hold).</summary>
    public bool Unexplained => ExactFromMicros is null;
}

/// <summary>How the replay compares with the live decisions the recording holds.</summary>
/// <param name="Alike">Live decisions the replay took alike (action, weight and phase, in order, per gate).</param>
/// <param name="SameTime">Of those, taken at the same time.</param>
/// <param name="Approximate">Seeded gates whose policy keeps state since the rollout started, with what.</param>
public sealed record ReplayComparisonSummary(
    long StartMicros,
    long LiveDecisions,
    long Alike,
    long SameTime,
    IReadOnlyList<GateSnapshot> Seeded,
    IReadOnlyList<string> Approximate,
    ReplayDivergence? FirstDivergence,
    IReadOnlyList<string> Problems);
