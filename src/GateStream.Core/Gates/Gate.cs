using GateStream.Core.Events;
using GateStream.Core.Policies;
using GateStream.Core.Time;

namespace GateStream.Core.Gates;

/// <summary>
/// One canary rollout under a policy: its phase, its traffic weight, the state of each rule, and the
/// decisions it has taken. Evaluated on the shard that owns the deployment.
/// </summary>
/// <remarks>Single writer: the owning shard thread (or the replay loop). Read through <see cref="View"/> elsewhere.</remarks>
public sealed partial class Gate
{
    private readonly SeriesKeyBuffer _canaryKey = new();
    private readonly SeriesKeyBuffer _baselineKey = new();
    private RuleState[] _rules;
    private CountHistory _canaryHistory;
    private CountHistory _baselineHistory;
    private Series? _canary;
    private Series? _baseline;
    private long _canaryStartRequests;
    private long _canaryStartErrors;
    private long _baselineStartRequests;
    private long _baselineStartErrors;

    internal Gate(string deployment, string baselineVersion, string canaryVersion, PolicyDefinition policy, long startedMicros, string startedBy, int? initialWeight, TimeSpan historyResolution)
    {
        Deployment = deployment;
        BaselineVersion = baselineVersion;
        CanaryVersion = canaryVersion;
        Id = IdFor(deployment, canaryVersion);
        Policy = policy;
        StartedMicros = startedMicros;
        StartedBy = startedBy;
        _historyResolution = historyResolution;
        _canaryKey.Set(deployment, canaryVersion);
        _baselineKey.Set(deployment, baselineVersion);
        _rules = policy.Rules.Select(r => new RuleState(r)).ToArray();
        (_canaryHistory, _baselineHistory) = NewHistories(policy);
        Phase = GatePhase.Progressing;
        Weight = initialWeight ?? DefaultInitialWeight(policy);
        LastStepMicros = startedMicros;
        _lastCanaryRequestMicros = startedMicros;
        NextCheckMicros = policy.Flagger is { } flagger ? startedMicros + EventTime.FromTimeSpan(flagger.Interval) : long.MaxValue;
    }

    private readonly TimeSpan _historyResolution;
    private long _lastCanaryRequestMicros;
    private long _canaryRequestsSeen;
    private long _lastEvaluatedMicros;

    /// <summary>Gate ids are "deployment/canaryVersion": one gate per canary version of a deployment.</summary>
    public string Id { get; }

    public string Deployment { get; }

    public string BaselineVersion { get; }

    public string CanaryVersion { get; }

    public PolicyDefinition Policy { get; private set; }

    public GatePhase Phase { get; private set; }

    /// <summary>The canary's traffic weight, 0..100.</summary>
    public int Weight { get; private set; }

    public long StartedMicros { get; }

    public string StartedBy { get; }

    public long LastStepMicros { get; private set; }

    /// <summary>Flagger form: failed checks so far (rollback at the policy's threshold).</summary>
    public int FailedChecks { get; private set; }

    public long NextCheckMicros { get; private set; }

    public GateDecision? LastDecision { get; private set; }

    public bool IsFinished => Phase is GatePhase.Succeeded or GatePhase.RolledBack;

    public bool IsShadow => Policy.Mode == PolicyMode.Shadow;

    /// <summary>The actor of gates the book opens by itself when a new version shows up.</summary>
    public const string AutoStarter = "auto";

    public static string IdFor(string deployment, string canaryVersion) => $"{deployment}/{canaryVersion}";

    private static int DefaultInitialWeight(PolicyDefinition policy) =>
        policy.Form == PolicyForm.Flagger ? 0 : policy.Progression.InitialWeight > 0
            ? policy.Progression.InitialWeight
            : policy.Progression.NextAnalysisWeight(0) ?? 100;

