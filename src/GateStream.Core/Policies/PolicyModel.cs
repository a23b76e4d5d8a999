using System.Globalization;
using System.IO.Enumeration;

namespace GateStream.Core.Policies;

/// <summary>What a firing rule does. Ordered by severity: the most severe firing action wins.</summary>
public enum GateAction
{
    None = 0,

    /// <summary>Stay live, stop promotion; released automatically once the condition has been clear for <c>releaseAfter</c>.</summary>
    Hold = 1,

    /// <summary>Stay live, stop promotion; a person must resume.</summary>
    Pause = 2,

    /// <summary>Send all traffic back to the baseline; final for this canary unless an operator resumes.</summary>
    Rollback = 3,
}

public enum ObjectType
{
    Application,
    DatabaseMigration,
    Infrastructure,
}

public enum PolicyMode
{
    Enforce,

    /// <summary>Evaluate and record decisions marked as shadow, which controllers ignore by default.</summary>
    Shadow,
}

/// <summary>Which file format a policy came from; it decides the progression semantics.</summary>
public enum PolicyForm
{
    /// <summary><c>gatestream.io/v1 GatePolicy</c>: rules evaluated every tick, layered actions.</summary>
    Native,

    /// <summary><c>flagger.app/v1beta1 Canary</c>: one check per analysis interval, failed checks counted to a threshold.</summary>
    Flagger,
}

public enum SignalKind
{
    /// <summary>Errors / requests, a ratio 0..1.</summary>
    ErrorRate,

    /// <summary>Non-errors / requests in percent 0..100 (Flagger's request-success-rate).</summary>
    SuccessRate,

    /// <summary>Latency at a quantile, in milliseconds.</summary>
    Latency,

    /// <summary>Requests per second.</summary>
    Throughput,

    /// <summary>
    /// How far the canary's throughput falls short of what its traffic weight predicts from the baseline's,
    /// as a fraction 0..1: <c>1 - canaryRps / (baselineRps * w / (100 - w))</c>.
    /// </summary>
    ThroughputDrop,

    /// <summary>A named metric signal (gauge or sum samples) with an aggregation.</summary>
    Metric,
}

public enum MetricAggregation
{
    Last,
    Min,
    Max,
    Mean,
    Rate,
    Sum,
}

/// <summary>What a rule measures.</summary>
public sealed record SignalSpec(SignalKind Kind, double Quantile = 0, string? Metric = null, MetricAggregation Aggregation = MetricAggregation.Last)
{
    public static SignalSpec ErrorRate { get; } = new(SignalKind.ErrorRate);

    public static SignalSpec SuccessRate { get; } = new(SignalKind.SuccessRate);

    public static SignalSpec Throughput { get; } = new(SignalKind.Throughput);

    public static SignalSpec ThroughputDrop { get; } = new(SignalKind.ThroughputDrop);

    public static SignalSpec LatencyAt(double quantile) => new(SignalKind.Latency, quantile);

    public static SignalSpec MetricOf(string name, MetricAggregation aggregation) => new(SignalKind.Metric, 0, name, aggregation);

    /// <summary>Whether the signal is computed from request counts (so minSamples counts requests).</summary>
    public bool IsRequestSignal => Kind is not SignalKind.Metric;

    /// <summary>The name used in evidence and policy files: <c>error-rate</c>, <c>latency-p99</c>, <c>metric:lag(max)</c>.</summary>
    public override string ToString() => Kind switch
    {
        SignalKind.ErrorRate => "error-rate",
        SignalKind.SuccessRate => "success-rate",
        SignalKind.Latency => "latency-p" + (Quantile * 100).ToString("0.###", CultureInfo.InvariantCulture),
        SignalKind.Throughput => "throughput",
        SignalKind.ThroughputDrop => "throughput-drop",
        _ => $"metric:{Metric}({Aggregation.ToString().ToLowerInvariant()})",
    };

    /// <summary>The unit of the signal's values, for evidence.</summary>
    public string Unit => Kind switch
    {
        SignalKind.ErrorRate or SignalKind.ThroughputDrop => "ratio",
        SignalKind.SuccessRate => "percent",
        SignalKind.Latency => "ms",
        SignalKind.Throughput => "req/s",
        _ => "",
    };
}

public enum ComparisonKind
{
    /// <summary>The observed value against fixed bounds.</summary>
    Absolute,

