using GateStream.Core.Ingest;
using GateStream.Core.Policies;
using GateStream.Core.Time;

namespace GateStream.Core.Gates;

/// <summary>What a caller asks for when starting a rollout by hand (the control API's StartRollout).</summary>
/// <param name="CurrentWeight">The weight the controller applies now; the gate starts from it when no initial weight is given.</param>
public sealed record StartRolloutCommand(string Deployment, string BaselineVersion, string CanaryVersion, string? Policy, int? InitialWeight, string Actor, int? CurrentWeight = null);

public enum StartError
{
    None = 0,
    InvalidArgument,
    PolicyNotFound,

    /// <summary>Another gate is under way for the deployment.</summary>
    AlreadyExists,
}

public sealed record StartResult(Gate? Gate, StartError Error, string Message)
{
    public bool Succeeded => Error == StartError.None;
}

/// <summary>
/// Whether this daemon decides for a deployment. Without Kafka every deployment is owned; with a consumer group,
/// a deployment belongs to whoever holds its partition, and a new owner warms up (re-reads the window) first.
/// </summary>
public enum DeploymentOwnership
{
    Owned = 0,

    /// <summary>This daemon is rebuilding the deployment's windows; its gates report that instead of deciding.</summary>
    WarmingUp = 1,

    /// <summary>Another daemon owns the deployment; its gates here neither evaluate nor decide.</summary>
    NotOwned = 2,
}

/// <summary>Engine settings. Bound from configuration by the daemon.</summary>
public sealed record GateEngineOptions
{
    /// <summary>How often every gate is evaluated. Default 250 ms.</summary>
    public TimeSpan TickInterval { get; init; } = Defaults.TickInterval;

