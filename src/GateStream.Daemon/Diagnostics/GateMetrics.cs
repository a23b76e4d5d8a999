using System.Collections.Concurrent;
using GateStream.Core.Gates;
using GateStream.Daemon.Decisions;
using GateStream.Wire;
using Prometheus;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Diagnostics;

/// <summary>
/// Per-gate series on <c>/metrics</c>, labelled <c>deployment</c> and <c>canary</c>: weight, observed share, phase,
/// each version's error ratio, p99 latency and request rate over the series window, and decisions by action.
/// </summary>
/// <remarks>
/// Labels are bounded by the live gates: a gate's series are exported while it runs and for
/// <see cref="FinishedGrace"/> after its last decision (so a scrape sees how it ended), then removed. Values are
/// read from the shards at scrape time (at most one evaluation tick old); decisions are counted as they are published.
/// </remarks>
internal sealed class GateMetrics : IDecisionObserver
{
    /// <summary>How long a finished gate stays on /metrics after its last decision.</summary>
    public static readonly TimeSpan FinishedGrace = TimeSpan.FromMinutes(10);

    private static readonly string[] Roles = ["canary", "baseline"];
    private static readonly GatePhase[] Phases = Enum.GetValues<GatePhase>();
    private static readonly string[] PhaseLabels = [.. Phases.Select(p => WireNames.Label(WireEnums.ToWire(p)).ToLowerInvariant())];

    private readonly Func<CancellationToken, Task<IReadOnlyList<(GateView View, GateVitals Vitals)>>> _read;
    private readonly Gauge _weight;
    private readonly Gauge _share;
    private readonly Gauge _phase;
    private readonly Gauge _errorRatio;
    private readonly Gauge _p99;
    private readonly Gauge _rate;
    private readonly Counter _decisions;
    private readonly ConcurrentDictionary<(string Deployment, string Canary), DecisionCounts> _counts = new();
    private HashSet<(string Deployment, string Canary)> _exported = [];

    /// <param name="read">The gates to export with their vitals (live ones and those finished within the grace).</param>
    public GateMetrics(CollectorRegistry registry, Func<CancellationToken, Task<IReadOnlyList<(GateView View, GateVitals Vitals)>>> read)
    {
        ArgumentNullException.ThrowIfNull(registry);
        _read = read;
        var factory = Metrics.WithCustomRegistry(registry);
        string[] gate = ["deployment", "canary"];
        _weight = factory.CreateGauge("gatestream_gate_weight_percent", "The canary's decided traffic weight.", gate);
        _share = factory.CreateGauge("gatestream_gate_observed_share_percent", "The canary's observed share of the deployment's requests (absent without traffic).", gate);
        _phase = factory.CreateGauge("gatestream_gate_phase", "1 for the gate's current phase, 0 for the others.", [.. gate, "phase"]);
        _errorRatio = factory.CreateGauge("gatestream_gate_error_ratio", "Errors / requests over the series window, by version role.", [.. gate, "role"]);
        _p99 = factory.CreateGauge("gatestream_gate_latency_p99_seconds", "p99 request latency over the series window, by version role.", [.. gate, "role"]);
        _rate = factory.CreateGauge("gatestream_gate_requests_per_second", "Request rate over the series window, by version role.", [.. gate, "role"]);
        _decisions = factory.CreateCounter("gatestream_gate_decisions_total", "Decisions published for the gate, by action (since the daemon started).", [.. gate, "action"]);
        registry.AddBeforeCollectCallback(CollectAsync);
    }

    public void OnDecision(V1.Decision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        var counts = _counts.GetOrAdd((decision.Deployment, decision.CanaryVersion), static _ => new DecisionCounts());
        counts.Add(WireNames.Label(decision.Action).ToLowerInvariant());
        if (_counts.Count > MaxCountedGates)
        {
            // Nobody scrapes: forget gates that have been quiet for the grace period, so the counts stay bounded.
            PruneCounts(keep: null);
        }
    }

    /// <summary>Gates whose decisions are counted before a scrape prunes them (only reached when nobody scrapes).</summary>
    private const int MaxCountedGates = 10_000;

