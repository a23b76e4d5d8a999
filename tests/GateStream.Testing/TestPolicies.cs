using System.Globalization;

namespace GateStream.Testing;

/// <summary>Policy YAML used by the daemon's and the CLI's tests.</summary>
public static class TestPolicies
{
    /// <summary>
    /// A native policy for <paramref name="target"/> with short steps (25, 50, 75, then 100 every
    /// <paramref name="stepInterval"/>) and one error-rate rule, so tests see decisions within seconds. A gate opens
    /// after <paramref name="openingMinRequests"/> requests (null: the policy default).
    /// </summary>
    public static string Fast(
        string target = "checkout",
        string stepInterval = "1s",
        string name = "fast",
        double maxErrorRate = 0.05,
        string action = "rollback",
        int minSamples = 10,
        int? openingMinRequests = 10) => $$"""
        apiVersion: gatestream.io/v1
        kind: GatePolicy
        metadata:
          name: {{name}}
        spec:
          target: "{{target}}"
          releaseAfter: 2s
        {{(openingMinRequests is { } min ? $"  opening: {{ minRequests: {min.ToString(CultureInfo.InvariantCulture)} }}\n" : "")}}  progression: { stepWeight: 25, maxWeight: 75, stepInterval: {{stepInterval}} }
          rules:
            - name: errors
              signal: error-rate
              max: {{maxErrorRate.ToString(CultureInfo.InvariantCulture)}}
              action: {{action}}
              minSamples: {{minSamples.ToString(CultureInfo.InvariantCulture)}}
        """;
}
