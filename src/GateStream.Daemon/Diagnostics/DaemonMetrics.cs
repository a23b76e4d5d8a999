using GateStream.Core.Gates;
using GateStream.Core.Ingest;
using Prometheus;

namespace GateStream.Daemon.Diagnostics;

/// <summary>
/// The daemon's own metrics, exposed at <c>/metrics</c> in the Prometheus text format (prometheus-net).
/// Core counters (per shard, single writer) are copied in just before each scrape.
/// </summary>
internal sealed class DaemonMetrics
{
    private readonly CollectorRegistry _registry;
    private readonly Counter _eventsBySource;
    private readonly Counter _decodeErrors;
    private readonly Counter _ingestCounters;
    private readonly Gauge _series;
    private readonly Gauge _gates;
    private readonly Histogram _tick;
    private readonly Histogram _tickInterval;
    private readonly Counter _decisions;
    private readonly Gauge _subscribers;
    private readonly Counter _subscribersDropped;
    private readonly Histogram _publish;
    private readonly Counter _policyReloads;
    private readonly Gauge _gcHeap;

    public DaemonMetrics(CollectorRegistry? registry = null)
    {
        _registry = registry ?? Metrics.NewCustomRegistry();
        var factory = Metrics.WithCustomRegistry(_registry);
        _eventsBySource = factory.CreateCounter("gatestream_events_received_total", "Request events received, by source (before validation).", "source");
        _decodeErrors = factory.CreateCounter("gatestream_decode_errors_total", "Messages or frames that could not be decoded, by source.", "source");
        _ingestCounters = factory.CreateCounter("gatestream_ingest_total", "Write-path outcomes (accepted, dropped late, refused ...), from the shards.", "outcome");
        _series = factory.CreateGauge("gatestream_series", "Live series (deployment, version).");
        _gates = factory.CreateGauge("gatestream_gates", "Gates by phase.", "phase");
        _tick = factory.CreateHistogram("gatestream_evaluation_tick_seconds", "Time to evaluate every gate once.", new HistogramConfiguration
        {
            Buckets = Histogram.ExponentialBuckets(0.0001, 2, 16),
        });
        _tickInterval = factory.CreateHistogram("gatestream_evaluation_tick_interval_seconds",
            "Time from one evaluation tick's start to the next one's (the tick interval is 250 ms by default): whether evaluation keeps its rhythm under load.",
            new HistogramConfiguration { Buckets = [0.2, 0.24, 0.25, 0.26, 0.275, 0.3, 0.35, 0.4, 0.5, 0.75, 1, 2, 5] });
        _decisions = factory.CreateCounter("gatestream_decisions_total", "Decisions published, by action and shadow.", "action", "shadow");
        _subscribers = factory.CreateGauge("gatestream_subscribers", "Watch streams connected.");
        _subscribersDropped = factory.CreateCounter("gatestream_subscribers_dropped_total", "Watch streams cut off for falling behind.");
        _publish = factory.CreateHistogram("gatestream_decision_publish_seconds", "Time from a decision to it being durable and queued to every subscriber.", new HistogramConfiguration
        {
            Buckets = Histogram.ExponentialBuckets(0.00005, 2, 16),
        });
        _gcHeap = factory.CreateGauge("gatestream_gc_heap_bytes", "Bytes allocated on the managed heap and not yet collected (GC.GetTotalMemory), at scrape time.");
        _policyReloads = factory.CreateCounter("gatestream_policy_reloads_total", "Policy directory reloads, by result.", "result");
    }

    public CollectorRegistry Registry => _registry;

    // WithLabels allocates its label array on every call; ingest paths call these per message, so look each source up once.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Counter.Child> _eventsChildren = new(StringComparer.Ordinal);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Counter.Child> _decodeChildren = new(StringComparer.Ordinal);

    public void EventsReceived(string source, long count) =>
        _eventsChildren.GetOrAdd(source, static (s, counter) => counter.WithLabels(s), _eventsBySource).Inc(count);

    public void DecodeError(string source) =>
        _decodeChildren.GetOrAdd(source, static (s, counter) => counter.WithLabels(s), _decodeErrors).Inc();

    public void TickTook(TimeSpan elapsed) => _tick.Observe(elapsed.TotalSeconds);

    public void TickInterval(TimeSpan sincePreviousStart) => _tickInterval.Observe(sincePreviousStart.TotalSeconds);

    public void DecisionPublished(DecisionAction action, bool shadow, TimeSpan elapsed, int subscribers)
    {
        _decisions.WithLabels(action.ToString().ToLowerInvariant(), shadow ? "true" : "false").Inc();
        _publish.Observe(elapsed.TotalSeconds);
        _subscribers.Set(subscribers);
    }

    public void SetSubscribers(int count) => _subscribers.Set(count);

    public void SubscriberDropped() => _subscribersDropped.Inc();

    public void PolicyReload(bool ok) => _policyReloads.WithLabels(ok ? "ok" : "invalid").Inc();

    /// <summary>Copies the engine's state in before a scrape.</summary>
    public void Attach(ShardedIngest ingest, Func<CancellationToken, Task<IReadOnlyList<GateView>>> gates)
    {
        _registry.AddBeforeCollectCallback(async cancellationToken =>
        {
            foreach (var counter in Enum.GetValues<IngestCounter>())
            {
                _ingestCounters.WithLabels(ToSnake(counter.ToString())).IncTo(ingest.Count(counter));
            }

            _series.Set(ingest.Budget.Live);
            _gcHeap.Set(GC.GetTotalMemory(forceFullCollection: false));
            var views = await gates(cancellationToken).ConfigureAwait(false);
            foreach (var phase in Enum.GetValues<GatePhase>())
            {
                _gates.WithLabels(ToSnake(phase.ToString())).Set(views.Count(g => g.Phase == phase));
            }
        });
    }

    private static string ToSnake(string name) =>
        string.Concat(name.Select((c, i) => char.IsUpper(c) && i > 0 ? "_" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()));
}
