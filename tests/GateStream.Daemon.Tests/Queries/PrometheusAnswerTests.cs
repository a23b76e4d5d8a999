using System.Text;
using GateStream.Daemon.Queries;

namespace GateStream.Daemon.Tests.Queries;

/// <summary>How an instant query's answer becomes a check's value, as Flagger's Prometheus provider reads it.</summary>
public sealed class PrometheusAnswerTests
{
    private static QueryResult Parse(string json) => PrometheusQuery.Parse(Encoding.UTF8.GetBytes(json));

    [Fact]
    public void The_last_sample_of_the_vector_is_the_value()
    {
        var result = Parse("""{"status":"success","data":{"resultType":"vector","result":[{"metric":{"pod":"a"},"value":[1700000000.1,"3.5"]},{"metric":{"pod":"b"},"value":[1700000000.1,"42"]}]}}""");

        Assert.Equal((QueryOutcome.Value, 42.0), (result.Outcome, result.Value));
    }

    [Theory]
    [InlineData("""{"status":"success","data":{"resultType":"vector","result":[]}}""", "the result is empty")]
    [InlineData("""{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"NaN"]}]}}""", "the value is NaN")]
    [InlineData("""{"status":"success"}""", "the answer has no data.result")]
    public void An_empty_result_or_NaN_is_no_values(string json, string why)
    {
        var result = Parse(json);

        Assert.Equal((QueryOutcome.NoValues, why), (result.Outcome, result.Error));
    }

    [Fact]
    public void Infinities_are_values()
    {
        Assert.Equal(double.PositiveInfinity, Parse("""{"data":{"result":[{"value":[1,"+Inf"]}]}}""").Value);
        Assert.Equal(double.NegativeInfinity, Parse("""{"data":{"result":[{"value":[1,"-Inf"]}]}}""").Value);
    }

    [Theory]
    [InlineData("""{"data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"2"]]}]}}""", "a range of values")]
    [InlineData("""{"data":{"resultType":"scalar","result":[1700000000,"1"]}}""", "not an instant vector")]
    [InlineData("""{"data":{"result":[{"value":[1,"one"]}]}}""", "is not a number")]
    [InlineData("""{"data":{"result":{"value":[1,"1"]}}}""", "not a list of samples")]
    [InlineData("<html>proxy error</html>", "not JSON")]
    public void Other_answers_are_failed_queries(string json, string why)
    {
        var result = Parse(json);

        Assert.Equal(QueryOutcome.Failed, result.Outcome);
        Assert.Contains(why, result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(60, 5)]
    [InlineData(10, 4)]
    public void A_query_gets_Flaggers_5s_but_always_answers_before_its_check(int intervalSeconds, int timeoutSeconds)
    {
        var timeout = MetricQueryPoller.TimeoutFor(MetricQueryOptions.DefaultTimeout, TimeSpan.FromSeconds(intervalSeconds));

        Assert.Equal(TimeSpan.FromSeconds(timeoutSeconds), timeout);
        Assert.True(MetricQueryPoller.LeadFor(timeout) <= TimeSpan.FromSeconds(intervalSeconds) / 2);
    }
}
