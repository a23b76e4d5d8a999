using GateStream.Core.Time;

namespace GateStream.Core.Windows;

/// <summary>
/// Shape of every series' sliding window: a ring of <see cref="BucketCount"/> time buckets of
/// <see cref="BucketWidth"/>, covering <see cref="Length"/> of event time.
/// </summary>
public sealed record WindowOptions
{
    public const int MaxBuckets = 1024;

    /// <summary>How much event time a window covers. Default 60 s.</summary>
    public TimeSpan Length { get; init; } = Defaults.WindowLength;

    /// <summary>Width of one bucket; <see cref="Length"/> must be a whole multiple of it. Default 5 s.</summary>
    public TimeSpan BucketWidth { get; init; } = Defaults.BucketWidth;

    /// <summary>
    /// How far behind the newest time a series has seen an event may be and still be counted
    /// (in its own bucket). Older events are counted as dropped. At most <see cref="Length"/>. Default 30 s.
    /// </summary>
    public TimeSpan AllowedLateness { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Events stamped further than this ahead of the clock are refused (a sender's clock is wrong). Default 5 s.</summary>
    public TimeSpan MaxFutureSkew { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Smallest latency the histogram resolves, in microseconds. Default 1 µs.</summary>
    public long HistogramLowestMicros { get; init; } = 1;

    /// <summary>Largest latency the histogram holds, in microseconds; larger ones are clamped and counted. Default 60 s.</summary>
    public long HistogramHighestMicros { get; init; } = 60 * EventTime.MicrosPerSecond;

    /// <summary>
    /// Latency precision in significant digits: a quantile is within 10^-digits of the exact sample quantile
    /// (2 digits: 64 buckets per octave, at most 0.78% off). Default 2.
    /// </summary>
    public int HistogramSignificantDigits { get; init; } = 2;

    public int BucketCount => (int)(Length.Ticks / BucketWidth.Ticks);

    internal long BucketWidthMicros => EventTime.FromTimeSpan(BucketWidth);

    internal long AllowedLatenessMicros => EventTime.FromTimeSpan(AllowedLateness);

    internal long MaxFutureSkewMicros => EventTime.FromTimeSpan(MaxFutureSkew);

    public static WindowOptions Default { get; } = new();

    /// <summary>Every problem with these options, as sentences naming the option; empty when valid.</summary>
    /// <param name="name">Maps an option's name here to the name its user set it by (a configuration key); identity when null.</param>
    public IReadOnlyList<string> Validate(Func<string, string>? name = null)
    {
        name ??= static n => n;
        var problems = new List<string>();
        if (BucketWidth < TimeSpan.FromMilliseconds(1))
        {
            problems.Add($"{name("BucketWidth")} must be at least 1 ms (got {BucketWidth}).");
        }
        else if (Length < BucketWidth || Length.Ticks % BucketWidth.Ticks != 0)
        {
            problems.Add($"{name("Length")} ({Length}) must be a whole, non-zero multiple of {name("BucketWidth")} ({BucketWidth}).");
        }
        else if (BucketCount < 2 || BucketCount > MaxBuckets)
        {
            problems.Add($"{name("Length")} / {name("BucketWidth")} must give between 2 and {MaxBuckets} buckets (got {BucketCount}).");
        }

        if (AllowedLateness < TimeSpan.Zero || AllowedLateness > Length)
        {
            problems.Add($"{name("AllowedLateness")} ({AllowedLateness}) must be between 0 and {name("Length")} ({Length}).");
        }

        if (MaxFutureSkew < TimeSpan.Zero)
        {
            problems.Add($"{name("MaxFutureSkew")} must not be negative (got {MaxFutureSkew}).");
        }

        if (HistogramLowestMicros < 1 || HistogramHighestMicros < 2 * HistogramLowestMicros)
        {
            problems.Add($"Histogram range must satisfy 1 <= lowest and 2 * lowest <= highest (got {HistogramLowestMicros}..{HistogramHighestMicros} µs).");
        }

        if (HistogramSignificantDigits is < 1 or > 4)
        {
            problems.Add($"{name("HistogramSignificantDigits")} must be between 1 and 4 (got {HistogramSignificantDigits}).");
        }

        return problems;
    }

    /// <summary>Throws <see cref="ArgumentException"/> listing every problem, for constructors.</summary>
    public void EnsureValid()
    {
        var problems = Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid window options: " + string.Join(" ", problems));
        }
    }
}
