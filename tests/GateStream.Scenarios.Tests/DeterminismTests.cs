using System.Text.Json;
using System.Text.Json.Serialization;
using GateStream.Core.Gates;

namespace GateStream.Scenarios.Tests;

public class DeterminismTests
{
    private static readonly JsonSerializerOptions Json = new() { Converters = { new JsonStringEnumConverter() } };

    private static string RunOnce()
    {
        var baseline = Behaviour.Steady(400, 0.001, 20);
        var sim = new Simulation(Policies.Layered(), 77);
        sim.Warm(baseline, TimeSpan.FromMinutes(1));
        sim.Run(baseline, new Behaviour(100, m => m < 2 ? 0.001 : m < 5 ? 0.006 : 0.03, m => m < 1 ? 20 : 25), TimeSpan.FromMinutes(8));
        sim.Engine.Override(new OverrideCommand(sim.GateId, OverrideKind.Resume, "dave", "replay check"));
        sim.Run(baseline, Behaviour.Steady(100, 0.001, 20), TimeSpan.FromMinutes(4));
        return string.Join('\n', sim.Decisions.Select(d => JsonSerializer.Serialize(d, Json)));
    }

    [Fact]
    public void The_same_input_twice_gives_byte_identical_decisions()
    {
        var first = RunOnce();
        var second = RunOnce();
        Assert.Contains("\"Rollback\"", first, StringComparison.Ordinal);
        Assert.Contains("\"Hold\"", first, StringComparison.Ordinal);
        Assert.Equal(first, second);
    }
}
