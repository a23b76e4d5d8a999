using System.Numerics;
using System.Runtime.InteropServices;
using GateStream.Core.Time;

namespace GateStream.Benchmarks.Internal;

/// <summary>
/// Deterministic request traffic for the suites: precomputed in setup (fixed seeds) so the timed part
/// runs only GateStream code and array reads.
/// </summary>
internal static class SyntheticTraffic
{
    /// <summary>Smallest and largest latency generated: 1 ms .. 2 s.</summary>
    public const long MinLatencyMicros = EventTime.MicrosPerMillisecond;

    public const long MaxLatencyMicros = 2 * EventTime.MicrosPerSecond;

    /// <summary>Where every suite's event time starts: a fixed instant on a bucket boundary of the default window.</summary>
    public static long Start { get; } = EventTime.FromDateTimeOffset(new DateTimeOffset(2025, 6, 2, 0, 0, 0, TimeSpan.Zero));

    /// <summary>Lognormal latencies (µs) with the given median and shape, clamped to 1 ms .. 2 s.</summary>
    public static long[] Latencies(Random random, int count, long medianMicros, double sigma)
    {
        var latencies = new long[count];
        for (var i = 0; i < latencies.Length; i++)
        {
            var value = medianMicros * Math.Exp(sigma * StandardNormal(random));
            latencies[i] = Math.Clamp((long)value, MinLatencyMicros, MaxLatencyMicros);
        }

        return latencies;
    }

    /// <summary>Error flags, each set with probability <paramref name="rate"/>.</summary>
    public static bool[] Errors(Random random, int count, double rate)
    {
        var errors = new bool[count];
        for (var i = 0; i < errors.Length; i++)
        {
            errors[i] = random.NextDouble() < rate;
        }

        return errors;
    }

    /// <summary>
    /// Event-time offsets (µs) of <paramref name="count"/> events <paramref name="spacingMicros"/> apart, each
    /// stamped up to <paramref name="maxJitterMicros"/> early (senders batch and reorder a little). Offset i
    /// lies in ((i + 1) * spacing - jitter, (i + 1) * spacing], so none is negative when jitter &lt;= spacing.
    /// </summary>
    public static long[] Offsets(Random random, int count, long spacingMicros, long maxJitterMicros)
    {
        var offsets = new long[count];
        for (var i = 0; i < offsets.Length; i++)
        {
            offsets[i] = ((i + 1) * spacingMicros) - random.NextInt64(maxJitterMicros);
        }

        return offsets;
    }

    /// <summary>Adds <paramref name="by"/> to every time: restamps a reused batch for its next turn.</summary>
    public static void Shift(Span<long> times, long by)
    {
        var vectors = MemoryMarshal.Cast<long, Vector<long>>(times);
        var delta = new Vector<long>(by);
        for (var i = 0; i < vectors.Length; i++)
        {
            vectors[i] += delta;
        }

        for (var i = vectors.Length * Vector<long>.Count; i < times.Length; i++)
        {
            times[i] += by;
        }
    }

    private static double StandardNormal(Random random)
    {
        // Box-Muller; 1 - u keeps the logarithm's argument in (0, 1].
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }
}
