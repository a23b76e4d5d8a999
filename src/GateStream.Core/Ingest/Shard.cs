using System.Text.Unicode;
using GateStream.Core.Events;
using GateStream.Core.Windows;

namespace GateStream.Core.Ingest;

/// <summary>
/// The single-writer owner of a set of deployments' series: applies decoded batches to their windows
/// and answers reads about them. One thread at a time, always the same logical owner (a shard loop
/// in the daemon, the replay loop in replay): no locks, no interlocked operations per event.
/// </summary>
/// <remarks>
/// Why shard-per-core rather than shared structures with striped counters or HdrHistogram Recorders:
/// a gate compares a canary with its baseline, so evaluation wants both series' windows consistent
/// with each other and current. Routing by deployment puts every version of a deployment on one shard,
/// so the shard that writes the windows can also evaluate the gate on them without any reader/writer
/// protocol; a Recorder per bucket would double histogram memory and make every read a phase flip.
/// The cost is a hand-off per batch (not per event) from the decoding thread to the shard.
/// </remarks>
public sealed partial class Shard
{
    private readonly IngestOptions _options;
    private readonly SeriesBudget _budget;
    private readonly IRefusalSink? _refusals;
    private readonly Dictionary<SeriesKey, Series> _series = new(SeriesKeyComparer.Instance);
    private readonly Dictionary<SeriesKey, Series>.AlternateLookup<SeriesKeySpan> _lookup;
    private readonly long _maxLatency;
    private readonly long _maxFutureSkew;
    private long _created;

    public Shard(int index, IngestOptions options, SeriesBudget budget, IRefusalSink? refusals = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.EnsureValid();
        Index = index;
        _options = options;
        _budget = budget ?? throw new ArgumentNullException(nameof(budget));
        _refusals = refusals;
        _lookup = _series.GetAlternateLookup<SeriesKeySpan>();
        _maxLatency = options.MaxLatencyMicros;
        _maxFutureSkew = options.Window.MaxFutureSkewMicros;
    }

    public int Index { get; }

    /// <summary>Called on the shard thread when a series is created (the gate book starts gates from it).</summary>
    public Action<Series, long>? SeriesCreated { get; set; }

    public IngestCounters Counters { get; } = new();

    public int SeriesCount => _series.Count;

    public IEnumerable<Series> AllSeries => _series.Values;

    /// <summary>
    /// Applies one batch: finds (or creates, under the cap) its series and records every event.
    /// Never throws for bad input; every refused event is counted. Returns the number of events recorded.
    /// </summary>
    /// <param name="batch">The batch; the caller keeps ownership.</param>
    /// <param name="nowMicros">The clock's now, read once per batch: the reference for the future-skew check.</param>
    public int Apply(EventBatch batch, long nowMicros)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var series = Resolve(batch.Key, batch.Count, batch.Source, nowMicros, IngestCounter.EventsRefusedKey);
        if (series is null)
        {
            return 0;
        }

        var window = series.Requests;
        var times = batch.TimesMicros;
        var latencies = batch.LatenciesMicros;
        var errors = batch.Errors;
        var maxTime = nowMicros + _maxFutureSkew;
        var maxLatency = (ulong)_maxLatency;
        int accepted = 0, clamped = 0, late = 0, future = 0, invalid = 0;
        for (var i = 0; i < times.Length; i++)
        {
            var time = times[i];
            var latency = latencies[i];
            // One unsigned compare each refuses negatives and absurd values.
            if ((ulong)latency > maxLatency || time < 0)
            {
                invalid++;
                continue;
            }

            if (time > maxTime)
            {
                future++;
                continue;
            }

            switch (window.Record(time, latency, errors[i]))
            {
                case RecordOutcome.Recorded:
                    accepted++;
                    break;
                case RecordOutcome.RecordedClamped:
                    accepted++;
                    clamped++;
                    break;
                default:
                    late++;
                    break;
            }
        }

        if (window.NowMicros > series.LastActivityMicros)
        {
            series.LastActivityMicros = window.NowMicros;
        }

