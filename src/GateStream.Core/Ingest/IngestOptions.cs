using GateStream.Core.Time;
using GateStream.Core.Windows;

namespace GateStream.Core.Ingest;

/// <summary>Limits and shapes for the write path. Bound from configuration by the daemon; defaults are the documented ones.</summary>
public sealed record IngestOptions
{
    /// <summary>Live series across all shards. Past it, batches for new series are refused and counted.</summary>
    public int MaxSeries { get; init; } = Defaults.MaxSeries;

    /// <summary>
    /// Live series (versions) one deployment may have. Past it, batches for another version of that deployment are
    /// refused and reported as refused to the sender; other deployments are unaffected. Default 100.
    /// </summary>
    public int MaxSeriesPerDeployment { get; init; } = 100;

    /// <summary>
    /// Live series created through one source (ingest path: otlp, framed, grpc, kafka). Past it, batches for new series from
    /// that source are refused, so one exposed listener cannot fill the whole cap. Default 40,000 (80% of the default cap).
    /// </summary>
    public int MaxSeriesPerSource { get; init; } = 40_000;

    /// <summary>Longest deployment or version name, in UTF-8 bytes.</summary>
    public int MaxKeyBytes { get; init; } = 256;

    /// <summary>Named metric signals one series may have; samples of further names are refused and counted.</summary>
    public int MaxSignalsPerSeries { get; init; } = 64;

    /// <summary>Longest signal name, in UTF-8 bytes.</summary>
    public int MaxSignalNameBytes { get; init; } = 256;

    /// <summary>A series with no events for this long (and no gate holding it) is evicted. Default 10 min.</summary>
    public TimeSpan SeriesIdleTimeout { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>Latencies above this are not believed: refused and counted. Default 1 h.</summary>
    public TimeSpan MaxLatency { get; init; } = TimeSpan.FromHours(1);

    /// <summary>Shards (single-writer threads). Default: one per core.</summary>
    public int ShardCount { get; init; } = Environment.ProcessorCount;

    /// <summary>Batches a shard may have queued before posting waits (backpressure). Default 4096.</summary>
    public int ShardQueueCapacity { get; init; } = 4096;

    public WindowOptions Window { get; init; } = WindowOptions.Default;

    internal long MaxLatencyMicros => EventTime.FromTimeSpan(MaxLatency);

    /// <summary>Every problem with these options, as sentences naming the option; empty when valid.</summary>
    /// <param name="name">Maps an option's name here to the name its user set it by (a configuration key); identity when null.</param>
    public IReadOnlyList<string> Validate(Func<string, string>? name = null)
    {
        name ??= static n => n;
        var problems = new List<string>();
        if (MaxSeries < 1)
        {
            problems.Add($"{name("MaxSeries")} must be at least 1 (got {MaxSeries}).");
        }

        if (MaxSeriesPerDeployment < 1)
        {
            problems.Add($"{name("MaxSeriesPerDeployment")} must be at least 1 (got {MaxSeriesPerDeployment}).");
        }

        if (MaxSeriesPerSource < 1)
        {
            problems.Add($"{name("MaxSeriesPerSource")} must be at least 1 (got {MaxSeriesPerSource}).");
        }

        if (MaxKeyBytes is < 1 or > 4096)
        {
            problems.Add($"{name("MaxKeyBytes")} must be between 1 and 4096 (got {MaxKeyBytes}).");
        }

        if (MaxSignalsPerSeries < 0)
        {
            problems.Add($"{name("MaxSignalsPerSeries")} must not be negative (got {MaxSignalsPerSeries}).");
        }

        if (MaxSignalNameBytes is < 1 or > 4096)
        {
            problems.Add($"{name("MaxSignalNameBytes")} must be between 1 and 4096 (got {MaxSignalNameBytes}).");
        }

        if (SeriesIdleTimeout <= TimeSpan.Zero)
        {
            problems.Add($"{name("SeriesIdleTimeout")} must be positive (got {SeriesIdleTimeout}).");
        }

        if (MaxLatency <= TimeSpan.Zero)
        {
            problems.Add($"{name("MaxLatency")} must be positive (got {MaxLatency}).");
        }

        if (ShardCount is < 1 or > 1024)
        {
            problems.Add($"{name("ShardCount")} must be between 1 and 1024 (got {ShardCount}).");
        }

        if (ShardQueueCapacity < 1)
        {
            problems.Add($"{name("ShardQueueCapacity")} must be at least 1 (got {ShardQueueCapacity}).");
        }

        if (Window is null)
        {
            problems.Add($"{name("Window")} must be set.");
        }
        else
        {
            problems.AddRange(Window.Validate(n => name("Window." + n)));
        }

        return problems;
    }

    public void EnsureValid()
    {
        var problems = Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid ingest options: " + string.Join(" ", problems));
        }
    }
}
