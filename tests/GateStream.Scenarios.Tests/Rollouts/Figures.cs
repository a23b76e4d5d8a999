using System.Globalization;

namespace GateStream.Scenarios.Tests.Rollouts;

/// <summary>Summary statistics of scenario runs, with the confidence intervals the README quotes.</summary>
internal static class Figures
{
    /// <summary>
    /// Runs per scenario: 1,000 with <c>GATESTREAM_SCENARIO_RUNS=1000</c> (what the README quotes), 100 by default so
    /// the suite stays within its CI budget.
    /// </summary>
    public static int Runs { get; } =
        int.TryParse(Environment.GetEnvironmentVariable("GATESTREAM_SCENARIO_RUNS"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 100;

    /// <summary>The q-quantile of the sorted values (nearest rank), NaN when empty.</summary>
    public static double Quantile(IReadOnlyList<double> sorted, double q) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];

    /// <summary>95% confidence interval of the median by order statistics (normal approximation of the binomial).</summary>
    public static (double Low, double High) MedianInterval(IReadOnlyList<double> sorted)
    {
        var n = sorted.Count;
        var half = 1.96 * Math.Sqrt(n) / 2;
        var lo = (int)Math.Floor((n / 2.0) - half);
        var hi = (int)Math.Ceiling((n / 2.0) + half);
        return (sorted[Math.Clamp(lo, 0, n - 1)], sorted[Math.Clamp(hi, 0, n - 1)]);
    }

    /// <summary>Wilson 95% interval of a proportion k / n.</summary>
    public static (double Low, double High) Wilson(int k, int n)
    {
        const double z = 1.96;
        var p = (double)k / n;
        var centre = (p + (z * z / (2 * n))) / (1 + (z * z / n));
        var half = z * Math.Sqrt((p * (1 - p) / n) + (z * z / (4.0 * n * n))) / (1 + (z * z / n));
        return (Math.Max(0, centre - half), Math.Min(1, centre + half));
    }

    public static string Seconds(double s) => double.IsNaN(s) ? "-" : s.ToString("0.0", CultureInfo.InvariantCulture) + " s";

    public static string Percent(double p) => (p * 100).ToString("0.0#", CultureInfo.InvariantCulture) + "%";
}