    /// <summary>The observed value minus the baseline's: <c>Max</c> is the allowed increase, <c>Min</c> the allowed decrease.</summary>
    BaselineDifference,

    /// <summary>The observed value over the baseline's: fires above <c>baseline * Max</c> or below <c>baseline * Min</c>.</summary>
    BaselineRatio,
}

/// <summary>A rule's bounds. A rule fires when the observed value is above <see cref="Max"/> or below <see cref="Min"/> (after the comparison).</summary>
public sealed record ThresholdSpec(ComparisonKind Comparison, double? Min, double? Max)
{
    public bool IsRelative => Comparison != ComparisonKind.Absolute;

    /// <summary>The effective bounds given the baseline's value (for relative comparisons).</summary>
    public (double? Min, double? Max) Resolve(double baseline) => Comparison switch
    {
        ComparisonKind.BaselineDifference => (baseline - Min, baseline + Max),
        ComparisonKind.BaselineRatio => (baseline * Min, baseline * Max),
        _ => (Min, Max),
    };

    public string Describe() => Comparison switch
    {
        ComparisonKind.BaselineDifference => Join(Min is { } lo ? $"no more than {Fmt(lo)} below baseline" : null, Max is { } hi ? $"no more than {Fmt(hi)} above baseline" : null),
        ComparisonKind.BaselineRatio => Join(Min is { } lo ? $"at least {Fmt(lo)}x baseline" : null, Max is { } hi ? $"at most {Fmt(hi)}x baseline" : null),
        _ => Join(Min is { } lo ? $">= {Fmt(lo)}" : null, Max is { } hi ? $"<= {Fmt(hi)}" : null),
    };

    private static string Join(string? a, string? b) => a is null ? b ?? "" : b is null ? a : $"{a} and {b}";

    internal static string Fmt(double v) => v.ToString("0.######", CultureInfo.InvariantCulture);
}

/// <summary>
/// An error-budget rule: with an SLO of <see cref="Slo"/> over <see cref="Period"/>, fire when the canary has
/// consumed more than <see cref="MaxConsumed"/> of the period's budget within <see cref="Within"/> of the rollout's start.
/// Consumed fraction = (errors / requests since start) / (1 - SLO) * elapsed / period: the canary's burn rate
/// times the share of the period that has elapsed.
/// </summary>
public sealed record ErrorBudgetSpec(double Slo, TimeSpan Period, double MaxConsumed, TimeSpan Within);

/// <summary>A multi-window burn-rate pair: fire when the burn rate over both windows exceeds <see cref="Factor"/>.</summary>
public sealed record BurnRateWindow(TimeSpan LongWindow, TimeSpan ShortWindow, double Factor);

/// <summary>Burn-rate alerting on an SLO: any pair of windows whose both burn rates exceed their factor fires.</summary>
public sealed record BurnRateSpec(double Slo, IReadOnlyList<BurnRateWindow> Windows);

