using GateStream.Core.Gates;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Wire.Tests;

public sealed class WireNamesTests
{
    [Fact]
    public void Names_come_from_the_proto_in_three_forms()
    {
        Assert.Equal("PHASE_ROLLED_BACK", WireNames.ProtoName(V1.Phase.RolledBack));
        Assert.Equal("ROLLED_BACK", WireNames.Label(V1.Phase.RolledBack));
        Assert.Equal("RolledBack", WireNames.Title(V1.Phase.RolledBack));
        Assert.Equal("OVERRIDE_KIND_PROMOTE_FULL", WireNames.ProtoName(V1.OverrideKind.PromoteFull));
        Assert.Equal("INSUFFICIENT_EVIDENCE", WireNames.Label(V1.RuleStatus.InsufficientEvidence));
        Assert.Equal("WARMING_UP", WireNames.Label(V1.GateOwnership.WarmingUp));
        Assert.Equal("UNSPECIFIED", WireNames.Label(V1.Action.Unspecified));
    }

    [Fact]
    public void Every_action_and_phase_reads_as_the_engine_names_it()
    {
        foreach (var action in Enum.GetValues<DecisionAction>())
        {
            Assert.Equal(action.ToString().ToUpperInvariant(), WireNames.Label(action));
        }

        foreach (var phase in Enum.GetValues<GatePhase>())
        {
            Assert.Equal(phase.ToString(), WireNames.Title(phase));
        }
    }

    [Fact]
    public void A_value_the_proto_does_not_define_shows_its_number()
    {
        Assert.Equal("99", WireNames.ProtoName((V1.Action)99));
        Assert.Equal("99", WireNames.Title((V1.Phase)99));
    }

    [Fact]
    public void An_enum_that_is_not_a_wire_enum_is_refused()
    {
        var error = Assert.Throws<TypeInitializationException>(() => WireNames.ProtoName(DayOfWeek.Monday));
        Assert.IsType<ArgumentException>(error.InnerException);
    }
}