        var counters = Counters;
        counters.Increment(IngestCounter.BatchesApplied);
        counters.Add(IngestCounter.EventsAccepted, accepted);
        counters.Add(IngestCounter.EventsClamped, clamped);
        counters.Add(IngestCounter.EventsDroppedLate, late);
        counters.Add(IngestCounter.EventsRefusedFuture, future);
        counters.Add(IngestCounter.EventsRefusedInvalid, invalid);
        return accepted;
    }

    /// <summary>Applies metric samples to the named signal windows of the batch's series.</summary>
    public int Apply(MetricSampleBatch batch, long nowMicros)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var series = Resolve(batch.Key, batch.Count, batch.Source, nowMicros, IngestCounter.SamplesRefusedKey);
        if (series is null)
        {
            return 0;
        }

        var maxTime = nowMicros + _maxFutureSkew;
        int accepted = 0, late = 0, invalid = 0, future = 0, capped = 0;
        for (var i = 0; i < batch.Count; i++)
        {
            var name = batch.NameAt(i);
            var value = batch.ValueAt(i);
            var time = batch.TimeAt(i);
            var kind = batch.KindAt(i);
            if (!double.IsFinite(value) || time < 0 || kind is < MetricKind.Gauge or > MetricKind.SumCumulative
                || name.IsEmpty || name.Length > _options.MaxSignalNameBytes || !Utf8.IsValid(name))
            {
                invalid++;
                continue;
            }

            if (time > maxTime)
            {
                future++;
                continue;
            }

            var signal = series.SignalForWrite(name, kind);
            if (signal is null)
            {
                capped++;
                _refusals?.OnRefused(RefusalReason.SignalCapReached, batch.Source, batch.Key.Deployment, batch.Key.Version, 1);
                continue;
            }

            if (signal.Record(time, value) == RecordOutcome.Recorded)
            {
                accepted++;
                if (time > series.LastActivityMicros)
                {
                    series.LastActivityMicros = time;
                }
            }
            else
            {
                late++;
            }
        }

        Counters.Add(IngestCounter.SamplesAccepted, accepted);
        Counters.Add(IngestCounter.SamplesDroppedLate, late);
        Counters.Add(IngestCounter.SamplesRefusedInvalid, invalid);
        Counters.Add(IngestCounter.SamplesRefusedFuture, future);
        Counters.Add(IngestCounter.SamplesRefusedSignalCap, capped);
        return accepted;
    }

    /// <summary>The series of (deployment, version), or null when this shard has none.</summary>
    public Series? Find(string deployment, string version)
    {
        var key = new SeriesKeyBuffer();
        key.Set(deployment, version);
        return Find(key);
    }

    /// <summary>Allocation-free lookup for callers that keep a key buffer.</summary>
    public Series? Find(SeriesKeyBuffer key)
    {
        ArgumentNullException.ThrowIfNull(key);
        return _lookup.TryGetValue(new SeriesKeySpan(key.Deployment, key.Version), out var series) ? series : null;
    }

    /// <summary>Moves every series' windows to the clock's now (expiry without traffic).</summary>
    public void AdvanceTo(long nowMicros)
    {
        foreach (var series in _series.Values)
        {
            series.AdvanceTo(nowMicros);
        }
    }

    /// <summary>Evicts series idle longer than the idle timeout and not pinned. Returns how many.</summary>
    public int EvictIdle(long nowMicros)
    {
        var idleMicros = Time.EventTime.FromTimeSpan(_options.SeriesIdleTimeout);
        List<SeriesKey>? evict = null;
        foreach (var (key, series) in _series)
        {
            if (series.Pins == 0 && nowMicros - series.LastActivityMicros > idleMicros)
            {
                (evict ??= []).Add(key);
            }
        }

        if (evict is null)
        {
            return 0;
        }

        foreach (var key in evict)
        {
            if (_series.Remove(key, out var evicted))
            {
                evicted.IsLive = false;
            }

            _budget.Release(key);
        }

        Counters.Add(IngestCounter.SeriesEvicted, evict.Count);
        return evict.Count;
    }

    private Series? Resolve(SeriesKeyBuffer keyBuffer, int items, string source, long nowMicros, IngestCounter refusedKey)
    {
        var key = new SeriesKeySpan(keyBuffer.Deployment, keyBuffer.Version);
        if (_lookup.TryGetValue(key, out var series))
        {
            return series;
        }

        // Validation runs only on a miss: a key that is already a series was valid when it was created.
        var problem = ValidateKey(key, _options.MaxKeyBytes);
        if (problem is { } reason)
        {
            Counters.Increment(IngestCounter.BatchesRefusedKey);
            Counters.Add(refusedKey, items);
            _refusals?.OnRefused(reason, source, key.Deployment, key.Version, items);
            return null;
        }

        if (_budget.TryAdmit(key, source, out var seriesKey) is { } refusal)
        {
            var (batches, events) = RefusalCounters(refusal, samples: refusedKey == IngestCounter.SamplesRefusedKey);
            Counters.Increment(batches);
            Counters.Add(events, items);
            _refusals?.OnRefused(refusal, source, key.Deployment, key.Version, items);
            return null;
        }

        series = new Series(seriesKey!, _options.Window, _options.MaxSignalsPerSeries, nowMicros) { CreationOrder = ++_created };
        _series.Add(seriesKey!, series);
        Counters.Increment(IngestCounter.SeriesCreated);
        SeriesCreated?.Invoke(series, nowMicros);
        return series;
    }

    /// <summary>The counters a refusal by the cap or a budget goes to: batches, and events (or samples).</summary>
    internal static (IngestCounter Batches, IngestCounter Items) RefusalCounters(RefusalReason reason, bool samples) =>
        reason == RefusalReason.SeriesCapReached
            ? (IngestCounter.BatchesRefusedSeriesCap, samples ? IngestCounter.SamplesRefusedSeriesCap : IngestCounter.EventsRefusedSeriesCap)
            : (IngestCounter.BatchesRefusedSeriesBudget, samples ? IngestCounter.SamplesRefusedSeriesBudget : IngestCounter.EventsRefusedSeriesBudget);

    /// <summary>Why a series key cannot be a series (empty, too long, not UTF-8, control characters), or null.</summary>
    internal static RefusalReason? ValidateKey(SeriesKeySpan key, int maxKeyBytes)
    {
        if (key.Deployment.IsEmpty || key.Version.IsEmpty)
        {
            return RefusalReason.EmptyKey;
        }

        if (key.Deployment.Length > maxKeyBytes || key.Version.Length > maxKeyBytes)
        {
            return RefusalReason.KeyTooLong;
        }

        if (!Utf8.IsValid(key.Deployment) || !Utf8.IsValid(key.Version)
            || key.Deployment.IndexOfAnyInRange((byte)0, (byte)31) >= 0 || key.Version.IndexOfAnyInRange((byte)0, (byte)31) >= 0)
        {
            return RefusalReason.InvalidKey;
        }

        return null;
    }
}
