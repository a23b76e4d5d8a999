using GateStream.Core.Policies;

namespace GateStream.Policies.Tests;

/// <summary>No stranded rollout: the deadlines of both forms are read from the files users write.</summary>
public class DeadlineTests
{
    [Fact]
    public void Native_evidence_deadline_is_read_and_defaults_to_pause_after_ten_minutes()
    {
        const string yaml = """
            apiVersion: gatestream.io/v1
            kind: GatePolicy
            metadata: { name: api }
            spec:
              target: api
              evidenceDeadline: { after: 3m, action: rollback }
              rules:
                - { name: errors, signal: error-rate, max: 0.02 }
            """;
        var policy = Assert.Single(PolicyLoader.LoadText(yaml, "api.yaml").Policies!.Policies);
        Assert.Equal((TimeSpan.FromMinutes(3), GateAction.Rollback), (policy.EvidenceDeadline, policy.EvidenceDeadlineAction));

        var defaults = Assert.Single(PolicyLoader.LoadText(yaml.Replace("  evidenceDeadline: { after: 3m, action: rollback }\n", "", StringComparison.Ordinal), "api.yaml").Policies!.Policies);
        Assert.Equal((TimeSpan.FromMinutes(10), GateAction.Pause), (defaults.EvidenceDeadline, defaults.EvidenceDeadlineAction));

        var bad = PolicyLoader.LoadText(yaml.Replace("action: rollback", "action: promote", StringComparison.Ordinal), "api.yaml");
        Assert.False(bad.Success);
        Assert.Contains(bad.Errors, e => e.Message.Contains("evidenceDeadline.action", StringComparison.Ordinal));
    }

    [Fact]
    public void Flagger_progress_deadline_defaults_to_600_seconds_and_skip_analysis_is_read()
    {
        const string yaml = """
            apiVersion: flagger.app/v1beta1
            kind: Canary
            metadata: { name: api }
            spec:
              targetRef: { name: api }
              skipAnalysis: true
              analysis:
                interval: 30s
                stepWeight: 10
                metrics:
                  - { name: error-rate, thresholdRange: { max: 0.02 } }
            """;
        var result = PolicyLoader.LoadText(yaml, "api.yaml");
        var policy = Assert.Single(result.Policies!.Policies);
        Assert.True(policy.Flagger!.SkipAnalysis);
        Assert.Equal(TimeSpan.FromSeconds(600), policy.Flagger.ProgressDeadline);
        Assert.DoesNotContain(result.Warnings, w => w.Message.Contains("skipAnalysis", StringComparison.Ordinal));
    }
}