    /// <summary>Resolution of the per-gate count history used for windows longer than the series window. Default 5 s.</summary>
    public TimeSpan HistoryResolution { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Finished gates stay listed this long. Default 1 h.</summary>
    public TimeSpan FinishedRetention { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Start gates automatically when a new version of a targeted deployment shows real traffic. Default on.</summary>
    public bool AutoStart { get; init; } = true;

    /// <summary>
    /// Requests a new version must have in its window before it opens a gate by itself, so a stray or hostile event
    /// cannot open one. A policy's <c>opening.minRequests</c> overrides it. Default 100.
    /// </summary>
    public long AutoStartMinRequests { get; init; } = GateOpeningSpec.DefaultMinRequests;

    /// <summary>
    /// Share of its deployment's requests (in the window) a new version must carry before it opens a gate by itself.
    /// A policy's <c>opening.minShare</c> overrides it. Default 0.01 (1%).
    /// </summary>
    public double AutoStartMinShare { get; init; } = GateOpeningSpec.DefaultMinShare;

    /// <summary>
    /// An auto-started gate gives way to another new version of its deployment carrying this many times its traffic
    /// (in the window). Default 2.
    /// </summary>
    public double AutoStartSupersedeRatio { get; init; } = 2;
}

/// <summary>
/// The gates of one shard's deployments: starts them (by hand or when a new version shows up), evaluates them
/// every tick in a fixed order, applies overrides, and hands each decision to the sink.
/// </summary>
/// <remarks>Single writer: the shard thread. Tick cost is proportional to live gates; no allocation per gate per tick.</remarks>
public sealed class GateBook
{
    private readonly Shard _shard;
    private readonly PolicyCatalog _catalog;
    private readonly IDecisionSink _sink;
    private readonly GateEngineOptions _options;
    private readonly SortedList<string, Gate> _gates = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Gate> _activeByDeployment = new(StringComparer.Ordinal);
    private readonly List<Gate> _finished = [];
    private readonly Dictionary<string, DeploymentOwnership> _ownership = new(StringComparer.Ordinal);

    // New versions of targeted deployments that have not shown real traffic yet (see CheckCandidates).
    private readonly List<Series> _candidates = [];
    private readonly Dictionary<string, long> _deploymentRequests = new(StringComparer.Ordinal);
    private long _lastCandidateCheckMicros = long.MinValue / 2;
    private PolicySet? _policiesSeen;

    private readonly IWebhookDispatcher? _webhooks;

    /// <param name="webhooks">
    /// Calls the webhooks of Flagger policies off the shard loop; null (replay, simulations) calls none, and every
    /// webhook stage passes.
    /// </param>
    public GateBook(Shard shard, PolicyCatalog catalog, IDecisionSink sink, GateEngineOptions? options = null, IWebhookDispatcher? webhooks = null)
    {
        _shard = shard ?? throw new ArgumentNullException(nameof(shard));
        _catalog = catalog ?? throw new ArgumentNullException(nameof(catalog));
        _sink = sink ?? throw new ArgumentNullException(nameof(sink));
        _options = options ?? new GateEngineOptions();
        _webhooks = webhooks;
        shard.SeriesCreated = OnSeriesCreated;
    }

    public Shard Shard => _shard;

    public int Count => _gates.Count;

    public IEnumerable<Gate> Gates => _gates.Values;

    public Gate? Find(string gateId) => _gates.GetValueOrDefault(gateId);

    /// <summary>
    /// Evaluates every gate at <paramref name="nowMicros"/> and publishes what they decide. A gate whose decision the
    /// sink refuses (throws) is put back as it was; the others still run, and the first failure is rethrown at the end.
    /// </summary>
    public void Tick(long nowMicros)
    {
        var policies = _catalog.Current;
        if (!ReferenceEquals(policies, _policiesSeen))
        {
            ApplyReload(policies);
        }

        var gates = _gates.Values;
        var anyOwnership = _ownership.Count > 0;
        System.Runtime.ExceptionServices.ExceptionDispatchInfo? failure = null;
        for (var i = 0; i < gates.Count; i++)
        {
            var gate = gates[i];
            if (anyOwnership && OwnershipOf(gate.Deployment) != DeploymentOwnership.Owned)
            {
                continue;
            }

            var before = gate.Mark(withRules: false);
            if (gate.Tick(_shard, nowMicros) is { } decision)
            {
                try
                {
                    Publish(gate, decision);
                }
                catch (Exception e)
                {
                    // Not durable: the gate keeps its state and decides again next tick; the other gates still run.
                    gate.Undo(before);
                    failure ??= System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e);
                }
            }
        }

        if (_candidates.Count > 0 && nowMicros - _lastCandidateCheckMicros >= CandidateCheckIntervalMicros)
        {
            _lastCandidateCheckMicros = nowMicros;
            CheckCandidates(nowMicros);
        }

        if (_finished.Count > 0)
        {
            Retire(nowMicros);
        }

        if (nowMicros - _lastEvictionMicros >= EvictionIntervalMicros)
        {
            _lastEvictionMicros = nowMicros;
            _shard.EvictIdle(nowMicros);
        }

        failure?.Throw();
    }

    private const long EvictionIntervalMicros = 10 * EventTime.MicrosPerSecond;

    // Candidates are checked once a second, not every tick: checking sums the window of every series of their deployments.
    private const long CandidateCheckIntervalMicros = EventTime.MicrosPerSecond;

    /// <summary>Who an automatically started gate names as its starter; such a gate gives way to a controller's StartRollout.</summary>
    public const string AutoActor = "auto";
    private long _lastEvictionMicros;

    /// <summary>Whether this daemon decides for <paramref name="deployment"/> (default: owned).</summary>
    public DeploymentOwnership OwnershipOf(string deployment) =>
        _ownership.TryGetValue(deployment, out var state) ? state : DeploymentOwnership.Owned;

    /// <summary>
    /// Sets whether this daemon decides for a deployment (Kafka partition ownership). Gates of a deployment that is
    /// warming up or not owned are not evaluated, and no gate starts for it automatically.
    /// </summary>
    public void SetOwnership(string deployment, DeploymentOwnership state)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        if (state == DeploymentOwnership.Owned)
        {
            _ownership.Remove(deployment);
        }
        else
        {
            _ownership[deployment] = state;
        }
    }

    /// <summary>Starts a rollout by hand. Idempotent for the same deployment, versions and policy.</summary>
    public StartResult Start(StartRolloutCommand command, long nowMicros)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (string.IsNullOrWhiteSpace(command.Deployment) || string.IsNullOrWhiteSpace(command.BaselineVersion) || string.IsNullOrWhiteSpace(command.CanaryVersion))
        {
            return new(null, StartError.InvalidArgument, "deployment, baseline_version and canary_version are required.");
        }

