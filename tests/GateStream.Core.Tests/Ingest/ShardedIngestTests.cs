using GateStream.Core.Ingest;
using GateStream.Core.Time;
using static GateStream.Core.Tests.TestData;

namespace GateStream.Core.Tests.Ingest;

public class ShardedIngestTests
{
    [Fact]
    public async Task Concurrent_writers_to_same_and_different_series_lose_no_count()
    {
        var clock = new VirtualTimeProvider(EventTime.ToDateTimeOffset(T0 + (10 * Second)));
        await using var ingest = new ShardedIngest(new IngestOptions { ShardCount = 4, ShardQueueCapacity = 64 }, clock);
        const int writers = 8;
        const int batchesPerWriter = 400;
        const int eventsPerBatch = 50;

        // Every writer writes the shared series "api@v1" and its own series "svc{w}@v1".
        var tasks = Enumerable.Range(0, writers).Select(w => Task.Run(async () =>
        {
            for (var b = 0; b < batchesPerWriter; b++)
            {
                foreach (var deployment in new[] { "api", $"svc{w}" })
                {
                    var batch = ingest.EventPool.Rent();
                    batch.Key.Set(deployment, "v1");
                    batch.Source = "test";
                    for (var e = 0; e < eventsPerBatch; e++)
                    {
                        batch.Add(T0 + (b * 1_000L) + e, 1_000 + e, e % 10 == 0);
                    }

                    await ingest.PostAsync(batch);
                }
            }
        })).ToArray();
        await Task.WhenAll(tasks);
        await ingest.FlushAsync();

        var perSeries = (await ingest.InvokeAllAsync(shard => shard.AllSeries
            .Select(s => (s.Key.Deployment, s.Requests.LifetimeRequests, s.Requests.LifetimeErrors, s.Requests.Requests))
            .ToArray())).SelectMany(x => x).ToDictionary(x => x.Deployment);

        const long perWriter = (long)batchesPerWriter * eventsPerBatch;
        Assert.Equal(writers * perWriter, perSeries["api"].LifetimeRequests);
        Assert.Equal(writers * perWriter / 10, perSeries["api"].LifetimeErrors);
        Assert.Equal(writers * perWriter, perSeries["api"].Requests);
        for (var w = 0; w < writers; w++)
        {
            Assert.Equal(perWriter, perSeries[$"svc{w}"].LifetimeRequests);
        }

        Assert.Equal(2 * writers * perWriter, ingest.Count(IngestCounter.EventsAccepted));
        Assert.Equal(0, ingest.Count(IngestCounter.ShardFaults));
        Assert.Equal(writers + 1, ingest.Budget.Live);
    }

    [Fact]
    public async Task All_versions_of_a_deployment_share_one_shard()
    {
        await using var ingest = new ShardedIngest(new IngestOptions { ShardCount = 8 }, TimeProvider.System);
        var shard = ingest.ShardOf("checkout"u8);
        Assert.Equal(shard, ingest.ShardOf("checkout"u8));
        Assert.InRange(shard, 0, 7);
        var spread = Enumerable.Range(0, 200).Select(i => ingest.ShardOf(System.Text.Encoding.UTF8.GetBytes($"svc-{i}"))).Distinct().Count();
        Assert.Equal(8, spread);
    }

    [Fact]
    public async Task TryPost_reports_a_full_queue_instead_of_blocking()
    {
        var clock = new VirtualTimeProvider(EventTime.ToDateTimeOffset(T0));
        await using var ingest = new ShardedIngest(new IngestOptions { ShardCount = 1, ShardQueueCapacity = 1 }, clock);
        var gate = new TaskCompletionSource();
        // Park the shard loop so the queue fills.
        var parked = ingest.InvokeAsync(0, _ => { gate.Task.Wait(); return 0; });
        var accepted = 0;
        for (var i = 0; i < 10; i++)
        {
            accepted += ingest.TryPost(Batch("api", "v1", 1, T0)) ? 1 : 0;
        }

        Assert.InRange(accepted, 0, 2);
        gate.SetResult();
        await parked;
        await ingest.FlushAsync();
        Assert.Equal(accepted, ingest.Count(IngestCounter.EventsAccepted));
    }
}