    /// <summary>
    /// The gate opened by itself, so no controller declared a weight: until its first decision is published, the weight
    /// is set from the canary's observed share (<see cref="WeightFromShare"/>) at the first evaluation with traffic and
    /// then once per history resolution (5 s by default: the share moves no faster, and ten thousand waiting gates stay
    /// cheap on the tick). From the first decision on, the weight moves only by decisions.
    /// </summary>
    /// <remarks>Blue/green and A/B analyses keep weight 0 until promotion: the canary's traffic is not weighted.</remarks>
    internal void WeighFromTraffic() => _weightFromTraffic = Policy.Flagger is not { UsesIterations: true };

    private bool _weightFromTraffic;
    private long _shareAdoptedMicros = long.MinValue / 2;

    private void AdoptObservedShare(long nowMicros)
    {
        if (nowMicros - _shareAdoptedMicros < EventTime.FromTimeSpan(_historyResolution) || ObservedShare is not { } share)
        {
            return;
        }

        Weight = WeightFromShare(share, Policy.Progression);
        _shareAdoptedMicros = nowMicros;
    }

    /// <summary>
    /// Percentage points within which an observed share is taken to be a weight of the policy's progression (a multiple
    /// of stepWeight up to maxWeight, or a stepWeights entry): the share of a few hundred requests is that noisy.
    /// </summary>
    public const double ShareSnapPoints = 2.5;

    /// <summary>
    /// The weight a gate that opened by itself starts from, given the canary's observed traffic share (percent): the
    /// nearest weight of the progression when one is within <see cref="ShareSnapPoints"/>, else the share rounded to a
    /// whole percent; always 1..99 (the canary serves traffic, and is not promoted yet). Progression continues from it
    /// by the policy's usual arithmetic (plus stepWeight, or the next stepWeights entry above it).
    /// </summary>
    public static int WeightFromShare(double sharePercent, ProgressionSpec progression)
    {
        ArgumentNullException.ThrowIfNull(progression);
        var nearest = -1;
        var distance = double.MaxValue;
        void Consider(int weight)
        {
            if (Math.Abs(sharePercent - weight) < distance)
            {
                (nearest, distance) = (weight, Math.Abs(sharePercent - weight));
            }
        }

        if (progression.StepWeights.Count > 0)
        {
            foreach (var weight in progression.StepWeights)
            {
                Consider(weight);
            }
        }
        else if (progression.StepWeight > 0)
        {
            for (var weight = progression.StepWeight; weight < progression.MaxWeight + progression.StepWeight; weight += progression.StepWeight)
            {
                Consider(Math.Min(weight, progression.MaxWeight));
            }
        }

        var chosen = distance <= ShareSnapPoints ? nearest : (int)Math.Round(sharePercent, MidpointRounding.AwayFromZero);
        return Math.Clamp(chosen, 1, 99);
    }

    private (CountHistory Canary, CountHistory Baseline) NewHistories(PolicyDefinition policy)
    {
        var horizon = policy.LongestWindow + _historyResolution;
        return (new CountHistory(horizon, _historyResolution), new CountHistory(horizon, _historyResolution));
    }

    /// <summary>A consistent copy of the gate's state for readers on other threads.</summary>
    public GateView View(DeploymentOwnership ownership = DeploymentOwnership.Owned) => new(
        Id, Deployment, BaselineVersion, CanaryVersion, Policy.Name, Policy.Revision, Policy.Mode, Phase, Weight,
        StartedMicros, StartedBy, LastDecision?.Sequence ?? 0, LastDecision?.TimeMicros ?? 0,
        [.. _rules.Where(r => r.IsFiring).Select(r => r.Spec.Name)],
        [.. _rules.Where(r => r.SuppressedUntilMicros != long.MinValue).Select(r => new SuppressionView(r.Spec.Name, r.SuppressedUntilMicros, r.SuppressedBy ?? ""))],
        FailedChecks,
        ownership,
        ObservedShare);

