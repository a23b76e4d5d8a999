using GateStream.Core;
using GateStream.Core.Events;
using GateStream.Core.Gates;
using GateStream.Core.Ingest;
using GateStream.Core.Policies;
using GateStream.Core.Time;
using GateStream.Core.Windows;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Replay;

/// <summary>How a replay runs the engine.</summary>
public sealed record ReplayOptions
{
    /// <summary>How often every gate is evaluated, as the daemon's <c>GateStream:Engine:TickInterval</c>. Default 250 ms.</summary>
    public TimeSpan TickInterval { get; init; } = Defaults.TickInterval;

    /// <summary>Series windows and limits, as the daemon's <c>GateStream:Engine</c> settings. Default: the daemon's defaults.</summary>
    public IngestOptions Ingest { get; init; } = new() { ShardCount = 1 };
}

/// <summary>
/// Replays recorded traffic through the daemon's engine (<see cref="InlineEngine"/>: one <see cref="Shard"/> and its
/// <see cref="GateBook"/>) on a virtual clock. For each message the clock moves to the newest event time in it
/// (never back), running every evaluation tick that falls due on the way, then the message's event batches and
/// metric batches are applied, in order. <see cref="Finish"/> runs one more window of ticks with no traffic, so
/// rules that were pending resolve. Deterministic: the same messages and policies give the same decisions.
/// </summary>
/// <remarks>Single-threaded; not safe for concurrent use.</remarks>
public sealed class ReplayEngine
{
    private readonly PolicyCatalog _catalog;
    private readonly ReplayOptions _options;
    private readonly long _tickMicros;
    private readonly EventBatch _events = new();
    private readonly MetricSampleBatch _samples = new();
    private readonly Dictionary<Gate, GateTally> _gates = new(ReferenceEqualityComparer.Instance);
    private readonly long[] _actions = new long[6];
    private readonly SortedDictionary<(string Policy, string Rule), long> _firing = new(Comparer<(string Policy, string Rule)>.Create(
        (x, y) => string.CompareOrdinal(x.Policy, y.Policy) is var byPolicy and not 0 ? byPolicy : string.CompareOrdinal(x.Rule, y.Rule)));
    private InlineEngine? _engine;
    private long _nextTickMicros;
    private long _firstMicros;
    private long _messages;
    private long _eventsRead;
    private long _samplesRead;
    private long _batchesRefused;
    private long _eventsRefused;
    private long _samplesRefused;
    private long _decisions;
    private long _decisionsAfterTraffic;
    private bool _draining;
    private ReplaySummary? _summary;

    public ReplayEngine(PolicySet policies, ReplayOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(policies);
        _catalog = new PolicyCatalog(policies);
        _options = options ?? new ReplayOptions();
        if (_options.TickInterval <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "TickInterval must be positive.");
        }