/// <summary>Where a policy element was written, for error messages and evidence.</summary>
public sealed record SourceLocation(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>One rule of a policy.</summary>
public sealed record RuleSpec
{
    public required string Name { get; init; }

    public required SignalSpec Signal { get; init; }

    /// <summary>Bounds on the signal; null for error-budget and burn-rate rules.</summary>
    public ThresholdSpec? Threshold { get; init; }

    public ErrorBudgetSpec? ErrorBudget { get; init; }

    public BurnRateSpec? BurnRate { get; init; }

    public GateAction Action { get; init; } = GateAction.Hold;

    /// <summary>Below this many samples in the window the rule is "insufficient evidence": neither passing nor failing.</summary>
    public long MinSamples { get; init; } = 100;

    /// <summary>The condition must hold this long before the rule fires.</summary>
    public TimeSpan For { get; init; } = TimeSpan.Zero;

    /// <summary>The window the signal is computed over. Default 60 s.</summary>
    public TimeSpan Window { get; init; } = Defaults.WindowLength;

    /// <summary>
    /// When set (e.g. 0.99), the rule fires when a change detector on the canary's error indicator
    /// (<c>Gates.ChangePointTest</c>: Shiryaev–Roberts against the bound) says the rate has risen above the bound;
    /// a canary at or within its bound fires by chance with probability at most 1 - confidence per hour of
    /// continuous evaluation. Error and success rate signals only.
    /// </summary>
    public double? Confidence { get; init; }

    public SourceLocation? Location { get; init; }

    /// <summary>Set when the signal's value is a metrics provider's query result (Flagger <c>templateRef</c>).</summary>
    public MetricQuerySpec? Query { get; init; }
}

/// <summary>
/// Where a Flagger metric's value comes from when it is a query against a metrics provider (a <c>MetricTemplate</c>
/// through <c>templateRef</c>): the daemon runs <see cref="Query"/> once per analysis interval and hands the result to
/// the rule as a metric sample of the canary. A rule with a query counts only a result taken for the current check.
/// </summary>
public sealed record MetricQuerySpec
{
    /// <summary>The template's <c>namespace/name</c> (the namespace as resolved: the reference's, else the Canary's).</summary>
    public required string Template { get; init; }

    /// <summary>The query with Flagger's variables rendered and runs of white space collapsed, as Flagger sends it; empty until resolved.</summary>
    public string Query { get; init; } = "";

    /// <summary>The provider it runs against; null until the loader resolved the template.</summary>
    public MetricProviderSpec? Provider { get; init; }

    /// <summary>The metric's <c>templateVariables</c>, rendered as <c>{{ variables.NAME }}</c>.</summary>
    public IReadOnlyDictionary<string, string> Variables { get; init; } = new Dictionary<string, string>();

    /// <summary>The metric's <c>interval</c> as written (Flagger's default <c>1m</c>), rendered as <c>{{ interval }}</c>.</summary>
    public string Interval { get; init; } = "1m";
}

/// <summary>A <c>MetricTemplate</c>'s provider. Credentials are never held here: only the name of the secret that has them.</summary>
public sealed record MetricProviderSpec(string Type, string Address, bool InsecureSkipVerify, string? SecretName, string SecretNamespace)
{
    /// <summary>Request headers sent with every query (<c>spec.provider.headers</c>).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Headers { get; init; } = new Dictionary<string, IReadOnlyList<string>>();
}

/// <summary>
/// The real traffic a new version must show before it opens a gate by itself (a controller's StartRollout needs none):
/// at least <see cref="MinRequests"/> requests and <see cref="MinShare"/> of its deployment's requests in the window.
/// A null field takes the engine's default.
/// </summary>
public sealed record GateOpeningSpec
{
    public const long DefaultMinRequests = 100;

    public const double DefaultMinShare = 0.01;

    public long? MinRequests { get; init; }

    public double? MinShare { get; init; }
}

/// <summary>How the canary's traffic weight advances.</summary>
public sealed record ProgressionSpec
{
    public int StepWeight { get; init; } = 10;

    public int MaxWeight { get; init; } = 50;

    /// <summary>Every rule must have passed (with enough samples) for this long before the next step.</summary>
    public TimeSpan StepInterval { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>An explicit weight schedule (Flagger <c>stepWeights</c>); when set it replaces stepWeight/maxWeight.</summary>
    public IReadOnlyList<int> StepWeights { get; init; } = [];

    /// <summary>
    /// After the last weight, promotion goes to 100 in steps of this size (Flagger <c>stepWeightPromotion</c>);
    /// 0 = straight to 100.
    /// </summary>
    public int PromotionStepWeight { get; init; }

    /// <summary>The weight a gate starts at. Native default: the first step; Flagger: 0.</summary>
    public int InitialWeight { get; init; }

    /// <summary>The weight after <paramref name="current"/> during analysis, or null when analysis weights are exhausted.</summary>
    public int? NextAnalysisWeight(int current)
    {
        if (StepWeights.Count > 0)
        {
            foreach (var w in StepWeights)
            {
                if (w > current)
                {
                    return w;
                }
            }

            return null;
        }

        return current >= MaxWeight ? null : Math.Min(MaxWeight, current + StepWeight);
    }

    /// <summary>The weight after <paramref name="current"/> once analysis is done: the next promotion step, or 100.</summary>
    public int NextPromotionWeight(int current) =>
        PromotionStepWeight > 0 ? Math.Min(100, current + PromotionStepWeight) : 100;
}

/// <summary>Flagger's analysis loop: one check every <see cref="Interval"/>, rollback at <see cref="Threshold"/> failed checks.</summary>
public sealed record FlaggerAnalysisSpec(TimeSpan Interval, int Threshold)
{
    /// <summary>Flagger's default <c>progressDeadlineSeconds</c>.</summary>
    public static readonly TimeSpan DefaultProgressDeadline = TimeSpan.FromSeconds(600);

    /// <summary>
    /// <c>progressDeadlineSeconds</c>: a canary that has served no request for this long is not progressing and is
    /// rolled back. Default 600 s, as in Flagger.
    /// </summary>
    public TimeSpan ProgressDeadline { get; init; } = DefaultProgressDeadline;

    /// <summary><c>skipAnalysis</c>: promote fully at the first check, without analysis.</summary>
    public bool SkipAnalysis { get; init; }

    /// <summary>
    /// <c>analysis.iterations</c>: 0 for a weighted canary; otherwise blue/green (or A/B testing with <see cref="Match"/>):
    /// the first iteration starts the canary without analysis, each passing check counts one more, and the check that
    /// passes with all iterations counted promotes fully. The weight stays 0 until then: the canary's traffic is the
    /// router's business (a load test, or the A/B match).
    /// </summary>
    public int Iterations { get; init; }

    /// <summary>
    /// A/B testing: Flagger's <c>analysis.match</c> conditions, one line each (e.g. <c>headers x-canary exact "insider"</c>).
    /// Routing information GateStream reports with the gate's evidence; the router enforces it, GateStream does not.
    /// </summary>
    public IReadOnlyList<string> Match { get; init; } = [];

    /// <summary>The Canary's <c>metadata.namespace</c>, sent in webhook payloads (Flagger's default namespace: <c>default</c>).</summary>
    public string Namespace { get; init; } = DefaultNamespace;

    public const string DefaultNamespace = "default";

    public bool UsesIterations => Iterations > 0;
}

/// <summary>When Flagger calls a webhook, and what its answer does (fluxcd/flagger <c>HookType</c>).</summary>
public enum WebhookType
{
    /// <summary>Before the canary takes traffic (first iteration); a failure is a failed check.</summary>
    PreRollout,

    /// <summary>At every check with analysis, before the metrics; a failure is a failed check.</summary>
    Rollout,

    /// <summary>Before the rollout starts; while it fails the gate waits (not a failed check).</summary>
    ConfirmRollout,

    /// <summary>Before each traffic increase of a weighted canary; while it fails the weight stays (not a failed check).</summary>
    ConfirmTrafficIncrease,

    /// <summary>Before promotion; while it fails the gate waits at its weight (not a failed check).</summary>
    ConfirmPromotion,

    /// <summary>After the gate succeeded or rolled back; the answer changes nothing.</summary>
    PostRollout,

    /// <summary>At every check: a 2xx answer rolls the canary back.</summary>
    Rollback,

    /// <summary>Told of every decision, fire and forget.</summary>
    Event,
}

/// <summary>
/// A webhook of a Flagger policy, called as Flagger calls it: POST of Flagger's payload, each attempt bounded by
/// <see cref="Timeout"/>, <see cref="Retries"/> more attempts on a connection error, 429 or 5xx (except 501).
/// </summary>
public sealed record WebhookSpec(string Name, WebhookType Type, string Url, TimeSpan Timeout, IReadOnlyDictionary<string, string> Metadata)
{
    /// <summary>Flagger's default per-attempt timeout (<c>timeout</c> unset or shorter than two characters).</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Extra attempts after the first (Flagger <c>retries</c>, default 0).</summary>
    public int Retries { get; init; }

    /// <summary>Flagger <c>disableTLS</c>: the server's certificate is not verified.</summary>
    public bool DisableTls { get; init; }

    /// <summary>The type as Flagger writes it: <c>pre-rollout</c>, <c>confirm-traffic-increase</c>...</summary>
    public string TypeName => NameOf(Type);

    public static string NameOf(WebhookType type) => type switch
    {
        WebhookType.PreRollout => "pre-rollout",
        WebhookType.Rollout => "rollout",
        WebhookType.ConfirmRollout => "confirm-rollout",
        WebhookType.ConfirmTrafficIncrease => "confirm-traffic-increase",
        WebhookType.ConfirmPromotion => "confirm-promotion",
        WebhookType.PostRollout => "post-rollout",
        WebhookType.Rollback => "rollback",
        _ => "event",
    };
}

/// <summary>A validated policy, as the engine runs it. Immutable; a reload replaces the whole object.</summary>
public sealed record PolicyDefinition
{
    public required string Name { get; init; }

    /// <summary>Content hash of the source: recorded in every decision so a reload is visible.</summary>
    public string Revision { get; init; } = "";

    public string SourcePath { get; init; } = "";

    public PolicyForm Form { get; init; } = PolicyForm.Native;

    /// <summary>Deployment name or glob (<c>*</c>, <c>?</c>) this policy gates.</summary>
    public required string Target { get; init; }

    public ObjectType ObjectType { get; init; } = ObjectType.Application;

    public PolicyMode Mode { get; init; } = PolicyMode.Enforce;

    public IReadOnlyList<RuleSpec> Rules { get; init; } = [];

    public ProgressionSpec Progression { get; init; } = new();

    /// <summary>A hold releases itself after its condition has been clear this long. Default 2 min.</summary>
    public TimeSpan ReleaseAfter { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Default for <see cref="EvidenceDeadline"/>.</summary>
    public static readonly TimeSpan DefaultEvidenceDeadline = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Native form: how long a progressing gate may go without every rule having enough samples before it takes
    /// <see cref="EvidenceDeadlineAction"/>, so a rollout never waits forever for evidence. Default 10 min.
    /// </summary>
    public TimeSpan EvidenceDeadline { get; init; } = DefaultEvidenceDeadline;

    /// <summary>What the gate does at the evidence deadline: hold, pause (default) or rollback.</summary>
    public GateAction EvidenceDeadlineAction { get; init; } = GateAction.Pause;

    /// <summary>Set for Flagger policies: check interval and failed-check threshold.</summary>
    public FlaggerAnalysisSpec? Flagger { get; init; }

    public IReadOnlyList<WebhookSpec> Webhooks { get; init; } = [];

    /// <summary>When a new version opens a gate by itself; null: the engine's defaults.</summary>
    public GateOpeningSpec? Opening { get; init; }

    public bool Matches(string deployment) =>
        IsGlob ? FileSystemName.MatchesSimpleExpression(Target, deployment, ignoreCase: false) : string.Equals(Target, deployment, StringComparison.Ordinal);

    public bool IsGlob => Target.AsSpan().IndexOfAny('*', '?') >= 0;

    /// <summary>The longest window any rule reads, for sizing history.</summary>
    public TimeSpan LongestWindow
    {
        get
        {
            var longest = Defaults.WindowLength;
            foreach (var rule in Rules)
            {
                longest = Max(longest, rule.Window);
                if (rule.BurnRate is { } burn)
                {
                    foreach (var w in burn.Windows)
                    {
                        longest = Max(longest, w.LongWindow);
                    }
                }
            }

            return longest;
        }
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}

/// <summary>The loaded policies. Immutable; the catalog swaps whole sets on reload.</summary>
public sealed class PolicySet
{
    public static PolicySet Empty { get; } = new([]);

    public PolicySet(IReadOnlyList<PolicyDefinition> policies)
    {
        Policies = policies ?? throw new ArgumentNullException(nameof(policies));
    }

    public IReadOnlyList<PolicyDefinition> Policies { get; }

    public PolicyDefinition? ByName(string name) => Policies.FirstOrDefault(p => string.Equals(p.Name, name, StringComparison.Ordinal));

    /// <summary>The policy that gates <paramref name="deployment"/>: an exact target wins over a glob, then the first by name.</summary>
    public PolicyDefinition? ForDeployment(string deployment)
    {
        PolicyDefinition? glob = null;
        foreach (var p in Policies)
        {
            if (!p.Matches(deployment))
            {
                continue;
            }

            if (!p.IsGlob)
            {
                return p;
            }

            if (glob is null || string.CompareOrdinal(p.Name, glob.Name) < 0)
            {
                glob = p;
            }
        }

        return glob;
    }
}

/// <summary>Holds the current policy set; replaced atomically by a reload, read by every shard.</summary>
public sealed class PolicyCatalog(PolicySet initial)
{
    private volatile PolicySet _current = initial;

    public PolicySet Current => _current;

    public void Replace(PolicySet policies) => _current = policies ?? throw new ArgumentNullException(nameof(policies));
}
