using System.Globalization;

namespace GateStream.Testing;

/// <summary>Reads samples out of the Prometheus text the daemon serves at /metrics.</summary>
public static class MetricsText
{
    /// <summary>The value of the sample <paramref name="series"/> (name and labels as /metrics writes them); null when absent.</summary>
    public static double? Value(string exposition, string series)
    {
        ArgumentNullException.ThrowIfNull(exposition);
        ArgumentNullException.ThrowIfNull(series);
        foreach (var line in exposition.Split('\n'))
        {
            if (line.StartsWith(series, StringComparison.Ordinal) && line.Length > series.Length && line[series.Length] == ' ')
            {
                return double.Parse(line.AsSpan(series.Length + 1), CultureInfo.InvariantCulture);
            }
        }

        return null;
    }
}
