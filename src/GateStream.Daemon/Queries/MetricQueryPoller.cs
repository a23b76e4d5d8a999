using System.Collections.Concurrent;
using GateStream.Core.Gates;
using GateStream.Core.Policies;
using GateStream.Core.Time;
using GateStream.Core.Windows;
using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Engine;
using GateStream.Daemon.Kafka;
using GateStream.Daemon.Options;
using Microsoft.Extensions.Options;
using Prometheus;

namespace GateStream.Daemon.Queries;

/// <summary>
/// Runs the metric queries of Flagger Canaries (MetricTemplates through <c>templateRef</c>, inline queries) once per
/// analysis interval, just before each gate's check, and posts each value to the gate's shard as a metric sample of the
/// canary, under the rule's signal (<c>prometheus:NAME</c>). The rule then judges it with its thresholdRange like any
/// other signal. A query that fails, finds no value or answers after the check leaves the check without a value, which
/// the gate counts as a failed check, as Flagger does. Off the shard loops: the HTTP calls run here, bounded in number.
/// </summary>
internal sealed class MetricQueryPoller : BackgroundService
{
    public const string Source = "metric-query";

    /// <summary>How often the poller looks for checks coming up.</summary>
    public static readonly TimeSpan Round = TimeSpan.FromMilliseconds(500);

    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(30);

    private readonly EngineHost _engine;
    private readonly PolicyCatalog _catalog;
    private readonly MetricQueryOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<MetricQueryPoller> _logger;
    private readonly PrometheusQuery _prometheus;
    private readonly SemaphoreSlim _slots;
    private readonly Counter _queries;
    private readonly Histogram _duration;

    // Key: gate id and rule name. Value: the check (its time) the last query was started for. Poller loop only.
    private readonly Dictionary<(string Gate, string Rule), long> _started = [];
    private readonly ConcurrentDictionary<string, LogThrottle> _throttles = new(StringComparer.Ordinal);
    private readonly HttpClient _verifying;
    private readonly HttpClient _skipVerify;