        if (command.BaselineVersion == command.CanaryVersion)
        {
            return new(null, StartError.InvalidArgument, "canary_version must differ from baseline_version.");
        }

        if (command.InitialWeight is < 0 or > 100)
        {
            return new(null, StartError.InvalidArgument, $"initial_weight must be 0..100 (got {command.InitialWeight}).");
        }

        if (command.CurrentWeight is < 0 or > 100)
        {
            return new(null, StartError.InvalidArgument, $"current_weight must be 0..100 (got {command.CurrentWeight}).");
        }

        var policy = string.IsNullOrEmpty(command.Policy) ? _catalog.Current.ForDeployment(command.Deployment) : _catalog.Current.ByName(command.Policy);
        if (policy is null)
        {
            return new(null, StartError.PolicyNotFound, string.IsNullOrEmpty(command.Policy)
                ? $"policy: no policy targets deployment '{command.Deployment}'."
                : $"policy: no policy named '{command.Policy}'.");
        }

        if (_activeByDeployment.TryGetValue(command.Deployment, out var active))
        {
            if (active.CanaryVersion == command.CanaryVersion && active.BaselineVersion == command.BaselineVersion && active.Policy.Name == policy.Name)
            {
                return new(active, StartError.None, $"Gate {active.Id} is already under way.");
            }

            if (active.StartedBy != AutoActor)
            {
                return new(null, StartError.AlreadyExists, $"Gate {active.Id} is already under way for deployment '{command.Deployment}'; finish or roll it back first.");
            }

            // A controller's rollout takes precedence over a gate the traffic opened: that gate is rolled back, saying why.
            var superseded = Supersede(active, $"superseded by {command.Actor}'s StartRollout {command.BaselineVersion} -> {command.CanaryVersion}", nowMicros);
            var replacing = Open(command.Deployment, command.BaselineVersion, command.CanaryVersion, policy, nowMicros, command.Actor, command.InitialWeight);
            return new(replacing, StartError.None,
                $"Started gate {replacing.Id}; it replaces the automatically started gate {active.Id} (rolled back by decision {superseded?.Sequence}).");
        }

