namespace GateStream.Core.Tests.Windows;

/// <summary>
/// The brute-force reference for a request window: keeps every accepted event and recomputes from
/// scratch. The rules are the documented ones, written the plain way.
/// </summary>
/// <remarks>Latency quantiles cover whole sub-windows of <paramref name="group"/> buckets inside the window.</remarks>
internal sealed class WindowModel(long bucketWidth, int bucketCount, long lateness, long histogramHighest, long phase = 0, int group = 2)
{
    private readonly List<(long Time, long Latency, bool Error)> _accepted = [];

    public long Now { get; private set; } = long.MinValue;

    public long DroppedLate { get; private set; }

    public long Clamped { get; private set; }

    public bool Offer(long time, long latency, bool error)
    {
        if (time <= Now)
        {
            if (time < Now - lateness || Bucket(time) <= Bucket(Now) - bucketCount)
            {
                DroppedLate++;
                return false;
            }
        }
        else
        {
            Now = time;
        }

        if (latency > histogramHighest)
        {
            Clamped++;
            latency = histogramHighest;
        }

        _accepted.Add((time, latency, error));
        return true;
    }

    public void Advance(long now) => Now = Math.Max(Now, now);

    public long WindowStart => ((Bucket(Now) - bucketCount + 1) * bucketWidth) - phase;

    public long Bucket(long time) => (time + phase) / bucketWidth;

    /// <summary>Start of the oldest latency sub-window wholly inside the window.</summary>
    public long LatencyStart
    {
        get
        {
            var first = Bucket(Now) - bucketCount + 1;
            var oldestGroup = (long)Math.Ceiling(first / (double)group);
            return (oldestGroup * group * bucketWidth) - phase;
        }
    }

    /// <summary>Latencies in the latency sub-window holding <paramref name="bucket"/> (none when it left).</summary>
    public long GroupLatencies(long bucket)
    {
        var start = LatencyStart;
        return InWindow.Count(e => e.Time >= start && Bucket(e.Time) / group == bucket / group);
    }

    public IEnumerable<(long Time, long Latency, bool Error)> InWindow
    {
        get
        {
            var start = WindowStart;
            return _accepted.Where(e => e.Time >= start);
        }
    }

    public (long Requests, long Errors) Counts()
    {
        long requests = 0, errors = 0;
        foreach (var e in InWindow)
        {
            requests++;
            if (e.Error)
            {
                errors++;
            }
        }

        return (requests, errors);
    }

    public (long Requests, long Errors) BucketCounts(long bucket)
    {
        long requests = 0, errors = 0;
        foreach (var e in InWindow)
        {
            if (Bucket(e.Time) == bucket)
            {
                requests++;
                if (e.Error)
                {
                    errors++;
                }
            }
        }

        return (requests, errors);
    }

    /// <summary>The exact quantile of the latency span's latencies: the value at rank max(1, round(q * n)) of the sorted array.</summary>
    public long ExactQuantile(double q)
    {
        var start = LatencyStart;
        var sorted = InWindow.Where(e => e.Time >= start).Select(e => e.Latency).Order().ToArray();
        if (sorted.Length == 0)
        {
            return 0;
        }

        var rank = Math.Max(1, (long)((q * sorted.Length) + 0.5));
        return sorted[rank - 1];
    }
}
