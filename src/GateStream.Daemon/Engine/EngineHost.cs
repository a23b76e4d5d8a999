using System.Diagnostics;
using GateStream.Core.Gates;
using GateStream.Core.Ingest;
using GateStream.Core.Policies;
using GateStream.Core.Time;
using GateStream.Daemon.Decisions;
using GateStream.Daemon.Decisions.Log;
using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Options;
using GateStream.Wire;
using Microsoft.Extensions.Options;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Engine;

/// <summary>
/// The running engine: the shards (ingest), one gate book per shard, the evaluation tick, and the restore from the
/// decision log at start. gRPC services call into it; gate work always runs on the shard that owns the deployment.
/// </summary>
internal sealed class EngineHost : BackgroundService
{
    private readonly GateBook[] _books;
    private readonly ILogger<EngineHost> _logger;
    private readonly TimeProvider _clock;
    private readonly DaemonMetrics _metrics;
    private readonly TimeSpan _tickInterval;
    private long _lastTickTimestamp;

    public EngineHost(IOptions<GateStreamOptions> options, PolicyCatalog catalog, DecisionHub hub, DaemonMetrics metrics, TimeProvider clock, IHostApplicationLifetime lifetime, ILogger<EngineHost> logger, Webhooks.WebhookCaller webhooks)
    {
        _webhooks = webhooks;
        var engine = options.Value.Engine;
        _logger = logger;
        _clock = clock;
        _metrics = metrics;
        _tickInterval = engine.TickInterval;
        Hub = hub;
        Catalog = catalog;
        Ingest = new ShardedIngest(engine.ToIngestOptions(), clock, new RefusalLogger(logger, clock));
        var sink = new LoggingSink(hub, logger);
        var gateOptions = engine.ToGateEngineOptions();
        _books = new GateBook[Ingest.ShardCount];
        for (var i = 0; i < _books.Length; i++)
        {
            // Constructed before any batch is posted; afterwards a book is touched only on its shard's loop.
            var shard = i;
            _books[i] = Ingest.InvokeAsync(shard, s => new GateBook(s, catalog, sink, gateOptions, webhooks)).GetAwaiter().GetResult();
        }

        _lastTickTimestamp = clock.GetTimestamp();
        // Watch streams never end by themselves: end them (UNAVAILABLE, resume later) as soon as shutdown starts, so
        // Kestrel's graceful stop does not wait for them.
        lifetime.ApplicationStopping.Register(hub.CompleteAll);
        // Read on the shards at scrape time, awaited (prometheus-net runs async before-collect callbacks).
        metrics.Attach(Ingest, cancellationToken => ListAsync(includeFinished: true, cancellationToken));
        hub.AddObserver(new GateMetrics(metrics.Registry, cancellationToken => VitalsAsync(GateMetrics.FinishedGrace, cancellationToken)));
        Restore();
    }

    public ShardedIngest Ingest { get; }

    public DecisionHub Hub { get; }

    public PolicyCatalog Catalog { get; }

    public long NowMicros => EventTime.Now(_clock);

    /// <summary>Whether the evaluation loop has ticked recently (the watchdog and /healthz ask).</summary>
    public bool IsAlive => _clock.GetElapsedTime(Interlocked.Read(ref _lastTickTimestamp)) < (_tickInterval * 20) + TimeSpan.FromSeconds(5);

    public TimeSpan SinceLastTick => _clock.GetElapsedTime(Interlocked.Read(ref _lastTickTimestamp));


    private readonly Webhooks.WebhookCaller _webhooks;