        var gate = Open(command.Deployment, command.BaselineVersion, command.CanaryVersion, policy, nowMicros, command.Actor, command.InitialWeight ?? command.CurrentWeight);
        return new(gate, StartError.None, $"Started gate {gate.Id}.");
    }

    /// <summary>
    /// Recreates a gate from the decision log after a restart, in its logged phase and weight, without publishing
    /// anything. Returns null (and the reason) when its policy no longer exists.
    /// </summary>
    public (Gate? Gate, string Message) Restore(GateSnapshot snapshot, long nowMicros)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        if (_catalog.Current.ByName(snapshot.Policy) is not { } policy)
        {
            return (null, $"gate {Gate.IdFor(snapshot.Deployment, snapshot.CanaryVersion)} was under policy '{snapshot.Policy}', which is no longer loaded; it was not restored.");
        }

        var gate = Open(snapshot.Deployment, snapshot.BaselineVersion, snapshot.CanaryVersion, policy, snapshot.StartedMicros, snapshot.StartedBy, snapshot.Weight);
        gate.Restore(snapshot, nowMicros);
        if (gate.IsFinished)
        {
            _activeByDeployment.Remove(gate.Deployment);
            _finished.Add(gate);
        }

        return (gate, $"restored gate {gate.Id} in phase {gate.Phase} at weight {gate.Weight}.");
    }

    /// <summary>
    /// Applies an operator's override; the resulting decision is published like any other. If the sink throws, the gate
    /// is put back as it was and the exception propagates.
    /// </summary>
    public OverrideResult Override(OverrideCommand command, long nowMicros)
    {
        ArgumentNullException.ThrowIfNull(command);
        if (!_gates.TryGetValue(command.Gate, out var gate))
        {
            return OverrideResult.Fail(OverrideError.NotFound, $"No gate '{command.Gate}'.");
        }

        if (string.IsNullOrWhiteSpace(command.Reason))
        {
            return OverrideResult.Fail(OverrideError.InvalidArgument, "reason: an override needs a reason.");
        }

        var wasFinished = gate.IsFinished;
        var before = gate.Mark(withRules: true);
        var result = gate.Override(command, nowMicros);
        if (result.Decision is not { } decision)
        {
            return result;
        }

        GateDecision published;
        try
        {
            published = Publish(gate, decision);
        }
        catch
        {
            gate.Undo(before); // the sink could not make it durable: the override did not happen
            throw;
        }

        if (wasFinished && !gate.IsFinished)
        {
            // Resumed after a rollback: the gate is live again.
            _finished.Remove(gate);
            _activeByDeployment[gate.Deployment] = gate;
        }

        return result with { Decision = published };
    }

    /// <summary>
    /// Delivers the answers of a webhook call (a command from the daemon's caller, on the shard thread). A check waiting
    /// on them resumes at the next tick. Answers for a gate that is gone are dropped; returns whether the gate was found.
    /// </summary>
    public bool OnWebhookResult(WebhookResult result, long nowMicros)
    {
        ArgumentNullException.ThrowIfNull(result);
        if (!_gates.TryGetValue(result.Gate, out var gate))
        {
            return false;
        }

        gate.OnWebhookResult(result, nowMicros);
        return true;
    }

    private GateDecision Publish(Gate gate, GateDecision decision)
    {
        var published = _sink.Publish(decision);
        gate.Published(published);
        if (gate.IsFinished && _activeByDeployment.TryGetValue(gate.Deployment, out var active) && ReferenceEquals(active, gate))
        {
            _activeByDeployment.Remove(gate.Deployment);
            _finished.Add(gate);
        }

        return published;
    }

    private Gate Open(string deployment, string baseline, string canary, PolicyDefinition policy, long nowMicros, string actor, int? initialWeight)
    {
        var gate = new Gate(deployment, baseline, canary, policy, nowMicros, actor, initialWeight, _options.HistoryResolution);
        gate.UseWebhooks(_webhooks);
        if (_gates.Remove(gate.Id, out var previous))
        {
            // The same canary version started again: the old, finished gate gives way.
            previous.Release();
            _finished.Remove(previous);
        }

        _gates.Add(gate.Id, gate);
        _activeByDeployment[deployment] = gate;
        return gate;
    }

    // A new series of a targeted deployment becomes a candidate; it opens a gate only once it shows real traffic.
    private void OnSeriesCreated(Series series, long nowMicros)
    {
        if (_options.AutoStart && _catalog.Current.ForDeployment(series.Key.Deployment) is not null)
        {
            _candidates.Add(series);
        }
    }

    /// <summary>
    /// Opens gates for candidates that have shown real traffic: at least the policy's (or engine's) minimum requests and
    /// share of their deployment's requests in the window. One gate per deployment: among candidates that qualify, the
    /// one with the most requests opens; an automatically started gate gives way (rolled back, saying why) to a candidate
    /// carrying <see cref="GateEngineOptions.AutoStartSupersedeRatio"/> times its traffic. Versions already gated,
    /// evicted series and the first version of a deployment (the stable one) stop being candidates.
    /// </summary>
    private void CheckCandidates(long nowMicros)
    {
        _deploymentRequests.Clear();
        foreach (var candidate in _candidates)
        {
            _deploymentRequests.TryAdd(candidate.Key.Deployment, 0);
        }

        foreach (var series in _shard.AllSeries)
        {
            if (_deploymentRequests.TryGetValue(series.Key.Deployment, out var sum))
            {
                series.Requests.AdvanceTo(nowMicros);
                _deploymentRequests[series.Key.Deployment] = sum + series.Requests.Requests;
            }
        }

        // Best qualifying candidate per deployment, in candidate order (deterministic: creation order).
        for (var i = 0; i < _candidates.Count; i++)
        {
            var candidate = _candidates[i];
            var deployment = candidate.Key.Deployment;
            var policy = _catalog.Current.ForDeployment(deployment);
            if (!candidate.IsLive || policy is null || _gates.ContainsKey(Gate.IdFor(deployment, candidate.Key.Version))
                || BaselineFor(candidate) is not { } baseline)
            {
                // Evicted, no longer targeted, gated already, or the version with the most traffic: the stable one.
                _candidates.RemoveAt(i--);
                continue;
            }

            if (OwnershipOf(deployment) != DeploymentOwnership.Owned || !Qualifies(candidate, policy, _deploymentRequests[deployment]))
            {
                continue;
            }

            if (!ReferenceEquals(BestCandidate(deployment, policy), candidate))
            {
                continue; // Another candidate of this deployment carries more; it is the one that may open.
            }

            var requests = candidate.Requests.Requests;
            if (_activeByDeployment.TryGetValue(deployment, out var active))
            {
                var activeRequests = CanaryRequests(active);
                if (active.StartedBy != AutoActor || requests < _options.AutoStartSupersedeRatio * Math.Max(1, activeRequests))
                {
                    continue;
                }

                Supersede(active, $"superseded by version {candidate.Key.Version}, which carries {requests} requests in the window against {activeRequests}", nowMicros);
            }

            // The controller may have shifted traffic before the gate opened: the gate's weight is what it observes.
            Open(deployment, baseline.Key.Version, candidate.Key.Version, policy, nowMicros, AutoActor, null).WeighFromTraffic();
            _candidates.RemoveAt(i--);
        }
    }

    private bool Qualifies(Series candidate, PolicyDefinition policy, long deploymentRequests)
    {
        var opening = policy.Opening;
        var minRequests = opening?.MinRequests ?? _options.AutoStartMinRequests;
        var minShare = opening?.MinShare ?? _options.AutoStartMinShare;
        var requests = candidate.Requests.Requests;
        return requests >= minRequests && requests >= minShare * deploymentRequests;
    }

    private Series? BestCandidate(string deployment, PolicyDefinition policy)
    {
        Series? best = null;
        foreach (var other in _candidates)
        {
            if (other.IsLive && other.Key.Deployment == deployment && Qualifies(other, policy, _deploymentRequests[deployment])
                && !_gates.ContainsKey(Gate.IdFor(deployment, other.Key.Version)) && BaselineFor(other) is not null
                && (best is null || other.Requests.Requests > best.Requests.Requests))
            {
                best = other;
            }
        }

        return best;
    }

    // Baseline: the version of the deployment that has carried the most traffic so far. Null when that is the candidate
    // itself (or it is alone): then the candidate is the stable version, not a canary.
    private Series? BaselineFor(Series candidate)
    {
        Series? baseline = null;
        foreach (var other in _shard.AllSeries)
        {
            if (!ReferenceEquals(other, candidate) && other.Key.Deployment == candidate.Key.Deployment
                && (baseline is null || other.Requests.LifetimeRequests > baseline.Requests.LifetimeRequests
                    || (other.Requests.LifetimeRequests == baseline.Requests.LifetimeRequests && other.CreationOrder < baseline.CreationOrder)))
            {
                baseline = other;
            }
        }

        return baseline is not null && (baseline.Requests.LifetimeRequests > candidate.Requests.LifetimeRequests
            || (baseline.Requests.LifetimeRequests == candidate.Requests.LifetimeRequests && baseline.CreationOrder < candidate.CreationOrder))
            ? baseline
            : null;
    }

    private long CanaryRequests(Gate gate)
    {
        foreach (var series in _shard.AllSeries)
        {
            if (series.Key.Deployment == gate.Deployment && series.Key.Version == gate.CanaryVersion)
            {
                return series.Requests.Requests;
            }
        }

        return 0;
    }

    // Rolls an automatically started gate back with a decision that says what replaced it; null when it could not be.
    private GateDecision? Supersede(Gate gate, string reason, long nowMicros) =>
        Override(new OverrideCommand(gate.Id, OverrideKind.Rollback, AutoActor, reason), nowMicros).Decision;

    private void ApplyReload(PolicySet policies)
    {
        _policiesSeen = policies;
        foreach (var gate in _gates.Values)
        {
            if (!gate.IsFinished && policies.ByName(gate.Policy.Name) is { } reloaded)
            {
                gate.ApplyPolicy(reloaded);
            }
        }
    }

    private void Retire(long nowMicros)
    {
        var retention = EventTime.FromTimeSpan(_options.FinishedRetention);
        for (var i = _finished.Count - 1; i >= 0; i--)
        {
            var gate = _finished[i];
            if (nowMicros - (gate.LastDecision?.TimeMicros ?? gate.StartedMicros) > retention)
            {
                _finished.RemoveAt(i);
                _gates.Remove(gate.Id);
                gate.Release();
            }
        }
    }
}
