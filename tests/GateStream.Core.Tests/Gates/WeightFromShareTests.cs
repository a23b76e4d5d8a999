using GateStream.Core.Gates;
using GateStream.Core.Policies;

namespace GateStream.Core.Tests.Gates;

/// <summary>The weight a gate that opened by itself starts from, given the canary's observed traffic share.</summary>
public class WeightFromShareTests
{
    private static readonly ProgressionSpec Steps10To50 = new() { StepWeight = 10, MaxWeight = 50 };

    [Theory]
    [InlineData(19.6, 20)] // within 2.5 points of the step 20
    [InlineData(31.9, 30)]
    [InlineData(27.4, 27)] // no step near: the share, rounded
    [InlineData(26.5, 27)]
    [InlineData(50.0, 50)] // maxWeight is a step
    [InlineData(73.2, 73)] // past maxWeight: the share
    [InlineData(0.3, 1)] // a canary that serves traffic is not at 0
    [InlineData(99.8, 99)] // nor promoted yet
    public void Snaps_to_a_step_within_2_5_points_else_rounds_the_share(double share, int expected) =>
        Assert.Equal(expected, Gate.WeightFromShare(share, Steps10To50));

    [Fact]
    public void An_explicit_schedule_is_the_grid()
    {
        var schedule = new ProgressionSpec { StepWeights = [1, 5, 10, 25, 50] };
        Assert.Equal(25, Gate.WeightFromShare(23.0, schedule));
        Assert.Equal(17, Gate.WeightFromShare(17.0, schedule));
        Assert.Equal(1, Gate.WeightFromShare(2.2, schedule));
    }

    [Fact]
    public void A_maxWeight_off_the_step_grid_is_a_step_too()
    {
        var progression = new ProgressionSpec { StepWeight = 20, MaxWeight = 50 };
        Assert.Equal(50, Gate.WeightFromShare(48.0, progression));
        Assert.Equal(60, Gate.WeightFromShare(60.0, progression));
    }
}