    public MetricQueryPoller(EngineHost engine, PolicyCatalog catalog, IOptions<GateStreamOptions> options, DaemonMetrics metrics, TimeProvider clock, ILogger<MetricQueryPoller> logger)
    {
        _engine = engine;
        _catalog = catalog;
        _options = options.Value.MetricQueries;
        _clock = clock;
        _logger = logger;
        _slots = new SemaphoreSlim(_options.MaxConcurrency);
        _verifying = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan };
        _skipVerify = new HttpClient(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            // The template's insecureSkipVerify, as in Flagger: certificate checks off for this provider only.
#pragma warning disable CA5359 // Only for templates whose author wrote insecureSkipVerify: true, Flagger's meaning of it.
            SslOptions = { RemoteCertificateValidationCallback = static (_, _, _, _) => true },
#pragma warning restore CA5359
        })
        { Timeout = Timeout.InfiniteTimeSpan };
        _prometheus = new PrometheusQuery(_verifying, _skipVerify);
        var factory = Prometheus.Metrics.WithCustomRegistry(metrics.Registry);
        _queries = factory.CreateCounter("gatestream_metric_queries_total", "Metric queries of Flagger MetricTemplates run, by provider and outcome (value, no_values, failed, timed_out, late, refused); every outcome but value is a failed check.", "provider", "outcome");
        _duration = factory.CreateHistogram("gatestream_metric_query_seconds", "Time a metric query took, by provider.", new HistogramConfiguration
        {
            LabelNames = ["provider"],
            Buckets = Histogram.ExponentialBuckets(0.001, 2, 14),
        });
    }

    /// <summary>The timeout of one query for a check every <paramref name="interval"/>: the configured one, and at most half the interval less a second.</summary>
    public static TimeSpan TimeoutFor(TimeSpan configured, TimeSpan interval) =>
        TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(100).Ticks, Math.Min(configured.Ticks, (interval / 2 - TimeSpan.FromSeconds(1)).Ticks)));

    /// <summary>How long before a check its queries start: their timeout and a second for the result to reach the shard.</summary>
    public static TimeSpan LeadFor(TimeSpan timeout) => timeout + TimeSpan.FromSeconds(1);

    public override void Dispose()
    {
        _verifying.Dispose();
        _skipVerify.Dispose();
        _slots.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Round, _clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (!_catalog.Current.Policies.Any(HasQueries))
                {
                    _started.Clear();
                    continue;
                }

                try
                {
                    await StartDueAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    DaemonLog.MetricQueryRoundFailed(_logger, e);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static bool HasQueries(PolicyDefinition policy) => policy.Flagger is not null && policy.Rules.Any(r => r.Query?.Provider is not null);

    private async Task StartDueAsync(CancellationToken cancellationToken)
    {
        var gates = await _engine.SelectGatesAsync(
            // As in Flagger, no query where the check runs no analysis: the first iteration at weight 0, skipAnalysis.
            g => g.Phase is GatePhase.Progressing or GatePhase.Holding && HasQueries(g.Policy) && !g.Policy.Flagger!.SkipAnalysis
                && !(g.Phase == GatePhase.Progressing && g.Weight == 0),
            g => (g.Id, g.Deployment, g.CanaryVersion, g.Policy, g.NextCheckMicros),
            cancellationToken).ConfigureAwait(false);
        var now = EventTime.Now(_clock);
        var live = new HashSet<(string, string)>();
        foreach (var (id, deployment, canary, policy, nextCheck) in gates)
        {
            var interval = policy.Flagger!.Interval;
            var timeout = TimeoutFor(_options.Timeout, interval);
            foreach (var rule in policy.Rules)
            {
                if (rule.Query is not { Provider: not null } query)
                {
                    continue;
                }

                var key = (id, rule.Name);
                live.Add(key);
                if (now >= nextCheck || now < nextCheck - EventTime.FromTimeSpan(LeadFor(timeout))
                    || (_started.TryGetValue(key, out var last) && last == nextCheck))
                {
                    continue;
                }

                _started[key] = nextCheck;
                _ = RunOneAsync(new Work(policy.Name, rule.Name, rule.Signal.Metric!, query, deployment, canary, nextCheck, timeout), cancellationToken);
            }
        }

        foreach (var key in _started.Keys.Where(k => !live.Contains(k)).ToList())
        {
            _started.Remove(key);
        }
    }

    private async Task RunOneAsync(Work work, CancellationToken cancellationToken)
    {
        var provider = work.Query.Provider!;
        QueryResult result;
        var started = _clock.GetTimestamp();
        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                result = await QueryAsync(work, provider, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                _slots.Release();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }
        catch (Exception e)
        {
            // Not a provider's answer (those are results): a fault here must cost this check only.
            result = QueryResult.Fail($"internal error ({e.GetType().Name})");
        }

        _duration.WithLabels(provider.Type).Observe(_clock.GetElapsedTime(started).TotalSeconds);
        var done = EventTime.Now(_clock);
        if (result.Outcome == QueryOutcome.Value && done >= work.CheckMicros)
        {
            result = new QueryResult(QueryOutcome.TimedOut, 0, $"the answer came {Durations.Format(EventTime.ToTimeSpan(done - work.CheckMicros))} after the check it was for");
            _queries.WithLabels(provider.Type, "late").Inc();
        }
        else
        {
            _queries.WithLabels(provider.Type, Label(result.Outcome)).Inc();
        }

        if (result.Outcome != QueryOutcome.Value)
        {
            LogFailure(work, result);
            return;
        }

        var batch = _engine.Ingest.MetricPool.Rent();
        batch.Key.Set(work.Deployment, work.Canary);
        batch.Source = Source;
        // A check compares with <, <=, >, >=: an infinite answer keeps its side of any bound as the largest finite value.
        batch.Add(work.Signal, done, Math.Clamp(result.Value, double.MinValue, double.MaxValue), MetricKind.Gauge);
        if (_engine.Ingest.Admit(batch) is not null)
        {
            _engine.Ingest.MetricPool.Return(batch);
            _queries.WithLabels(provider.Type, "refused").Inc();
            return;
        }

        try
        {
            await _engine.Ingest.PostAsync(batch, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or System.Threading.Channels.ChannelClosedException)
        {
            // Shutting down: the shards are gone, and so is the check this value was for.
        }
    }

    private async Task<QueryResult> QueryAsync(Work work, MetricProviderSpec provider, CancellationToken cancellationToken)
    {
        QueryCredentials? credentials = null;
        if (provider.SecretName is { } secret)
        {
            credentials = QueryCredentials.Read(_options.SecretsDirectory, provider.SecretNamespace, secret, out var error);
            if (credentials is null)
            {
                return QueryResult.Fail(error);
            }
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(work.Timeout);
        try
        {
            return await _prometheus.RunAsync(provider, work.Query.Query, credentials, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new QueryResult(QueryOutcome.TimedOut, 0, $"no answer within {Durations.Format(work.Timeout)}");
        }
        catch (HttpRequestException e)
        {
            // The message names the host and the socket error; credentials travel in headers, never in it.
            return QueryResult.Fail($"request failed: {e.Message}");
        }
    }

    private void LogFailure(Work work, QueryResult result)
    {
        var throttle = _throttles.GetOrAdd($"{work.Policy}/{work.Rule}", static (_, clock) => new LogThrottle(clock, LogInterval, Source), _clock);
        if (throttle.ShouldLog(out var suppressed))
        {
            DaemonLog.MetricQueryFailed(
                _logger,
                work.Query.Template.Length > 0 ? $"MetricTemplate {work.Query.Template}" : "inline query",
                work.Rule,
                $"{work.Deployment}/{work.Canary}",
                work.Query.Provider!.Type,
                Label(result.Outcome),
                result.Error + suppressed);
        }
    }

    private static string Label(QueryOutcome outcome) => outcome switch
    {
        QueryOutcome.Value => "value",
        QueryOutcome.NoValues => "no_values",
        QueryOutcome.TimedOut => "timed_out",
        _ => "failed",
    };

    private sealed record Work(string Policy, string Rule, string Signal, MetricQuerySpec Query, string Deployment, string Canary, long CheckMicros, TimeSpan Timeout);
}
