using GateStream.Core.Gates;
using GateStream.Core.Policies;
using GateStream.Core.Windows;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Wire.Tests;

/// <summary>
/// Every engine enum value has a wire counterpart and comes back from it; every wire value either maps to an engine
/// value or is refused. Driven by Enum.GetValues, so a member added on either side without a mapping fails here.
/// </summary>
public sealed class WireEnumsTests
{
    [Fact]
    public void Every_decision_action_round_trips() =>
        RoundTrips<DecisionAction, V1.Action>(WireEnums.ToWire, WireEnums.TryToEngine);

    [Fact]
    public void Every_rule_action_round_trips() =>
        RoundTrips<GateAction, V1.Action>(WireEnums.ToWire, WireEnums.TryToRuleAction, unsetMaps: true, decisionOnly: [V1.Action.Promote, V1.Action.Resume]);

    [Fact]
    public void Every_phase_round_trips() =>
        RoundTrips<GatePhase, V1.Phase>(WireEnums.ToWire, WireEnums.TryToEngine);

    [Fact]
    public void Every_rule_status_round_trips() =>
        RoundTrips<RuleStatus, V1.RuleStatus>(WireEnums.ToWire, WireEnums.TryToEngine);

    [Fact]
    public void Every_bound_round_trips() =>
        RoundTrips<BoundSide, V1.Bound>(WireEnums.ToWire, WireEnums.TryToEngine, unsetMaps: true);

    [Fact]
    public void Every_override_kind_round_trips() =>
        RoundTrips<OverrideKind, V1.OverrideKind>(WireEnums.ToWire, WireEnums.TryToEngine);

    [Fact]
    public void Every_policy_mode_round_trips() =>
        RoundTrips<PolicyMode, V1.GateMode>(WireEnums.ToWire, WireEnums.TryToEngine);

    [Fact]
    public void Every_ownership_round_trips() =>
        RoundTrips<DeploymentOwnership, V1.GateOwnership>(WireEnums.ToWire, WireEnums.TryToEngine);

    [Fact]
    public void Every_metric_kind_round_trips() =>
        RoundTrips<MetricKind, V1.MetricKind>(WireEnums.ToWire, WireEnums.TryToEngine);

    [Fact]
    public void Every_wire_action_is_a_decision_action_except_unspecified()
    {
        foreach (var action in Enum.GetValues<V1.Action>())
        {
            Assert.Equal(action != V1.Action.Unspecified, WireEnums.TryToEngine(action, out _));
        }

        // Promote and resume are decisions, never a rule's action.
        Assert.False(WireEnums.TryToRuleAction(V1.Action.Promote, out _));
        Assert.False(WireEnums.TryToRuleAction(V1.Action.Resume, out _));
    }

    [Fact]
    public void An_unknown_wire_number_is_refused_not_cast()
    {
        Assert.False(WireEnums.TryToEngine((V1.Phase)99, out _));
        Assert.False(WireEnums.TryToEngine((V1.Action)99, out _));
        Assert.False(WireEnums.TryToEngine((V1.OverrideKind)99, out _));
        Assert.False(WireEnums.TryToEngine((V1.MetricKind)99, out _));
        Assert.False(WireEnums.TryToEngine((V1.GateOwnership)99, out _));
        Assert.False(WireEnums.TryToRuleAction((V1.Action)99, out _));
    }

    [Fact]
    public void An_engine_value_without_a_counterpart_throws_naming_it()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => WireEnums.ToWire((GatePhase)42));
        Assert.Contains("GatePhase.42", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Every engine value maps to a distinct wire value and back; every wire value that is set maps to an engine value
    /// (a proto member added without an engine counterpart fails). The unset wire value (0) maps back only where the
    /// engine has a "none" of its own (<paramref name="unsetMaps"/>); <paramref name="decisionOnly"/> lists wire values
    /// that are not meant to map (a decision's actions that are no rule's action).
    /// </summary>
    private static void RoundTrips<TEngine, TWire>(Func<TEngine, TWire> toWire, TryToEngine<TWire, TEngine> toEngine, bool unsetMaps = false, TWire[]? decisionOnly = null)
        where TEngine : struct, Enum
        where TWire : struct, Enum
    {
        var seen = new HashSet<TWire>();
        foreach (var value in Enum.GetValues<TEngine>())
        {
            var wire = toWire(value);
            Assert.True(seen.Add(wire), $"{typeof(TEngine).Name}.{value} maps to {wire}, which another value maps to");
            Assert.True(toEngine(wire, out var back), $"{typeof(TEngine).Name}.{value} -> {wire} does not map back");
            Assert.Equal(value, back);
        }

        foreach (var wire in Enum.GetValues<TWire>())
        {
            var unset = Convert.ToInt32(wire, System.Globalization.CultureInfo.InvariantCulture) == 0;
            if (unset && !unsetMaps)
            {
                Assert.False(toEngine(wire, out _), $"{typeof(TWire).Name}.{wire} is unset and must be refused");
                continue;
            }

            if (decisionOnly?.Contains(wire) == true)
            {
                Assert.False(toEngine(wire, out _), $"{typeof(TWire).Name}.{wire} is not a {typeof(TEngine).Name}");
                continue;
            }

            Assert.True(toEngine(wire, out var value), $"{typeof(TWire).Name}.{wire} has no {typeof(TEngine).Name} counterpart");
            Assert.Equal(wire, toWire(value));
        }
    }

    private delegate bool TryToEngine<TWire, TEngine>(TWire wire, out TEngine value);
}
