using GateStream.Core.Policies;
using GateStream.Daemon.Tests.Http;
using GateStream.Policies;

namespace GateStream.Daemon.Tests.Webhooks;

/// <summary>The imported-Canary example of docs/integrations.md loads, with the meaning the text gives it.</summary>
public sealed class ImportedCanaryDocTests
{
    [Fact]
    public void The_documented_blue_green_canary_loads_with_its_three_webhooks()
    {
        var yaml = IntegrationDocs.Section("flagger-imported-canary").Replace("```yaml", "", StringComparison.Ordinal).Replace("```", "", StringComparison.Ordinal);

        var result = PolicyLoader.LoadText(yaml, "podinfo.yaml");

        Assert.True(result.Success, string.Join("\n", result.Errors));
        var policy = Assert.Single(result.Policies!.Policies);
        Assert.Equal(10, policy.Flagger!.Iterations);
        Assert.Equal("test", policy.Flagger.Namespace);
        Assert.Equal([WebhookType.PreRollout, WebhookType.ConfirmPromotion, WebhookType.Event], policy.Webhooks.Select(h => h.Type));
        Assert.Equal(3, policy.Webhooks[1].Retries);
        Assert.Equal(TimeSpan.FromSeconds(15), policy.Webhooks[0].Timeout);
    }
}
