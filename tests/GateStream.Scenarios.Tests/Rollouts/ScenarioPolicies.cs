using GateStream.Core.Policies;
using GateStream.Policies;

namespace GateStream.Scenarios.Tests.Rollouts;

/// <summary>The detection scenarios' policies, loaded from the YAML fixtures a user would write.</summary>
internal static class ScenarioPolicies
{
    public static PolicyDefinition Native { get; } = Load("detection-native.yaml");

    public static PolicyDefinition Flagger { get; } = Load("detection-flagger.yaml");

    /// <summary>The native policy with the rollback rule's bound moved to <paramref name="bound"/>.</summary>
    public static PolicyDefinition NativeWithRollbackBound(double bound) => Native with
    {
        Rules = [.. Native.Rules.Select(r => r.Name == "error-rate-rollback" ? r with { Threshold = new ThresholdSpec(ComparisonKind.Absolute, null, bound) } : r)],
    };

    /// <summary>The native policy's rollback rule alone: the false-alarm guarantee with nothing else in the way.</summary>
    public static PolicyDefinition RollbackRuleOnly { get; } = Native with { Rules = [Native.Rules.Single(r => r.Name == "error-rate-rollback")] };

    private static PolicyDefinition Load(string file)
    {
        var result = PolicyLoader.LoadFiles([Path.Combine(AppContext.BaseDirectory, "Fixtures", file)]);
        Assert.True(result.Success, string.Join("\n", result.Errors));
        return Assert.Single(result.Policies!.Policies);
    }
}
