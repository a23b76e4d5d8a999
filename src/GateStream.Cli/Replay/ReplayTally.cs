using GateStream.Core.Gates;
using GateStream.Core.Ingest;
using GateStream.Core.Policies;
using GateStream.Core.Time;

namespace GateStream.Cli.Replay;

/// <summary>
/// What a replay counts as it goes: the input read and refused, every decision by action, gate and firing rule, and
/// how long each gate lacked evidence; summed up into a <see cref="ReplaySummary"/> at the end.
/// </summary>
/// <remarks>Single-threaded, as its <see cref="ReplayEngine"/>.</remarks>
internal sealed class ReplayTally
{
    private readonly Dictionary<Gate, GateTally> _gates = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<DecisionAction, long> _actions = [];
    private readonly SortedDictionary<(string Policy, string Rule), long> _firing = new(Comparer<(string Policy, string Rule)>.Create(
        (x, y) => string.CompareOrdinal(x.Policy, y.Policy) is var byPolicy and not 0 ? byPolicy : string.CompareOrdinal(x.Rule, y.Rule)));

    public long Messages { get; set; }

    public long EventsRead { get; set; }

    public long SamplesRead { get; set; }

    public long BatchesRefused { get; set; }

    public long EventsRefused { get; set; }

    public long SamplesRefused { get; set; }

    public long Decisions { get; private set; }

    public long DecisionsAfterTraffic { get; private set; }

    /// <summary>After every tick: a gate still deciding whose evidence is insufficient for some rule lacked it for the tick.</summary>
    public void AfterTick(IEnumerable<Gate> gates, long now, long tickMicros, bool draining)
    {
        foreach (var gate in gates)
        {
            var tally = Tally(gate);
            if (draining || (gate.IsFinished && gate.LastDecision?.TimeMicros != now))
            {
                continue;
            }

            foreach (var evidence in gate.CurrentEvidence(now))
            {
                if (evidence.Status == RuleStatus.InsufficientEvidence)
                {
                    tally.InsufficientMicros += tickMicros;
                    break;
                }
            }
        }
    }

    /// <summary>Counts a decision (numbered), for its gate when the engine still knows it.</summary>
    public void OnDecision(GateDecision decision, Gate? gate, bool draining)
    {
        Decisions++;
        _actions[decision.Action] = _actions.GetValueOrDefault(decision.Action) + 1;
        if (draining)
        {
            DecisionsAfterTraffic++;
        }

        if (gate is not null)
        {
            var tally = Tally(gate);
            tally.Decisions++;
            tally.Phase = decision.Phase;
            tally.Weight = decision.Weight;
            if (tally.FirstStop is null && decision.Action is DecisionAction.Hold or DecisionAction.Pause or DecisionAction.Rollback)
            {
                tally.FirstStop = (decision.Action, decision.TimeMicros - tally.StartedMicros);
            }
        }

        foreach (var evidence in decision.Evidence)
        {
            if (evidence.Status == RuleStatus.Firing)
            {
                var key = (decision.Policy, evidence.Rule);
                _firing[key] = _firing.GetValueOrDefault(key) + 1;
            }
        }
    }

    /// <param name="counters">The engine's shard counters; null when no message carried a time (nothing ran).</param>
    public ReplaySummary Summarize(IngestCounters? counters, PolicySet policies, ReplayOptions options, long firstMicros, long lastMicros)
    {
        long Count(IngestCounter counter) => counters?[counter] ?? 0;
        var gates = _gates.Values
            .OrderBy(g => g.StartedMicros)
            .ThenBy(g => g.Id, StringComparer.Ordinal)
            .Select(g => new ReplayGateSummary(
                g.Id, g.Deployment, g.BaselineVersion, g.CanaryVersion, g.Policy, g.StartedMicros, g.Decisions, g.Phase, g.Weight,
                g.FirstStop?.Action, g.FirstStop is { } stop ? EventTime.ToTimeSpan(stop.AfterMicros) : null,
                EventTime.ToTimeSpan(g.InsufficientMicros)))
            .ToArray();
        var actions = Enum.GetValues<DecisionAction>().Select(a => new KeyValuePair<DecisionAction, long>(a, _actions.GetValueOrDefault(a))).ToArray();
        var rules = _firing.Select(r => new ReplayRuleSummary(r.Key.Policy, r.Key.Rule, r.Value)).ToArray();
        return new ReplaySummary
        {
            Messages = Messages,
            Events = EventsRead,
            Samples = SamplesRead,
            EventsAccepted = Count(IngestCounter.EventsAccepted),
            EventsDropped = EventsRefused + Count(IngestCounter.EventsDroppedLate) + Count(IngestCounter.EventsRefusedFuture)
                + Count(IngestCounter.EventsRefusedInvalid) + Count(IngestCounter.EventsRefusedKey) + Count(IngestCounter.EventsRefusedSeriesCap),
            SamplesAccepted = Count(IngestCounter.SamplesAccepted),
            SamplesDropped = SamplesRefused + Count(IngestCounter.SamplesDroppedLate) + Count(IngestCounter.SamplesRefusedInvalid)
                + Count(IngestCounter.SamplesRefusedFuture) + Count(IngestCounter.SamplesRefusedKey) + Count(IngestCounter.SamplesRefusedSeriesCap)
                + Count(IngestCounter.SamplesRefusedSignalCap),
            BatchesRefused = BatchesRefused,
            FirstMicros = firstMicros,
            LastMicros = lastMicros,
            TickInterval = options.TickInterval,
            FinalWindow = options.Ingest.Window.Length,
            Decisions = Decisions,
            DecisionsAfterTraffic = DecisionsAfterTraffic,
            DecisionsByAction = actions,
            Gates = gates,
            FiringRules = rules,
            Policies = policies.Policies.Select(p => new ReplayPolicy(p.Name, p.Revision)).ToArray(),
        };
    }

    private GateTally Tally(Gate gate)
    {
        if (!_gates.TryGetValue(gate, out var tally))
        {
            tally = new GateTally(gate.Id, gate.Deployment, gate.BaselineVersion, gate.CanaryVersion, gate.Policy.Name, gate.StartedMicros)
            {
                Phase = gate.Phase,
                Weight = gate.Weight,
            };
            _gates.Add(gate, tally);
        }

        return tally;
    }

    private sealed class GateTally(string id, string deployment, string baseline, string canary, string policy, long startedMicros)
    {
        public string Id { get; } = id;

        public string Deployment { get; } = deployment;

        public string BaselineVersion { get; } = baseline;

        public string CanaryVersion { get; } = canary;

        public string Policy { get; } = policy;

        public long StartedMicros { get; } = startedMicros;

        public long Decisions { get; set; }

        public GatePhase Phase { get; set; }

        public int Weight { get; set; }

        public (DecisionAction Action, long AfterMicros)? FirstStop { get; set; }

        public long InsufficientMicros { get; set; }
    }
}
