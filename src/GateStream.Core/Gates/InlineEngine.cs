using GateStream.Core.Events;
using GateStream.Core.Ingest;
using GateStream.Core.Policies;
using GateStream.Core.Time;

namespace GateStream.Core.Gates;

/// <summary>
/// The whole engine on one thread and a virtual clock: one shard, its gate book, ticks at the configured
/// interval. Replay and simulations use it; the daemon runs the same <see cref="Shard"/> and <see cref="GateBook"/>
/// code on its shard loops. Deterministic: the same batches and overrides at the same times give the same decisions.
/// </summary>
public sealed class InlineEngine
{
    private readonly long _tickMicros;
    private long _nextTickMicros;

    public InlineEngine(long startMicros, PolicyCatalog catalog, IDecisionSink sink, IngestOptions? ingest = null, GateEngineOptions? engine = null, IWebhookDispatcher? webhooks = null)
    {
        ingest ??= new IngestOptions { ShardCount = 1 };
        engine ??= new GateEngineOptions();
        Shard = new Shard(0, ingest, new SeriesBudget(ingest));
        Gates = new GateBook(Shard, catalog, sink, engine, webhooks);
        NowMicros = startMicros;
        _tickMicros = EventTime.FromTimeSpan(engine.TickInterval);
        _nextTickMicros = startMicros + _tickMicros;
    }

    public Shard Shard { get; }

    public GateBook Gates { get; }

    public long NowMicros { get; private set; }

    /// <summary>Applies a batch at the current virtual time.</summary>
    public int Apply(EventBatch batch) => Shard.Apply(batch, NowMicros);

    public int Apply(MetricSampleBatch batch) => Shard.Apply(batch, NowMicros);

    /// <summary>Moves the clock to <paramref name="micros"/>, running every tick that falls due on the way.</summary>
    public void AdvanceTo(long micros)
    {
        while (_nextTickMicros <= micros)
        {
            NowMicros = _nextTickMicros;
            Gates.Tick(NowMicros);
            _nextTickMicros += _tickMicros;
        }

        NowMicros = Math.Max(NowMicros, micros);
    }

    public StartResult Start(StartRolloutCommand command) => Gates.Start(command, NowMicros);

    public OverrideResult Override(OverrideCommand command) => Gates.Override(command, NowMicros);

    /// <summary>Delivers a webhook call's answers at the current virtual time.</summary>
    public bool Deliver(WebhookResult result) => Gates.OnWebhookResult(result, NowMicros);
}
