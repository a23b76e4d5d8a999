using GateStream.Core.Time;

namespace GateStream.Core.Tests.Time;

public class DurationsTests
{
    [Theory]
    [InlineData("1m", 60_000)]
    [InlineData("30s", 30_000)]
    [InlineData("2m30s", 150_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("500ms", 500)]
    [InlineData("1.5h", 5_400_000)]
    [InlineData("30d", 2_592_000_000)]
    [InlineData("0", 0)]
    [InlineData("1h0m0s", 3_600_000)]
    public void Go_style_durations_parse(string text, long milliseconds)
    {
        Assert.True(Durations.TryParse(text, out var value, out var error), error);
        Assert.Equal(TimeSpan.FromMilliseconds(milliseconds), value);
    }

    [Theory]
    [InlineData("30", "has no unit")]
    [InlineData("5 minutes", "unknown unit")]
    [InlineData("-1m", "negative")]
    [InlineData("m", "not a duration")]
    [InlineData("", "empty")]
    public void Malformed_durations_say_why(string text, string why)
    {
        Assert.False(Durations.TryParse(text, out _, out var error));
        Assert.Contains(why, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(150_000, "2m30s")]
    [InlineData(500, "500ms")]
    [InlineData(86_400_000, "24h")]
    [InlineData(2_592_000_000, "30d")]
    [InlineData(129_600_000, "36h")]
    public void Format_is_the_short_spelling(long milliseconds, string expected) =>
        Assert.Equal(expected, Durations.Format(TimeSpan.FromMilliseconds(milliseconds)));
}