    /// <summary>Webhook answers go to their gate's shard as commands; the check waiting on them resumes at the next tick.</summary>
    private async Task DeliverWebhookResultsAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var result in _webhooks.Results.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                try
                {
                    var deployment = result.Gate[..result.Gate.LastIndexOf('/')];
                    await OnShardOfAsync(deployment, book => book.OnWebhookResult(result), stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    DaemonLog.WebhookResultNotDelivered(_logger, result.Gate, e.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delivering = DeliverWebhookResultsAsync(stoppingToken);
        try
        {
            await TickAsync(stoppingToken).ConfigureAwait(false);
        }
        finally
        {
            await delivering.ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The tick runs on a thread of its own and waits for the shards with <see cref="Task.Wait(CancellationToken)"/>,
    /// which the completing shard loop signals itself: with every ingest path saturated, continuations on the thread
    /// pool queued behind the ingest work (in the on-time harness 4 of 121 intervals went past 300 ms).
    /// </summary>
    private Task TickAsync(CancellationToken stoppingToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                TickLoop(stoppingToken);
                done.TrySetResult();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                done.TrySetResult();
            }
#pragma warning disable CA1031 // Handed to ExecuteAsync, which the host reports.
            catch (Exception e)
#pragma warning restore CA1031
            {
                done.TrySetException(e);
            }
        })
        {
            IsBackground = true,
            Name = "gatestream-tick",
        };
        thread.Start();
        return done.Task;
    }

    private void TickLoop(CancellationToken stoppingToken)
    {
        // The live clock is slept to each deadline here (a timer's callback would queue on the thread pool too); a
        // test's clock drives a PeriodicTimer.
        using var timer = _clock == TimeProvider.System ? null : new PeriodicTimer(_tickInterval, _clock);
        var ticks = new Task[_books.Length];
        long previousStart = 0;
        var next = Stopwatch.GetTimestamp();
        while (timer is null ? SleepToNextTick(ref next, stoppingToken) : timer.WaitForNextTickAsync(stoppingToken).AsTask().GetAwaiter().GetResult())
        {
            var started = Stopwatch.GetTimestamp();
            if (previousStart != 0)
            {
                _metrics.TickInterval(Stopwatch.GetElapsedTime(previousStart, started));
            }

            previousStart = started;
            var now = NowMicros;
            // Every shard at once, each ahead of the batches queued on it: ingest at full speed delays a tick by at
            // most one batch per shard.
            for (var i = 0; i < _books.Length; i++)
            {
                var book = _books[i];
                ticks[i] = Ingest.InvokeFirstAsync(i, _ => { book.Tick(now); return true; });
            }

            for (var i = 0; i < ticks.Length; i++)
            {
                try
                {
                    ticks[i].Wait(stoppingToken);
                }
                catch (AggregateException e) when (e.InnerException is DecisionLogUnavailableException)
                {
                    // The log reports its own faults (rate-limited) and /healthz says why; the gates decide again next tick.
                }
                catch (AggregateException e)
                {
                    DaemonLog.TickFailed(_logger, e.InnerException ?? e, i);
                }
            }

            var elapsed = Stopwatch.GetElapsedTime(started);
            _metrics.TickTook(elapsed);
            if (elapsed > _tickInterval)
            {
                DaemonLog.TickSlow(_logger, elapsed.TotalMilliseconds);
            }

            Interlocked.Exchange(ref _lastTickTimestamp, _clock.GetTimestamp());
        }
    }

    /// <summary>Sleeps until the next tick is due on the live clock; false once stopping.</summary>
    private bool SleepToNextTick(ref long next, CancellationToken stoppingToken)
    {
        next += (long)(_tickInterval.TotalSeconds * Stopwatch.Frequency);
        var wait = Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), next);
        if (stoppingToken.WaitHandle.WaitOne(wait > TimeSpan.Zero ? wait : TimeSpan.Zero))
        {
            return false;
        }

        if (wait < -_tickInterval)
        {
            next = Stopwatch.GetTimestamp(); // more than a period behind: one tick now, then the rhythm again
        }