        _tickMicros = EventTime.FromTimeSpan(_options.TickInterval);
        _events.Source = "replay";
        _samples.Source = "replay";
    }

    /// <summary>Called for every decision as the engine takes it, numbered from 1, in order.</summary>
    public Action<GateDecision>? Decided { get; set; }

    /// <summary>The virtual clock, µs since the Unix epoch; 0 before the first message with a timestamp.</summary>
    public long NowMicros => _engine?.NowMicros ?? 0;

    /// <summary>Messages applied so far.</summary>
    public long Messages => _messages;

    /// <summary>Events read from messages so far.</summary>
    public long Events => _eventsRead;

    /// <summary>Moves the clock to the message's newest event time, then applies its batches.</summary>
    public void Apply(V1.PushRequest message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (_summary is not null)
        {
            throw new InvalidOperationException("The replay has finished.");
        }

        _messages++;
        MoveClock(NewestTime(message));
        if (_engine is null)
        {
            // Nothing in it carries a time (empty batches only): there is no clock to apply it at yet.
            CountOnly(message);
            return;
        }

        foreach (var proto in message.Events)
        {
            _eventsRead += proto.TimeDeltasMicros.Count;
            if (!TryConvert(proto, _events))
            {
                _batchesRefused++;
                _eventsRefused += proto.TimeDeltasMicros.Count;
                continue;
            }

            _engine.Apply(_events);
        }

        foreach (var proto in message.Metrics)
        {
            _samplesRead += proto.Samples.Count;
            if (proto.Deployment.Length == 0 || proto.Version.Length == 0)
            {
                _batchesRefused++;
                _samplesRefused += proto.Samples.Count;
                continue;
            }

            _samples.Clear();
            _samples.Source = "replay";
            _samples.Key.Set(proto.Deployment, proto.Version);
            foreach (var sample in proto.Samples)
            {
                // As IngestService.Push: a bad sample is refused alone.
                if (sample.Name.Length == 0 || !double.IsFinite(sample.Value) || sample.Kind is V1.MetricKind.Unspecified || !Enum.IsDefined(sample.Kind))
                {
                    _samplesRefused++;
                    continue;
                }

                _samples.Add(sample.Name, sample.TimeUnixMicros, sample.Value, (MetricKind)(int)sample.Kind);
            }

            _engine.Apply(_samples);
        }
    }

    /// <summary>
    /// Applies one message already decoded into Core batches (a Kafka message, by the daemon's Kafka decoders): the clock
    /// moves to the newest event or sample time in them, then the event batches and the metric batches are applied, in
    /// order, as the daemon's Kafka ingest posts them. The batches are only read.
    /// </summary>
    public void Apply(IReadOnlyList<EventBatch> events, IReadOnlyList<MetricSampleBatch> metrics)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(metrics);
        if (_summary is not null)
        {
            throw new InvalidOperationException("The replay has finished.");
        }

        _messages++;
        MoveClock(NewestTime(events, metrics));
        foreach (var batch in events)
        {
            _eventsRead += batch.Count;
            _engine?.Apply(batch);
        }

        foreach (var batch in metrics)
        {
            _samplesRead += batch.Count;
            _engine?.Apply(batch);
        }
    }

    /// <summary>Counts a message that could not be decoded at all (a Kafka message): one batch refused, nothing applied.</summary>
    public void Refuse()
    {
        if (_summary is not null)
        {
            throw new InvalidOperationException("The replay has finished.");
        }

        _messages++;
        _batchesRefused++;
    }

    /// <summary>Runs one more window (the series window length) of ticks with no traffic, and sums up.</summary>
    public ReplaySummary Finish()
    {
        if (_summary is not null)
        {
            return _summary;
        }

        var lastMicros = _engine?.NowMicros ?? 0;
        if (_engine is not null)
        {
            // Insufficient evidence is counted over the recorded traffic only: every gate lacks it once traffic stops.
            _draining = true;
            AdvanceTo(lastMicros + EventTime.FromTimeSpan(_options.Ingest.Window.Length));
        }

        _summary = Summarize(lastMicros);
        return _summary;
    }

    /// <summary>Replays every message of an events file (see <see cref="EventsFile"/>) and finishes.</summary>
    public static ReplaySummary Run(Stream events, PolicySet policies, ReplayOptions? options = null, Action<GateDecision>? decided = null)
    {
        var engine = new ReplayEngine(policies, options) { Decided = decided };
        foreach (var message in EventsFile.Read(events))
        {
            engine.Apply(message);
        }

        return engine.Finish();
    }

    /// <summary>The newest event or sample time in the batches (µs), or null when they hold none.</summary>
    internal static long? NewestTime(IReadOnlyList<EventBatch> events, IReadOnlyList<MetricSampleBatch> metrics)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(metrics);
        long? newest = null;
        foreach (var batch in events)
        {
            foreach (var time in batch.TimesMicros)
            {
                if (newest is null || time > newest)
                {
                    newest = time;
                }
            }
        }

        foreach (var batch in metrics)
        {
            for (var i = 0; i < batch.Count; i++)
            {
                if (newest is null || batch.TimeAt(i) > newest)
                {
                    newest = batch.TimeAt(i);
                }
            }
        }

        return newest;
    }

    /// <summary>Starts the clock at the first time seen, then moves it forward (never back).</summary>
    private void MoveClock(long? newest)
    {
        if (newest is not { } micros)
        {
            return;
        }

        if (_engine is null)
        {
            Begin(micros);
        }
        else if (micros > _engine.NowMicros)
        {
            AdvanceTo(micros);
        }
    }

    private void Begin(long startMicros)
    {
        var sink = new Sink(this);
        _engine = new InlineEngine(startMicros, _catalog, sink, _options.Ingest, new GateEngineOptions { TickInterval = _options.TickInterval });
        _firstMicros = startMicros;
        _nextTickMicros = startMicros + _tickMicros;
    }

    /// <summary>Tick by tick, so each gate's evidence can be read right after its evaluation.</summary>
    private void AdvanceTo(long micros)
    {
        var engine = _engine!;
        while (_nextTickMicros <= micros)
        {
            engine.AdvanceTo(_nextTickMicros);
            AfterTick(_nextTickMicros);
            _nextTickMicros += _tickMicros;
        }

        engine.AdvanceTo(micros);
    }

    private void AfterTick(long now)
    {
        foreach (var gate in _engine!.Gates.Gates)
        {
            var tally = Tally(gate);
            if (_draining || (gate.IsFinished && gate.LastDecision?.TimeMicros != now))
            {
                continue;
            }

            foreach (var evidence in gate.CurrentEvidence(now))
            {
                if (evidence.Status == RuleStatus.InsufficientEvidence)
                {
                    tally.InsufficientMicros += _tickMicros;
                    break;
                }
            }
        }
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

    private void OnDecision(GateDecision decision)
    {
        _decisions++;
        _actions[(int)decision.Action]++;
        if (_draining)
        {
            _decisionsAfterTraffic++;
        }

        if (_engine!.Gates.Find(decision.Gate) is { } gate)
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

        Decided?.Invoke(decision);
    }

    private ReplaySummary Summarize(long lastMicros)
    {
        var counters = _engine?.Shard.Counters;
        long Count(IngestCounter counter) => counters?[counter] ?? 0;
        var gates = _gates.Values
            .OrderBy(g => g.StartedMicros)
            .ThenBy(g => g.Id, StringComparer.Ordinal)
            .Select(g => new ReplayGateSummary(
                g.Id, g.Deployment, g.BaselineVersion, g.CanaryVersion, g.Policy, g.StartedMicros, g.Decisions, g.Phase, g.Weight,
                g.FirstStop?.Action, g.FirstStop is { } stop ? EventTime.ToTimeSpan(stop.AfterMicros) : null,
                EventTime.ToTimeSpan(g.InsufficientMicros)))
            .ToArray();
        var actions = Enum.GetValues<DecisionAction>().Select(a => new KeyValuePair<DecisionAction, long>(a, _actions[(int)a])).ToArray();
        var rules = _firing.Select(r => new ReplayRuleSummary(r.Key.Policy, r.Key.Rule, r.Value)).ToArray();
        var policies = _catalog.Current.Policies.Select(p => new ReplayPolicy(p.Name, p.Revision)).ToArray();
        return new ReplaySummary
        {
            Messages = _messages,
            Events = _eventsRead,
            Samples = _samplesRead,
            EventsAccepted = Count(IngestCounter.EventsAccepted),
            EventsDropped = _eventsRefused + Count(IngestCounter.EventsDroppedLate) + Count(IngestCounter.EventsRefusedFuture)
                + Count(IngestCounter.EventsRefusedInvalid) + Count(IngestCounter.EventsRefusedKey) + Count(IngestCounter.EventsRefusedSeriesCap),
            SamplesAccepted = Count(IngestCounter.SamplesAccepted),
            SamplesDropped = _samplesRefused + Count(IngestCounter.SamplesDroppedLate) + Count(IngestCounter.SamplesRefusedInvalid)
                + Count(IngestCounter.SamplesRefusedFuture) + Count(IngestCounter.SamplesRefusedKey) + Count(IngestCounter.SamplesRefusedSeriesCap)
                + Count(IngestCounter.SamplesRefusedSignalCap),
            BatchesRefused = _batchesRefused,
            FirstMicros = _firstMicros,
            LastMicros = lastMicros,
            TickInterval = _options.TickInterval,
            FinalWindow = _options.Ingest.Window.Length,
            Decisions = _decisions,
            DecisionsAfterTraffic = _decisionsAfterTraffic,
            DecisionsByAction = actions,
            Gates = gates,
            FiringRules = rules,
            Policies = policies,
        };
    }

    private void CountOnly(V1.PushRequest message)
    {
        foreach (var proto in message.Events)
        {
            _eventsRead += proto.TimeDeltasMicros.Count;
        }

        foreach (var proto in message.Metrics)
        {
            _samplesRead += proto.Samples.Count;
        }
    }

    /// <summary>The newest event or sample time in the message (µs), or null when it holds none.</summary>
    internal static long? NewestTime(V1.PushRequest message)
    {
        long? newest = null;
        foreach (var batch in message.Events)
        {
            var deltas = batch.TimeDeltasMicros;
            var time = batch.BaseTimeUnixMicros;
            for (var i = 0; i < deltas.Count; i++)
            {
                time += deltas[i];
                if (newest is null || time > newest)
                {
                    newest = time;
                }
            }
        }

        foreach (var batch in message.Metrics)
        {
            foreach (var sample in batch.Samples)
            {
                if (newest is null || sample.TimeUnixMicros > newest)
                {
                    newest = sample.TimeUnixMicros;
                }
            }
        }

        return newest;
    }

    /// <summary>The daemon's validation and expansion of a wire batch (IngestService.Push): refused whole when malformed.</summary>
    private static bool TryConvert(V1.EventBatch proto, EventBatch batch)
    {
        var n = proto.TimeDeltasMicros.Count;
        var statusCount = proto.StatusCodes.Count;
        var errorCount = proto.Errors.Count;
        if (proto.Deployment.Length == 0 || proto.Version.Length == 0 || proto.LatencyMicros.Count != n
            || (statusCount != 0 && statusCount != n) || (errorCount != 0 && errorCount != n))
        {
            return false;
        }

        batch.Key.Set(proto.Deployment, proto.Version);
        batch.Resize(n);
        var times = batch.WritableTimes;
        var latencies = batch.WritableLatencies;
        var errors = batch.WritableErrors;
        var deltas = proto.TimeDeltasMicros;
        var protoLatencies = proto.LatencyMicros;
        var time = proto.BaseTimeUnixMicros;
        for (var i = 0; i < n; i++)
        {
            time += deltas[i];
            times[i] = time;
            latencies[i] = protoLatencies[i];
        }

        if (errorCount != 0)
        {
            var protoErrors = proto.Errors;
            for (var i = 0; i < n; i++)
            {
                errors[i] = protoErrors[i];
            }
        }
        else if (statusCount != 0)
        {
            var codes = proto.StatusCodes;
            for (var i = 0; i < n; i++)
            {
                errors[i] = codes[i] >= 500;
            }
        }
        else
        {
            errors.Clear();
        }

        return true;
    }

    private sealed class Sink(ReplayEngine owner) : IDecisionSink
    {
        private ulong _sequence;

        public GateDecision Publish(GateDecision decision)
        {
            var numbered = decision with { Sequence = ++_sequence };
            owner.OnDecision(numbered);
            return numbered;
        }
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
