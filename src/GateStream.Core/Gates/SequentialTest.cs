namespace GateStream.Core.Gates;

/// <summary>
/// A mixture sequential probability ratio test (mSPRT, Robbins 1970; Johari et al., "Always valid inference",
/// 2017) for "the canary's error rate exceeds its bound", evaluated as often as we like.
/// </summary>
/// <remarks>
/// <para>
/// Statistic: with d = the canary's error rate minus the baseline's (or minus a fixed bound for an absolute
/// rule), V its estimated variance (normal approximation, smoothed rates), θ0 the allowed margin and a normal
/// mixing distribution of scale τ, the likelihood ratio is
/// Λ = sqrt(V / (V + τ²)) · exp(τ² (d − θ0)² / (2 V (V + τ²))).
/// The test rejects H0 "the canary is within its bound" when d &gt; θ0 and Λ ≥ 1/α, α = 1 − confidence.
/// The always-valid p-value is the running minimum of 1/Λ.
/// </para>
/// <para>
/// Guarantee: under H0, Λ is a non-negative martingale with mean 1, so by Ville's inequality the probability
/// that it ever reaches 1/α — at any of arbitrarily many looks, over the whole rollout — is at most α. That is
/// what makes continuous evaluation (four looks a second) safe where a fixed-sample test would fire by chance.
/// The guarantee is exact for Gaussian data with known variance and holds approximately for counts of a few
/// hundred requests or more (normal approximation, plug-in variance); the rule's minSamples keeps it there.
/// Counts are cumulative since the rollout started: the martingale needs the whole sample path.
/// </para>
/// </remarks>
public static class SequentialTest
{
    /// <summary>Smallest mixing scale: detects shifts of about this size quickly. Tuned for error rates.</summary>
    public const double MinimumTau = 0.01;

    /// <summary>1/Λ for two samples (canary vs baseline) and a margin θ0 on the difference of rates.</summary>
    public static double TwoSamplePValue(long canaryErrors, long canaryRequests, long baselineErrors, long baselineRequests, double margin)
    {
        if (canaryRequests <= 0 || baselineRequests <= 0)
        {
            return 1;
        }

        var (pc, vc) = RateAndVariance(canaryErrors, canaryRequests);
        var (pb, vb) = RateAndVariance(baselineErrors, baselineRequests);
        return PValue(((double)canaryErrors / canaryRequests) - ((double)baselineErrors / baselineRequests), vc + vb, margin, Math.Max(pc, pb));
    }

    /// <summary>1/Λ for one sample against a fixed bound on the error rate.</summary>
    public static double OneSamplePValue(long errors, long requests, double bound)
    {
        if (requests <= 0)
        {
            return 1;
        }

        var (p, v) = RateAndVariance(errors, requests);
        // The variance under H0 is at least that of a rate at the bound.
        v = Math.Max(v, bound * (1 - bound) / requests);
        return PValue(((double)errors / requests) - bound, v, 0, Math.Max(p, bound));
    }

    private static double PValue(double difference, double variance, double margin, double scale)
    {
        if (difference <= margin || variance <= 0)
        {
            return 1;
        }

        var tau = Math.Max(MinimumTau, Math.Max(Math.Abs(margin), scale));
        var tau2 = tau * tau;
        var shift = difference - margin;
        var logLambda = (0.5 * Math.Log(variance / (variance + tau2))) + (tau2 * shift * shift / (2 * variance * (variance + tau2)));
        return logLambda <= 0 ? 1 : Math.Exp(-logLambda);
    }

    private static (double Rate, double Variance) RateAndVariance(long errors, long requests)
    {
        // Smoothed so a window with no errors yet does not claim zero variance.
        var p = (errors + 0.5) / (requests + 1.0);
        return (p, p * (1 - p) / requests);
    }
}
