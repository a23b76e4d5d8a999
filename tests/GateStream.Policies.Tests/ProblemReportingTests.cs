using static GateStream.Policies.Tests.PolicyTestKit;

namespace GateStream.Policies.Tests;

public class ProblemReportingTests
{
    [Fact]
    public void A_bad_policy_reports_every_problem_with_its_line_and_column()
    {
        const string yaml = """
            apiVersion: gatestream.io/v1
            kind: GatePolicy
            metadata:
              name: broken
            spec:
              target: "api server"
              objectType: aplication
              progresion: { stepWeight: 10 }
              rules:
                - name: errors
                  signal: error-rate
                  max: 5
                  action: rollbak
                - name: errors
                  signal: latency-p99
                  baseline: { ratio: { max: 1.5 } }
                  max: 300
                  windw: 30s
                - name: budget
                  errorBudget: { slo: 99.9, maxConsumed: 0.05, within: 30m }
                  action: rollback
                - name: slow
                  signal: throughput-drop
                  baseline: { increase: 0.1 }
                  confidence: 0.99
                - name: burn
                  burnRate: { slo: 0.999, windows: [ { long: 5m, short: 1h, factor: 2000 } ] }
                - name: p95
                  signal: latency-p95
                  window: 48h
                  max: 300
            """;

        var result = PolicyLoader.LoadText(yaml, "broken.yaml");

        Assert.False(result.Success);
        Assert.Null(result.Policies);
        ErrorAt(result, At(yaml, 6, "\"api server\""), "spec.target 'api server' is not a deployment name or glob");
        ErrorAt(result, At(yaml, 7, "aplication"), "spec.objectType must be one of application, database-migration, infrastructure, got 'aplication'; did you mean 'application'?");
        ErrorAt(result, At(yaml, 8, "progresion"), "unknown key 'progresion' in spec; did you mean 'progression'?");
        ErrorAt(result, At(yaml, 12, "5"), "spec.rules[0].max 5 is out of range for error-rate");
        ErrorAt(result, At(yaml, 13, "rollbak"), "did you mean 'rollback'?");
        ErrorAt(result, At(yaml, 14, "errors"), "rule name 'errors' is already used at line 10");
        ErrorAt(result, At(yaml, 17, "300"), "has both absolute bounds (min/max) and baseline");
        ErrorAt(result, At(yaml, 18, "windw"), "unknown key 'windw' in spec.rules[1]; did you mean 'window'?");
        ErrorAt(result, At(yaml, 20, "99.9"), "spec.rules[2].errorBudget.slo must be above 0 and below 1 (0.999 = 99.9%), got 99.9; for 99.9% write 0.999");
        ErrorAt(result, At(yaml, 24, "baseline"), "spec.rules[3].baseline cannot be used with throughput-drop, which is already measured against the baseline");
        ErrorAt(result, At(yaml, 25, "0.99"), "confidence applies to error-rate and success-rate only");
        ErrorAt(result, At(yaml, 27, "1h"), "short 1h must be shorter than long 5m");
        ErrorAt(result, At(yaml, 27, "2000"), "factor 2000 can never be reached: with slo 0.999 the highest possible burn rate (every request failing) is 1000");
        ErrorAt(result, At(yaml, 30, "48h"), "spec.rules[5].window 48h is longer than the 24h maximum");
        Assert.Equal(14, result.Errors.Count);

        // Ordered by position, and printed the way compilers print.
        Assert.Equal(result.Errors.OrderBy(e => e.Line).ThenBy(e => e.Column), result.Errors);
        Assert.StartsWith("broken.yaml:6:11: error: spec.target", result.Errors[0].ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Unknown_keys_get_a_suggestion_when_one_is_close_and_the_list_otherwise()
    {
        const string yaml = """
            apiVersion: gatestream.io/v1
            kind: GatePolicy
            metadata: { name: keys, lables: { team: a } }
            spec:
              target: api
              releaseAfte: 2m
              rules:
                - name: e
                  signal: error-rate
                  Max: 0.01
                  colour: blue
            """;

        var result = PolicyLoader.LoadText(yaml, "keys.yaml");

        Assert.False(result.Success);
        ErrorAt(result, At(yaml, 3, "lables"), "unknown key 'lables' in metadata; did you mean 'labels'?");
        ErrorAt(result, At(yaml, 6, "releaseAfte"), "did you mean 'releaseAfter'?");
        ErrorAt(result, At(yaml, 10, "Max"), "unknown key 'Max' in spec.rules[0]; did you mean 'max'?");
        var colour = ErrorAt(result, At(yaml, 11, "colour"), "unknown key 'colour' in spec.rules[0]; expected one of ");
        Assert.Contains("signal", colour.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_keys_are_reported_without_hiding_later_problems()
    {
        const string yaml = """
            apiVersion: gatestream.io/v1
            kind: GatePolicy
            metadata: { name: dup }
            spec:
              target: api
              rules:
                - name: e
                  signal: error-rate
                  max: 0.01
                  max: 0.02
                  action: explode
            """;

        var result = PolicyLoader.LoadText(yaml, "dup.yaml");

        Assert.False(result.Success);
        ErrorAt(result, At(yaml, 10, "max"), "duplicate key 'max': it is already set at line 9, column 7");
        ErrorAt(result, At(yaml, 11, "explode"), "spec.rules[0].action must be one of hold, pause, rollback");
        Assert.Equal(2, result.Errors.Count);
    }

    [Fact]
    public void A_syntax_error_is_reported_and_the_documents_before_it_are_still_checked()
    {
        const string yaml = """
            apiVersion: gatestream.io/v1
            kind: GatePolicy
            metadata: { name: first }
            spec:
              target: api
              rules: [ { name: e, signal: eror-rate, max: 0.01 } ]
            ---
            apiVersion: gatestream.io/v1
            kind: GatePolicy
            metadata: { name: second
            """;

        var result = PolicyLoader.LoadText(yaml, "syntax.yaml");

        Assert.False(result.Success);
        ErrorAt(result, At(yaml, 6, "eror-rate"), "unknown signal 'eror-rate'");
        Assert.Contains(result.Errors, e => e.Line >= 10 && e.Message.StartsWith("YAML syntax error", StringComparison.Ordinal));
    }

    [Fact]
    public void Numbers_must_be_written_as_numbers()
    {
        const string yaml = """
            apiVersion: gatestream.io/v1
            kind: GatePolicy
            metadata: { name: quoted }
            spec:
              target: api
              rules:
                - { name: e, signal: error-rate, max: "0.01", minSamples: 1.5, for: 30 }
            """;

        var result = PolicyLoader.LoadText(yaml, "quoted.yaml");

        Assert.False(result.Success);
        ErrorAt(result, At(yaml, 7, "\"0.01\""), "must be a number, got the quoted string \"0.01\" (remove the quotes)");
        ErrorAt(result, At(yaml, 7, "1.5"), "spec.rules[0].minSamples must be a whole number");
        ErrorAt(result, At(yaml, 7, "30 }"), "spec.rules[0].for '30' has no unit: write e.g. 30s");
    }

    [Fact]
    public void Wrong_kind_and_api_version_are_named()
    {
        const string yaml = """
            apiVersion: flagger.app/v1alpha3
            kind: Canary
            metadata: { name: old }
            spec:
              targetRef: { name: web }
              analysis:
                stepWeight: 10
                metrics: [ { name: request-duration, thresholdRange: { max: 500 } } ]
            ---
            apiVersion: gatestream.io/v1
            kind: GatePolicies
            metadata: { name: typo }
            spec: {}
            """;

        var result = PolicyLoader.LoadText(yaml, "kinds.yaml");

        Assert.False(result.Success);
        ErrorAt(result, At(yaml, 1, "flagger.app/v1alpha3"), "apiVersion for kind Canary must be flagger.app/v1beta1");
        ErrorAt(result, At(yaml, 11, "GatePolicies"), "did you mean 'GatePolicy'?");
        Assert.Equal(2, result.Errors.Count);
    }

    [Fact]
    public void A_rule_needs_bounds_and_a_policy_needs_a_rule()
    {
        const string yaml = """
            apiVersion: gatestream.io/v1
            kind: GatePolicy
            metadata: { name: empty }
            spec:
              target: api
              rules: []
            ---
            apiVersion: gatestream.io/v1
            kind: GatePolicy
            metadata: { name: unbounded }
            spec:
              target: web
              rules:
                - name: e
                  signal: error-rate
            """;

        var result = PolicyLoader.LoadText(yaml, "rules.yaml");

        Assert.False(result.Success);
        ErrorAt(result, At(yaml, 6, "[]"), "a GatePolicy needs at least one rule");
        ErrorAt(result, At(yaml, 14, "name"), "spec.rules[0] ('error-rate') needs bounds");
        Assert.Equal(2, result.Errors.Count);
    }
}
