namespace GateStream.Core.Gates;

/// <summary>
/// Change-point detection on the canary's error indicator: a Shiryaev–Roberts procedure on the Bernoulli
/// likelihood ratio of "error rate p1" against "error rate p0" (the rule's bound), evaluated at every look.
/// </summary>
/// <remarks>
/// <para>
/// Each look (at most one per <see cref="LookMicros"/>) takes the canary's requests n and errors e since the
/// previous look and forms the likelihood ratio of the group, Λ = (p1/p0)^e · ((1−p1)/(1−p0))^(n−e). The
/// Shiryaev–Roberts statistic is R_k = (1 + R_{k−1}) · Λ_k, R_0 = 0: the sum, over every possible start of the
/// fault, of the likelihood ratio "the fault started then" against "no fault". The rule fires while R ≥ A with
/// A = <see cref="LooksPerHorizon"/> / (1 − confidence).
/// </para>
/// <para>
/// Guarantee: when the canary's true error rate is at or below the bound, E[Λ] ≤ 1 for every group (Λ's mean is
/// increasing in the true rate and equals 1 at p0), so R_k + (N − k) is a non-negative supermartingale for
/// k ≤ N. Ville's inequality gives P(R_k ≥ A for some k ≤ N) ≤ N / A. With N = <see cref="LooksPerHorizon"/>
/// (one hour of looks), a healthy canary — at its bound or better — fires by chance with probability at most
/// 1 − confidence per hour of continuous looking, however often the gate is evaluated. The bound holds exactly for
/// absolute bounds (independent requests); for bounds relative to the baseline, p0 is the baseline's rate plus the
/// margin, estimated with two standard errors of slack, so the guarantee holds to the extent that estimate does.
/// </para>
/// <para>
/// Speed: R forgets healthy history (it stays near 0 while the canary is well below its bound), so a fault is
/// detected after about ln(A) / KL(p || p0) requests from its start, whenever it starts: at 4% errors against a
/// 2% bound, KL ≈ 0.0079 nats per request and ln A ≈ 14.2 at confidence 0.99, so about 1,800 requests.
/// A cumulative test would be diluted by the healthy traffic before the fault.
/// </para>
/// <para>
/// The alternative p1 is twice the bound (below 1/3; halfway to 1 above it): the shift the rule is built to
/// catch fastest. Larger shifts are caught faster still; smaller ones more slowly but still caught.
/// </para>
/// </remarks>
public static class ChangePointTest
{
    /// <summary>Shortest time between two looks. Ticks closer together add their counts to the next look.</summary>
    public const long LookMicros = 250_000;

    /// <summary>Looks in the horizon the false-alarm bound is stated over: one hour at one look per 250 ms.</summary>
    public const double LooksPerHorizon = 3_600_000_000.0 / LookMicros;

    /// <summary>Smallest bound used as p0: a bound of 0 would make a single error infinitely conclusive.</summary>
    public const double MinimumBound = 1e-6;

    /// <summary>ln A for a confidence: the statistic's alarm level.</summary>
    public static double LogThreshold(double confidence) => Math.Log(LooksPerHorizon / (1 - confidence));

    /// <summary>The alternative rate the test is tuned to detect, for a bound p0.</summary>
    public static double AlternativeRate(double bound)
    {
        var p0 = Math.Clamp(bound, MinimumBound, 1 - MinimumBound);
        return p0 < 1.0 / 3 ? 2 * p0 : p0 + ((1 - p0) / 2);
    }

    /// <summary>The log-likelihood ratio of a group of <paramref name="requests"/> with <paramref name="errors"/> errors.</summary>
    public static double LogLikelihoodRatio(long errors, long requests, double bound)
    {
        if (requests <= 0)
        {
            return 0;
        }

        var p0 = Math.Clamp(bound, MinimumBound, 1 - MinimumBound);
        var p1 = AlternativeRate(p0);
        return (errors * Math.Log(p1 / p0)) + ((requests - errors) * Math.Log((1 - p1) / (1 - p0)));
    }

