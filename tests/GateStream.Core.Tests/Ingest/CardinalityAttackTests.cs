using GateStream.Core.Events;
using GateStream.Core.Ingest;
using GateStream.Core.Time;
using static GateStream.Core.Tests.TestData;

namespace GateStream.Core.Tests.Ingest;

/// <summary>
/// The cardinality attack of issue 12: a sender invents 100,000 versions (or deployments). Memory stays bounded (series
/// count and bytes per series), the work of a tick (series to advance) stays small, the sender is told its events were
/// refused, and real new series of other deployments are still admitted.
/// </summary>
public class CardinalityAttackTests
{
    private const int Attack = 100_000;

    [Fact]
    public async Task One_hundred_thousand_versions_of_one_deployment_stop_at_its_budget()
    {
        var options = new IngestOptions { ShardCount = 2 };
        await using var ingest = new ShardedIngest(options, Clock());

        var refused = await SendAsync(ingest, Attack, i => ("api", $"evil-{i}"), "otlp");
        Assert.Null(await SendOneAsync(ingest, "checkout", "v2", "otlp"));
        await ingest.FlushAsync();

        Assert.Equal(Attack - options.MaxSeriesPerDeployment, refused);
        Assert.Equal(Attack - options.MaxSeriesPerDeployment, ingest.Count(IngestCounter.EventsRefusedSeriesBudget));
        await AssertBoundedAsync(ingest, expectedSeries: options.MaxSeriesPerDeployment + 1);
        Assert.Equal(1, (await ingest.InvokeAllAsync(s => s.Find("checkout", "v2")?.Requests.Requests ?? 0)).Sum());
    }

    [Fact]
    public async Task One_hundred_thousand_deployments_from_one_source_stop_at_its_budget_and_leave_room_for_others()
    {
        var options = new IngestOptions { ShardCount = 2, MaxSeries = 50_000, MaxSeriesPerSource = 40_000 };
        await using var ingest = new ShardedIngest(options, Clock());

        var refused = await SendAsync(ingest, Attack, i => ($"svc-{i}", "v1"), "otlp");
        Assert.Null(await SendOneAsync(ingest, "checkout", "v2", "framed"));
        await ingest.FlushAsync();

        Assert.Equal(Attack - options.MaxSeriesPerSource, refused);
        await AssertBoundedAsync(ingest, expectedSeries: options.MaxSeriesPerSource + 1);
        Assert.Equal(1, (await ingest.InvokeAllAsync(s => s.Find("checkout", "v2")?.Requests.Requests ?? 0)).Sum());
    }

    [Fact]
    public async Task Past_the_global_cap_new_series_are_refused_at_admission_and_an_evicted_series_frees_its_place()
    {
        var options = new IngestOptions { ShardCount = 1, MaxSeries = 10, SeriesIdleTimeout = TimeSpan.FromMinutes(1) };
        var clock = Clock();
        await using var ingest = new ShardedIngest(options, clock);

        var refused = await SendAsync(ingest, 15, i => ($"svc-{i}", "v1"), "otlp");
        await ingest.FlushAsync();
        Assert.Equal(5, refused);
        Assert.Equal(5, ingest.Count(IngestCounter.EventsRefusedSeriesCap));
        Assert.Equal(RefusalReason.SeriesCapReached, Admit(ingest, "late", "v1"));

        // Idle series are evicted and give their places back.
        Assert.Equal(10, (await ingest.InvokeAllAsync(s => s.EvictIdle(T0 + (2 * 60 * Second)))).Sum());
        Assert.Equal(0, ingest.Budget.Live);
        Assert.Null(await SendOneAsync(ingest, "late", "v1", "otlp"));
    }

    private static VirtualTimeProvider Clock() => new(EventTime.ToDateTimeOffset(T0 + Second));

    private static RefusalReason? Admit(ShardedIngest ingest, string deployment, string version)
    {
        var batch = ingest.EventPool.Rent();
        batch.Key.Set(deployment, version);
        batch.Source = "otlp";
        batch.Add(T0, 1_000, error: false);
        var refusal = ingest.Admit(batch);
        ingest.EventPool.Return(batch);
        return refusal;
    }

    // As the ingest paths do it: admit, then post or give the batch back. Returns how many batches were refused.
    private static async Task<int> SendAsync(ShardedIngest ingest, int count, Func<int, (string Deployment, string Version)> key, string source)
    {
        var refused = 0;
        for (var i = 0; i < count; i++)
        {
            var (deployment, version) = key(i);
            refused += await SendOneAsync(ingest, deployment, version, source) is null ? 0 : 1;
        }

        return refused;
    }

    private static async Task<RefusalReason?> SendOneAsync(ShardedIngest ingest, string deployment, string version, string source)
    {
        var batch = ingest.EventPool.Rent();
        batch.Key.Set(deployment, version);
        batch.Source = source;
        batch.Add(T0, 1_000 + (deployment.Length * 10), error: false);
        if (ingest.Admit(batch) is { } refusal)
        {
            ingest.EventPool.Return(batch);
            return refusal;
        }

        await ingest.PostAsync(batch);
        return null;
    }

    private static async Task AssertBoundedAsync(ShardedIngest ingest, int expectedSeries)
    {
        // The tick advances every live series: bounded series is a bounded tick.
        var series = (await ingest.InvokeAllAsync(s => s.SeriesCount)).Sum();
        Assert.Equal(expectedSeries, series);
        Assert.Equal(expectedSeries, ingest.Budget.Live);
        var largest = (await ingest.InvokeAllAsync(s => s.AllSeries.Select(x => x.Requests.ApproximateBytes).DefaultIfEmpty().Max())).Max();
        Assert.True(largest <= 16 * 1024, $"a series window holds {largest} bytes");
    }
}