    private async Task CollectAsync(CancellationToken cancellationToken)
    {
        var now = new HashSet<(string Deployment, string Canary)>();
        foreach (var (view, vitals) in await _read(cancellationToken).ConfigureAwait(false))
        {
            var key = (view.Deployment, view.CanaryVersion);
            now.Add(key);
            _weight.WithLabels(view.Deployment, view.CanaryVersion).Set(view.Weight);
            if (view.ObservedShare is { } share)
            {
                _share.WithLabels(view.Deployment, view.CanaryVersion).Set(share);
            }
            else
            {
                _share.RemoveLabelled(view.Deployment, view.CanaryVersion);
            }

            for (var i = 0; i < Phases.Length; i++)
            {
                _phase.WithLabels(view.Deployment, view.CanaryVersion, PhaseLabels[i]).Set(Phases[i] == view.Phase ? 1 : 0);
            }

            SetRole(view, Roles[0], vitals.Canary);
            SetRole(view, Roles[1], vitals.Baseline);
            if (_counts.TryGetValue(key, out var counts))
            {
                foreach (var (action, count) in counts.Snapshot())
                {
                    _decisions.WithLabels(view.Deployment, view.CanaryVersion, action).IncTo(count);
                }
            }
        }

        foreach (var gone in _exported.Where(k => !now.Contains(k)))
        {
            Remove(gone);
        }

        PruneCounts(keep: now);
        _exported = now;
    }

    // A gate that is not exported keeps its counts while it had a decision within the grace period: it may be one this
    // scrape's read had not seen yet (started after it), and its counts must not restart from zero at the next one.
    private void PruneCounts(HashSet<(string Deployment, string Canary)>? keep)
    {
        var stale = Environment.TickCount64 - (long)FinishedGrace.TotalMilliseconds;
        foreach (var (key, counts) in _counts)
        {
            if (keep?.Contains(key) != true && counts.LastMillis < stale)
            {
                _counts.TryRemove(key, out _);
            }
        }
    }

    private void SetRole(GateView view, string role, Core.Windows.WindowSnapshot window)
    {
        _errorRatio.WithLabels(view.Deployment, view.CanaryVersion, role).Set(window.ErrorRate);
        _p99.WithLabels(view.Deployment, view.CanaryVersion, role).Set(window.P99Micros / 1e6);
        _rate.WithLabels(view.Deployment, view.CanaryVersion, role).Set(window.RequestsPerSecond);
    }

    private void Remove((string Deployment, string Canary) gate)
    {
        _weight.RemoveLabelled(gate.Deployment, gate.Canary);
        _share.RemoveLabelled(gate.Deployment, gate.Canary);
        foreach (var phase in PhaseLabels)
        {
            _phase.RemoveLabelled(gate.Deployment, gate.Canary, phase);
        }

        foreach (var role in Roles)
        {
            _errorRatio.RemoveLabelled(gate.Deployment, gate.Canary, role);
            _p99.RemoveLabelled(gate.Deployment, gate.Canary, role);
            _rate.RemoveLabelled(gate.Deployment, gate.Canary, role);
        }

        foreach (var action in Enum.GetValues<V1.Action>().Where(a => a != V1.Action.Unspecified))
        {
            _decisions.RemoveLabelled(gate.Deployment, gate.Canary, WireNames.Label(action).ToLowerInvariant());
        }
    }

    /// <summary>Decisions of one gate by action label; written on publishing threads, read by the scrape.</summary>
    private sealed class DecisionCounts
    {
        private readonly Dictionary<string, long> _byAction = new(StringComparer.Ordinal);

        /// <summary><see cref="Environment.TickCount64"/> at the last decision.</summary>
        public long LastMillis { get; private set; }

        public void Add(string action)
        {
            lock (_byAction)
            {
                _byAction[action] = _byAction.GetValueOrDefault(action) + 1;
                LastMillis = Environment.TickCount64;
            }
        }

        public KeyValuePair<string, long>[] Snapshot()
        {
            lock (_byAction)
            {
                return [.. _byAction];
            }
        }
    }
}