    /// <summary>log R_k from log R_{k−1} and the group's log-likelihood ratio: log(1 + R) + ℓ.</summary>
    public static double NextLogStatistic(double logStatistic, double logLikelihoodRatio) =>
        Log1PlusExp(logStatistic) + logLikelihoodRatio;

    /// <summary>
    /// The level at which the test would reject now: N / R, clamped to 1. The rule fires when it is at most
    /// 1 − confidence.
    /// </summary>
    public static double Level(double logStatistic) => Math.Min(1, Math.Exp(Math.Log(LooksPerHorizon) - logStatistic));

    private static double Log1PlusExp(double x) =>
        double.IsNegativeInfinity(x) ? 0 : x > 0 ? x + Math.Log(1 + Math.Exp(-x)) : Math.Log(1 + Math.Exp(x));
}

/// <summary>
/// One rule's change detector: the Shiryaev–Roberts statistic (<see cref="ChangePointTest"/>), and a CUSUM beside it
/// whose last reset estimates when the change started, so evidence can show the error rate since then.
/// </summary>
/// <remarks>Single writer: the gate's shard thread. Allocated once per rule; no allocation per look.</remarks>
internal sealed class ChangeDetector
{
    private long _lastLookMicros = long.MinValue;
    private long _seenRequests;
    private long _seenErrors;
    private double _cusum;

    /// <summary>log R; negative infinity before any evidence.</summary>
    public double LogStatistic { get; private set; } = double.NegativeInfinity;

    /// <summary>Estimated start of the change (when the CUSUM last left 0), or -1 while it is at 0.</summary>
    public long ChangeSinceMicros { get; private set; } = -1;

    public long RequestsSinceChange { get; private set; }

    public long ErrorsSinceChange { get; private set; }

    /// <summary>Looks taken (groups with at least one request).</summary>
    public long Looks { get; private set; }

    /// <summary>
    /// Takes a look at <paramref name="nowMicros"/> with the canary's cumulative counts and the current bound p0.
    /// Returns false when it is too soon after the previous look (the counts wait for the next one).
    /// </summary>
    public bool Observe(long nowMicros, long cumulativeRequests, long cumulativeErrors, double bound)
    {
        if (_lastLookMicros != long.MinValue && nowMicros - _lastLookMicros < ChangePointTest.LookMicros)
        {
            return false;
        }

        var previousLook = _lastLookMicros == long.MinValue ? nowMicros - ChangePointTest.LookMicros : _lastLookMicros;
        _lastLookMicros = nowMicros;
        var requests = cumulativeRequests - _seenRequests;
        var errors = cumulativeErrors - _seenErrors;
        _seenRequests = cumulativeRequests;
        _seenErrors = cumulativeErrors;
        if (requests <= 0)
        {
            return true;
        }

        Looks++;
        var llr = ChangePointTest.LogLikelihoodRatio(errors, requests, bound);
        LogStatistic = ChangePointTest.NextLogStatistic(LogStatistic, llr);
        var cusum = _cusum + llr;
        if (cusum <= 0)
        {
            _cusum = 0;
            ChangeSinceMicros = -1;
            RequestsSinceChange = 0;
            ErrorsSinceChange = 0;
        }
        else
        {
            if (_cusum == 0)
            {
                ChangeSinceMicros = previousLook;
                RequestsSinceChange = 0;
                ErrorsSinceChange = 0;
            }

            _cusum = cusum;
            RequestsSinceChange += requests;
            ErrorsSinceChange += errors;
        }

        return true;
    }

    /// <summary>Starts over (a resume): the counts seen so far are not evidence any more.</summary>
    public void Reset()
    {
        LogStatistic = double.NegativeInfinity;
        _cusum = 0;
        ChangeSinceMicros = -1;
        RequestsSinceChange = 0;
        ErrorsSinceChange = 0;
    }
}