        return true;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        Hub.CompleteAll();
        await Ingest.DisposeAsync().ConfigureAwait(false);
    }

    private int ShardOf(string deployment) => Ingest.ShardOf(System.Text.Encoding.UTF8.GetBytes(deployment));

    public Task<T> OnShardOfAsync<T>(string deployment, Func<GateBook, T> work, CancellationToken cancellationToken = default)
    {
        var shard = ShardOf(deployment);
        var book = _books[shard];
        return Ingest.InvokeAsync(shard, _ => work(book), cancellationToken);
    }

    public async Task<IReadOnlyList<GateView>> ListAsync(bool includeFinished, CancellationToken cancellationToken)
    {
        var perShard = await Ingest.InvokeAllAsync(shard =>
        {
            var book = _books[shard.Index];
            return book.Gates.Where(g => includeFinished || !g.IsFinished).Select(g => g.View(book.OwnershipOf(g.Deployment))).ToArray();
        }, cancellationToken).ConfigureAwait(false);
        return [.. perShard.SelectMany(v => v).OrderBy(v => v.Id, StringComparer.Ordinal)];
    }

    /// <summary>Each gate that runs or finished within <paramref name="finishedWithin"/>, with its versions' windows, read on its shard.</summary>
    public async Task<IReadOnlyList<(GateView View, GateVitals Vitals)>> VitalsAsync(TimeSpan finishedWithin, CancellationToken cancellationToken)
    {
        var since = NowMicros - EventTime.FromTimeSpan(finishedWithin);
        var perShard = await Ingest.InvokeAllAsync(shard =>
        {
            var book = _books[shard.Index];
            return book.Gates
                .Where(g => !g.IsFinished || (g.LastDecision?.TimeMicros ?? g.StartedMicros) >= since)
                .Select(g => (g.View(book.OwnershipOf(g.Deployment)), g.Vitals()))
                .ToArray();
        }, cancellationToken).ConfigureAwait(false);
        return [.. perShard.SelectMany(v => v)];
    }

    /// <summary>Reads every gate that <paramref name="where"/> picks, on its shard, as <paramref name="select"/> copies it.</summary>
    public async Task<IReadOnlyList<T>> SelectGatesAsync<T>(Func<Gate, bool> where, Func<Gate, T> select, CancellationToken cancellationToken)
    {
        var perShard = await Ingest.InvokeAllAsync(shard => _books[shard.Index].Gates.Where(where).Select(select).ToArray(), cancellationToken).ConfigureAwait(false);
        return [.. perShard.SelectMany(v => v)];
    }

    public Task<GateView?> GetAsync(string gateId, CancellationToken cancellationToken)
    {
        var slash = gateId.LastIndexOf('/');
        if (slash <= 0)
        {
            return Task.FromResult<GateView?>(null);
        }

        return OnShardOfAsync(gateId[..slash], book => book.Find(gateId) is { } gate ? gate.View(book.OwnershipOf(gate.Deployment)) : null, cancellationToken);
    }

    /// <summary>Starts a rollout, and reads the new gate's state in the same call on its shard (the gate's single writer).</summary>
    public Task<(StartResult Result, GateView? View)> StartAsync(StartRolloutCommand command, CancellationToken cancellationToken) =>
        OnShardOfAsync(command.Deployment, book =>
        {
            var result = book.Start(command, NowMicros);
            return (result, result.Gate is { } gate ? gate.View(book.OwnershipOf(gate.Deployment)) : null);
        }, cancellationToken);

    public Task<OverrideResult> OverrideAsync(OverrideCommand command, CancellationToken cancellationToken)
    {
        var slash = command.Gate.LastIndexOf('/');
        if (slash <= 0)
        {
            return Task.FromResult(new OverrideResult(null, OverrideError.NotFound, $"No gate '{command.Gate}' (gate ids are deployment/canaryVersion)."));
        }

        // A DecisionLogUnavailableException leaves the gate unchanged; the caller reports it.
        return OnShardOfAsync(command.Gate[..slash], book => book.Override(command, NowMicros), cancellationToken);
    }

    /// <summary>Gates continue from their logged phase and weight; their windows start empty.</summary>
    private void Restore()
    {
        var last = new Dictionary<string, (V1.Decision First, V1.Decision Last)>(StringComparer.Ordinal);
        foreach (var record in Hub.Log.ReadFrom(0))
        {
            var decision = V1.Decision.Parser.ParseFrom(record.Payload.Span);
            last[decision.Gate] = last.TryGetValue(decision.Gate, out var seen) ? (seen.First, decision) : (decision, decision);
        }

        var now = NowMicros;
        foreach (var (first, latest) in last.Values)
        {
            if (!DecisionMapper.TryToSnapshot(latest, DecisionMapper.MicrosOf(first.Time), out var snapshot, out var problem))
            {
                DaemonLog.GateNotRestored(_logger, problem);
                continue;
            }

            var (gate, message) = OnShardOfAsync(latest.Deployment, book => book.Restore(snapshot, now)).GetAwaiter().GetResult();
            if (gate is null)
            {
                DaemonLog.GateNotRestored(_logger, message);
            }
            else
            {
                DaemonLog.GateRestored(_logger, message);
            }
        }
    }

    /// <summary>Logs every decision after the hub has made it durable.</summary>
    private sealed class LoggingSink(DecisionHub hub, ILogger logger) : IDecisionSink
    {
        public GateDecision Publish(GateDecision decision)
        {
            var published = hub.Publish(decision);
            Log(published);
            return published;
        }

        // A tick's decisions, logged once durable (a tick runs on one thread from its first Write to its WaitDurable).
        [ThreadStatic]
        private static List<GateDecision>? t_written;

        public GateDecision Write(GateDecision decision)
        {
            var written = hub.Write(decision);
            (t_written ??= []).Add(written);
            return written;
        }

        public void WaitDurable(ulong sequence)
        {
            try
            {
                hub.WaitDurable(sequence);
                foreach (var written in t_written ?? [])
                {
                    Log(written);
                }
            }
            finally
            {
                t_written?.Clear();
            }
        }

        private void Log(GateDecision published)
        {
            DaemonLog.Decision(logger, published.Sequence, published.Gate, WireNames.Label(published.Action), published.Weight,
                WireNames.Title(published.Phase), published.Shadow ? " [shadow]" : "", published.Reason);
        }
    }
}