    /// <summary>Swaps in a reloaded revision of the gate's policy, keeping the state of rules that kept their names.</summary>
    internal void ApplyPolicy(PolicyDefinition policy)
    {
        if (ReferenceEquals(policy, Policy) || policy.Revision == Policy.Revision)
        {
            return;
        }

        var old = _rules.ToDictionary(r => r.Spec.Name, StringComparer.Ordinal);
        _rules = policy.Rules.Select(spec =>
        {
            if (old.TryGetValue(spec.Name, out var state))
            {
                state.Spec = spec;
                return state;
            }

            return new RuleState(spec);
        }).ToArray();
        if (policy.LongestWindow != Policy.LongestWindow)
        {
            (_canaryHistory, _baselineHistory) = NewHistories(policy);
        }

        Policy = policy;
        _checksum = null;
        ReloadWebhooks(policy);
    }

    /// <summary>Finds the canary and baseline series once they exist; gates pin them against idle eviction.</summary>
    private void ResolveSeries(Ingest.Shard shard)
    {
        if (_canary is null && shard.Find(_canaryKey) is { } canary)
        {
            _canary = canary;
            canary.Pin();
            if (canary.CreatedMicros < StartedMicros)
            {
                _canaryStartRequests = canary.Requests.LifetimeRequests;
                _canaryStartErrors = canary.Requests.LifetimeErrors;
            }
        }

        if (_baseline is null && shard.Find(_baselineKey) is { } baseline)
        {
            _baseline = baseline;
            baseline.Pin();
            if (baseline.CreatedMicros < StartedMicros)
            {
                _baselineStartRequests = baseline.Requests.LifetimeRequests;
                _baselineStartErrors = baseline.Requests.LifetimeErrors;
            }
        }
    }

    /// <summary>
    /// The canary's share of the deployment's requests (canary + baseline) over the last minute, in percent: the
    /// weight the controller really applies, set beside the decided weight in every decision and view. For a gate
    /// that started itself (no controller declared a weight) it is the estimate of the controller's weight.
    /// Null without traffic.
    /// </summary>
    public double? ObservedShare
    {
        get
        {
            var (canary, total) = ShareCounts();
            return total == 0 ? null : 100.0 * canary / total;
        }
    }

    /// <summary>Canary and total requests over the share window. Both histories are sampled at the same ticks, so they cover the same span.</summary>
    private (long Canary, long Total) ShareCounts()
    {
        var (canary, _, _) = _canaryHistory.Over(_lastEvaluatedMicros, ShareWindowMicros);
        var (baseline, _, _) = _baselineHistory.Over(_lastEvaluatedMicros, ShareWindowMicros);
        return (canary, canary + baseline);
    }

    private const long ShareWindowMicros = 60 * EventTime.MicrosPerSecond;

    private string FormatShare() => ObservedShare is { } share ? share.ToString("0.#", System.Globalization.CultureInfo.InvariantCulture) + "%" : "unknown (no traffic)";

    /// <summary>Lets go of the series (the gate finished and left the book).</summary>
    internal void Release()
    {
        _canary?.Unpin();
        _baseline?.Unpin();
        _canary = null;
        _baseline = null;
    }
}

/// <summary>A suppressed rule as shown to readers.</summary>
public sealed record SuppressionView(string Rule, long UntilMicros, string Actor);

/// <summary>An immutable copy of a gate's state.</summary>
public sealed record GateView(
    string Id,
    string Deployment,
    string BaselineVersion,
    string CanaryVersion,
    string Policy,
    string PolicyRevision,
    PolicyMode Mode,
    GatePhase Phase,
    int Weight,
    long StartedMicros,
    string StartedBy,
    ulong LastDecisionSequence,
    long LastDecisionTimeMicros,
    IReadOnlyList<string> FiringRules,
    IReadOnlyList<SuppressionView> Suppressions,
    int FailedChecks,
    DeploymentOwnership Ownership = DeploymentOwnership.Owned,
    double? ObservedShare = null);
