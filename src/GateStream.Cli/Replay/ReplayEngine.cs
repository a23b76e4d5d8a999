using GateStream.Core;
using GateStream.Core.Events;
using GateStream.Core.Gates;
using GateStream.Core.Ingest;
using GateStream.Core.Policies;
using GateStream.Core.Time;
using GateStream.Wire;
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
    private const string Source = "replay";
    private readonly PolicyCatalog _catalog;
    private readonly ReplayOptions _options;
    private readonly long _tickMicros;
    private readonly EventBatch _events = new() { Source = Source };
    private readonly MetricSampleBatch _samples = new() { Source = Source };
    private readonly ReplayTally _tally = new();
    private readonly ReplayComparison _comparison = new();
    private V1.RecordingStart? _start;
    private InlineEngine? _engine;
    private long _nextTickMicros;
    private long _firstMicros;
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
    }

    /// <summary>Called for every decision as the engine takes it, numbered from 1, in order.</summary>
    public Action<GateDecision>? Decided { get; set; }

    /// <summary>The virtual clock, µs since the Unix epoch; 0 before the first message with a timestamp.</summary>
    public long NowMicros => _engine?.NowMicros ?? 0;

    /// <summary>Messages applied so far.</summary>
    public long Messages => _tally.Messages;

    /// <summary>Events read from messages so far.</summary>
    public long Events => _tally.EventsRead;

    /// <summary>Moves the clock to the message's newest event time, then applies its batches, validated as the daemon's Push does.</summary>
    public void Apply(V1.PushRequest message)
    {
        ArgumentNullException.ThrowIfNull(message);
        ApplyBatches(message.Events, message.Metrics);
    }

    /// <summary>
    /// Applies one entry of an events file: the gates at the recording's start (before any batch: the replay starts its
    /// clock there and continues those gates), a live decision (kept to compare with), or batches (as a PushRequest).
    /// </summary>
    public void Apply(V1.RecordingEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Start is { } start)
        {
            Seed(start);
        }

        if (entry.LiveDecision is { } live)
        {
            ThrowIfFinished();
            _comparison.AddLive(live);
        }

        if (entry.Events.Count > 0 || entry.Metrics.Count > 0)
        {
            ApplyBatches(entry.Events, entry.Metrics);
        }
    }

    /// <summary>
    /// Continues the gates that were under way when the recording started, restored as the daemon restores them from
    /// its decision log after a restart (phase, weight, start; windows empty), at the recording's start time.
    /// </summary>
    public void Seed(V1.RecordingStart start)
    {
        ArgumentNullException.ThrowIfNull(start);
        ThrowIfFinished();
        _comparison.Started();
        if (_engine is not null || _start is not null)
        {
            _comparison.Problem("the recording's start came after its first batch (or twice): its gates were not seeded");
            return;
        }

        _start = start;
        if (start.Time is not null)
        {
            Begin(DecisionMapper.MicrosOf(start.Time));
        }
    }

    private void ApplyBatches(Google.Protobuf.Collections.RepeatedField<V1.EventBatch> events, Google.Protobuf.Collections.RepeatedField<V1.MetricBatch> metrics)
    {
        ThrowIfFinished();
        _tally.Messages++;
        MoveClock(BatchMapper.NewestTime(events, metrics));
        foreach (var proto in events)
        {
            _tally.EventsRead += proto.TimeDeltasMicros.Count;
            if (_engine is null)
            {
                continue; // Nothing in the message carries a time (empty batches only): there is no clock to apply it at yet.
            }

            var result = BatchMapper.ToEngine(proto, _events);
            if (result.RefusedWhole)
            {
                _tally.BatchesRefused++;
                _tally.EventsRefused += result.Rejected;
                continue;
            }

            _engine.Apply(_events);
        }

        foreach (var proto in metrics)
        {
            _tally.SamplesRead += proto.Samples.Count;
            if (_engine is null)
            {
                continue;
            }

            var result = BatchMapper.ToEngine(proto, _samples);
            _tally.SamplesRefused += result.Rejected;
            if (result.RefusedWhole)
            {
                _tally.BatchesRefused++;
                continue;
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
        ThrowIfFinished();
        _tally.Messages++;
        MoveClock(NewestTime(events, metrics));
        foreach (var batch in events)
        {
            _tally.EventsRead += batch.Count;
            _engine?.Apply(batch);
        }

        foreach (var batch in metrics)
        {
            _tally.SamplesRead += batch.Count;
            _engine?.Apply(batch);
        }
    }

    /// <summary>Counts a message that could not be decoded at all (a Kafka message): one batch refused, nothing applied.</summary>
    public void Refuse()
    {
        ThrowIfFinished();
        _tally.Messages++;
        _tally.BatchesRefused++;
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

        _summary = _tally.Summarize(_engine?.Shard.Counters, _catalog.Current, _options, _firstMicros, lastMicros)
            with { Comparison = _comparison.HasLive ? _comparison.Summarize(_firstMicros, lastMicros, _catalog.Current) : null };
        return _summary;
    }

    /// <summary>Replays every entry of an events file (see <see cref="EventsFile"/>) and finishes.</summary>
    public static ReplaySummary Run(Stream events, PolicySet policies, ReplayOptions? options = null, Action<GateDecision>? decided = null)
    {
        var engine = new ReplayEngine(policies, options) { Decided = decided };
        foreach (var message in EventsFile.ReadEntries(events))
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

    private void ThrowIfFinished()
    {
        if (_summary is not null)
        {
            throw new InvalidOperationException("The replay has finished.");
        }
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
        _engine = new InlineEngine(startMicros, _catalog, new Sink(this), _options.Ingest, new GateEngineOptions { TickInterval = _options.TickInterval });
        _firstMicros = startMicros;
        _nextTickMicros = startMicros + _tickMicros;
        foreach (var recorded in _start?.Gates ?? [])
        {
            if (!RecordingMapper.TryToSnapshot(recorded, out var snapshot, out var problem))
            {
                _comparison.Problem(problem);
                continue;
            }

            var (gate, message) = _engine.Gates.Restore(snapshot, startMicros);
            if (gate is null)
            {
                _comparison.Problem(message);
            }
            else
            {
                _comparison.Seeded(snapshot);
            }
        }
    }

    /// <summary>The live side of a test: the gates, to write what a recording starting now would hold.</summary>
    internal GateBook? Gates => _engine?.Gates;

    /// <summary>Moves the clock on without traffic (a live run's pause, in tests), running the ticks due.</summary>
    internal void AdvanceClockTo(long micros) => MoveClock(micros);

    /// <summary>Tick by tick, so each gate's evidence can be read right after its evaluation.</summary>
    private void AdvanceTo(long micros)
    {
        var engine = _engine!;
        while (_nextTickMicros <= micros)
        {
            engine.AdvanceTo(_nextTickMicros);
            _tally.AfterTick(engine.Gates.Gates, _nextTickMicros, _tickMicros, _draining);
            _nextTickMicros += _tickMicros;
        }

        engine.AdvanceTo(micros);
    }

    private void OnDecision(GateDecision decision)
    {
        if (!_draining)
        {
            _comparison.AddReplayed(decision);
        }

        _tally.OnDecision(decision, _engine!.Gates.Find(decision.Gate), _draining);
        Decided?.Invoke(decision);
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
}
