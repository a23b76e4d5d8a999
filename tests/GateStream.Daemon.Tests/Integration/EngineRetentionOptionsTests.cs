using GateStream.Daemon.Options;

namespace GateStream.Daemon.Tests.Integration;

/// <summary>GateStream:Engine:SeriesIdleTimeout and FinishedRetention: validated at start and handed to the engine.</summary>
public class EngineRetentionOptionsTests
{
    [Fact]
    public void Both_reach_the_engine()
    {
        var engine = new EngineOptions { SeriesIdleTimeout = TimeSpan.FromSeconds(90), FinishedRetention = TimeSpan.FromMinutes(3) };

        Assert.Equal(TimeSpan.FromSeconds(90), engine.ToIngestOptions().SeriesIdleTimeout);
        Assert.Equal(TimeSpan.FromMinutes(3), engine.ToGateEngineOptions().FinishedRetention);
    }

    [Fact]
    public void The_defaults_are_the_engines()
    {
        var engine = new EngineOptions();

        Assert.Equal(TimeSpan.FromMinutes(10), engine.ToIngestOptions().SeriesIdleTimeout);
        Assert.Equal(TimeSpan.FromHours(1), engine.ToGateEngineOptions().FinishedRetention);
    }

    [Fact]
    public void Zero_is_refused_naming_the_key()
    {
        var options = new GateStreamOptions();
        options.Policies.Directory = "/tmp";
        options.State.Directory = "/tmp";
        options.Engine.SeriesIdleTimeout = TimeSpan.Zero;
        options.Engine.FinishedRetention = TimeSpan.Zero;

        var result = new GateStreamOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains("GateStream:Engine:FinishedRetention must be positive (got 00:00:00).", result.Failures!);
        Assert.Contains("GateStream:Engine:SeriesIdleTimeout must be positive (got 00:00:00).", result.Failures!);
    }
}
