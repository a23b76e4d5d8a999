using System.Text;
using GateStream.Core.Events;
using GateStream.Core.Windows;
using GateStream.Ingest;
using GateStream.Ingest.Otlp;

namespace GateStream.Ingest.Tests.Otlp;

/// <summary>Copies what the decoder posts, then returns the batches to their pools as a shard would.</summary>
internal sealed class CollectingSink(BatchPool<EventBatch> events, BatchPool<MetricSampleBatch> metrics) : IBatchSink
{
    public CollectingSink()
        : this(BatchPools.CreateEventPool(), BatchPools.CreateMetricPool())
    {
    }

    public BatchPool<EventBatch> EventPool => events;

    public BatchPool<MetricSampleBatch> MetricPool => metrics;

    public List<PostedEvents> Events { get; } = [];

    public List<PostedSamples> Samples { get; } = [];

    public ValueTask PostAsync(EventBatch batch, CancellationToken cancellationToken)
    {
        Post(batch);
        return ValueTask.CompletedTask;
    }

    public ValueTask PostAsync(MetricSampleBatch batch, CancellationToken cancellationToken)
    {
        Post(batch);
        return ValueTask.CompletedTask;
    }

    public void Post(EventBatch batch)
    {
        Events.Add(new PostedEvents(
            Encoding.UTF8.GetString(batch.Key.Deployment),
            Encoding.UTF8.GetString(batch.Key.Version),
            batch.Source,
            batch.TimesMicros.ToArray(),
            batch.LatenciesMicros.ToArray(),
            batch.Errors.ToArray()));
        events.Return(batch);
    }

    public void Post(MetricSampleBatch batch)
    {
        var samples = new List<Sample>();
        for (var i = 0; i < batch.Count; i++)
        {
            samples.Add(new Sample(Encoding.UTF8.GetString(batch.NameAt(i)), batch.TimeAt(i), batch.ValueAt(i), batch.KindAt(i)));
        }

        Samples.Add(new PostedSamples(Encoding.UTF8.GetString(batch.Key.Deployment), Encoding.UTF8.GetString(batch.Key.Version), batch.Source, samples));
        metrics.Return(batch);
    }

    public OtlpDecoder Decoder(OtlpOptions? options = null) => new(options ?? OtlpOptions.Default, events, metrics);

    /// <summary>Events per "deployment/version" over all batches.</summary>
    public Dictionary<string, (int Requests, int Errors)> PerVersion() =>
        Events.GroupBy(e => $"{e.Deployment}/{e.Version}")
            .ToDictionary(g => g.Key, g => (g.Sum(e => e.Times.Length), g.Sum(e => e.Errors.Count(x => x))));

    public sealed record PostedEvents(string Deployment, string Version, string Source, long[] Times, long[] Latencies, bool[] Errors);

    public sealed record PostedSamples(string Deployment, string Version, string Source, List<Sample> Samples);

    public sealed record Sample(string Name, long TimeMicros, double Value, MetricKind Kind);
}

/// <summary>Returns every batch at once and keeps only counts: the decoder is all that runs.</summary>
internal sealed class ReturningSink(BatchPool<EventBatch> events, BatchPool<MetricSampleBatch> metrics) : IBatchSink
{
    public long Events { get; private set; }

    public long Samples { get; private set; }

    public BatchPool<EventBatch> EventPool => events;

    public BatchPool<MetricSampleBatch> MetricPool => metrics;

    public ValueTask PostAsync(EventBatch batch, CancellationToken cancellationToken)
    {
        Events += batch.Count;
        events.Return(batch);
        return ValueTask.CompletedTask;
    }

    public ValueTask PostAsync(MetricSampleBatch batch, CancellationToken cancellationToken)
    {
        Samples += batch.Count;
        metrics.Return(batch);
        return ValueTask.CompletedTask;
    }
}
