using GateStream.Core.Events;
using GateStream.Ingest.Kafka;

namespace GateStream.Ingest.Tests;

public class LogTextTests
{
    [Theory]
    [InlineData("checkout", "checkout")]
    [InlineData("api\nwarn: GateStream[1] forged", "api\\nwarn: GateStream[1] forged")]
    [InlineData("a\r\nb\tc", "a\\r\\nb\\tc")]
    [InlineData("x\u2028y\u0085z\u001b[31m", "x\\u2028y\\u0085z\\u001b[31m")]
    [InlineData("back\\slash", "back\\\\slash")]
    public void Control_characters_and_line_separators_are_escaped(string text, string expected)
    {
        Assert.Equal(expected, LogText.Sanitize(text));
    }

    [Fact]
    public void Long_text_is_cut_with_its_length_named()
    {
        var text = new string('a', 5_000);

        var safe = LogText.Sanitize(text, 100);

        Assert.Equal(new string('a', 100) + "...(5000 chars)", safe);
    }

    [Fact]
    public void A_kafka_message_problem_and_refusal_reason_are_escaped_before_anyone_logs_them()
    {
        var message = new DecodedMessage(BatchPools.CreateEventPool(), BatchPools.CreateMetricPool());

        message.RefusedReason = "sample 'x\nwarn: forged' refused";
        message.Fail("bad json near 'a\nb'");

        Assert.DoesNotContain('\n', message.RefusedReason);
        Assert.Equal("bad json near 'a\\nb'", message.Problem);
    }
}
