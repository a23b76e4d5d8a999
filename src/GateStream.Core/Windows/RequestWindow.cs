using System.Runtime.CompilerServices;
using GateStream.Core.Internal;

namespace GateStream.Core.Windows;

/// <summary>
/// One series' sliding window by event time: a ring of time buckets, each with a request count and
/// an error count, and a ring of latency sub-windows (inside <see cref="LatencyRingHistogram"/>), each
/// a latency histogram of one or more whole buckets. Window totals are kept incrementally: a record
/// adds to its bucket and the totals, a slide subtracts the buckets that leave.
/// </summary>
/// <remarks>
/// <para>
/// Single writer: the shard thread that owns the series. Not thread-safe by design.
/// The window's "now" is the newest event time it has seen or the clock time it was advanced to,
/// whichever is later; the head bucket is the bucket of that instant.
/// </para>
/// <para>
/// Latency sub-windows: at most <see cref="MaxLatencySubWindows"/> histograms per window, each covering
/// <see cref="LatencyBucketsPerSubWindow"/> consecutive buckets (by absolute bucket number), which is what bounds
/// a series' memory (the default 60 s of 5 s buckets: 6 sub-windows of 10 s). Latency quantiles cover the
/// sub-windows that lie wholly inside the window, newest first: the whole window, or one bucket less
/// (55 to 60 s by default) while the oldest bucket's partner has already left. <see cref="LatencyStartMicros"/>
/// says where they start and every latency answer says how many values it rests on.
/// </para>
/// </remarks>
public sealed class RequestWindow
{
    /// <summary>Most latency histograms a window keeps (see remarks).</summary>
    public const int MaxLatencySubWindows = 6;

    private readonly int _bucketCount;
    private readonly long _bucketWidth;
    private readonly long _phase;
    private readonly long _lateness;
    private readonly long _histogramHighest;
    private readonly long[] _requests;
    private readonly long[] _errors;
    private readonly LatencyRingHistogram _latency;
    private readonly int _group;
    private readonly int _latencySlots;

    private long _windowRequests;
    private long _windowErrors;
    private long _headBucket = -1;
    private long _headStart = long.MaxValue;
    private long _headEnd = long.MinValue;
    private int _headSlot;
    private int _headLatencySlot;
    private long _oldestLatencyGroup;
    private long _now = long.MinValue;

    /// <param name="options">The window's shape.</param>
    /// <param name="phaseMicros">
    /// Shifts the bucket boundaries by this much (0 &lt;= phase &lt; bucket width). Series get different phases so
    /// their buckets do not all turn over in the same instant: expiring a bucket re-sums the histogram, and spreading
    /// that work keeps a tick's cost flat instead of spiking every bucket width.
    /// </param>
    public RequestWindow(WindowOptions options, long phaseMicros = 0)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.EnsureValid();
        Options = options;
        _bucketCount = options.BucketCount;
        _bucketWidth = options.BucketWidthMicros;
        ArgumentOutOfRangeException.ThrowIfNegative(phaseMicros);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(phaseMicros, _bucketWidth);
        _phase = phaseMicros;
        _lateness = options.AllowedLatenessMicros;
        _histogramHighest = options.HistogramHighestMicros;
        _requests = new long[_bucketCount];
        _errors = new long[_bucketCount];
        _group = (_bucketCount + MaxLatencySubWindows - 1) / MaxLatencySubWindows;
        _latencySlots = (_bucketCount + _group - 1) / _group;
        _latency = new LatencyRingHistogram(
            _latencySlots, options.HistogramLowestMicros, options.HistogramHighestMicros, options.HistogramSignificantDigits);
    }

    public WindowOptions Options { get; }

    /// <summary>Requests in the window.</summary>
    public long Requests => _windowRequests;

    /// <summary>Errors in the window.</summary>
    public long Errors => _windowErrors;

    /// <summary>Requests recorded since the series was created (not windowed), for error-budget rules.</summary>
    public long LifetimeRequests { get; private set; }

    /// <summary>Errors recorded since the series was created (not windowed).</summary>
    public long LifetimeErrors { get; private set; }

    /// <summary>The window's current instant (µs), or <see cref="long.MinValue"/> before anything happened.</summary>
    public long NowMicros => _now;

    /// <summary>Start of the window (inclusive), the start of its oldest bucket.</summary>
    public long StartMicros => _headBucket < 0 ? 0 : ((_headBucket - _bucketCount + 1) * _bucketWidth) - _phase;

    /// <summary>End of the window (exclusive), the end of the head bucket.</summary>
    public long EndMicros => _headBucket < 0 ? 0 : _headEnd;

    /// <summary>Buckets per latency sub-window: 2 by default (10 s), 1 for windows of up to <see cref="MaxLatencySubWindows"/> buckets.</summary>
    public int LatencyBucketsPerSubWindow => _group;

    /// <summary>Start of the latency quantiles' span (inclusive): the oldest latency sub-window wholly inside the window.</summary>
    public long LatencyStartMicros => _headBucket < 0 ? 0 : (_oldestLatencyGroup * _group * _bucketWidth) - _phase;

    /// <summary>Latencies not recorded because their bucket was saturated (see <see cref="LatencyRingHistogram"/>); 0 in practice.</summary>
    public long LatencySaturated => _latency.Saturated;

    /// <summary>
    /// Records one request. The caller has validated latency (0 &lt;= latency) and time (&gt;= 0);
    /// this method handles lateness, expiry and clamping, and never throws.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RecordOutcome Record(long timeMicros, long latencyMicros, bool error)
    {
        int slot, latencySlot;
        if (timeMicros >= _headStart && timeMicros < _headEnd)
        {
            // Fast path: the head bucket. Still subject to lateness when lateness < bucket width.
            if (timeMicros < _now - _lateness)
            {
                return RecordOutcome.DroppedLate;
            }

            slot = _headSlot;
            latencySlot = _headLatencySlot;
            if (timeMicros > _now)
            {
                _now = timeMicros;
            }
        }
        else if (timeMicros >= _headEnd)
        {
            AdvanceTo(timeMicros);
            slot = _headSlot;
            latencySlot = _headLatencySlot;
        }
        else
        {
            if (timeMicros < _now - _lateness)
            {
                return RecordOutcome.DroppedLate;
            }

            var bucket = (timeMicros + _phase) / _bucketWidth;
            if (bucket <= _headBucket - _bucketCount)
            {
                return RecordOutcome.DroppedLate;
            }

            slot = (int)(bucket % _bucketCount);
            // Its latency sub-window may already have left (its partner bucket did): counted, not in the quantiles.
            var group = bucket / _group;
            latencySlot = group >= _oldestLatencyGroup ? (int)(group % _latencySlots) : -1;
        }

        var outcome = RecordOutcome.Recorded;
        if (latencyMicros > _histogramHighest)
        {
            latencyMicros = _histogramHighest;
            outcome = RecordOutcome.RecordedClamped;
        }

        _requests[slot]++;
        _windowRequests++;
        LifetimeRequests++;
        if (error)
        {
            _errors[slot]++;
            _windowErrors++;
            LifetimeErrors++;
        }

        if (latencySlot >= 0)
        {
            _latency.Record(latencySlot, latencyMicros);
        }

        return outcome;
    }

    /// <summary>Moves the window's now forward to <paramref name="nowMicros"/>, expiring buckets that leave it.</summary>
    public void AdvanceTo(long nowMicros)
    {
        if (nowMicros <= _now)
        {
            return;
        }

        _now = nowMicros;
        if (nowMicros < _headEnd)
        {
            return;
        }

        var newHead = (nowMicros + _phase) / _bucketWidth;
        if (_headBucket < 0 || newHead - _headBucket >= _bucketCount)
        {
            Array.Clear(_requests);
            Array.Clear(_errors);
            _windowRequests = 0;
            _windowErrors = 0;
            _latency.Reset();
            _oldestLatencyGroup = OldestLatencyGroup(newHead);
        }
        else
        {
            var expired = (int)(newHead - _headBucket);
            var oldestSlot = (int)((_headBucket + 1) % _bucketCount);
            for (var i = 0; i < expired; i++)
            {
                var slot = (oldestSlot + i) % _bucketCount;
                _windowRequests -= _requests[slot];
                _windowErrors -= _errors[slot];
                _requests[slot] = 0;
                _errors[slot] = 0;
            }

            ExpireLatency(OldestLatencyGroup(newHead));
        }

        _headBucket = newHead;
        _headSlot = (int)(newHead % _bucketCount);
        _headLatencySlot = (int)(newHead / _group % _latencySlots);
        _headStart = (newHead * _bucketWidth) - _phase;
        _headEnd = _headStart + _bucketWidth;
    }

    /// <summary>Counts and p50/p90/p99/p99.9 of the window as it is now (call <see cref="AdvanceTo"/> first to expire by the clock).</summary>
    public WindowSnapshot Snapshot()
    {
        Span<long> quantiles = stackalloc long[4];
        ReadOnlySpan<double> levels = [0.50, 0.90, 0.99, 0.999];
        if (_headBucket < 0)
        {
            quantiles.Clear();
        }
        else
        {
            _latency.ValuesAtQuantilesOver(_headLatencySlot, LatencySlotsOver(_bucketCount), levels, quantiles);
        }

        return new WindowSnapshot(StartMicros, EndMicros, _windowRequests, _windowErrors, quantiles[0], quantiles[1], quantiles[2], quantiles[3]);
    }

    /// <summary>
    /// Requests and errors in the newest buckets covering <paramref name="windowMicros"/> (rounded up to whole
    /// buckets, at most the whole window), and the span of event time those buckets cover up to now.
    /// </summary>
    public (long Requests, long Errors, long SpanMicros) CountsOver(long windowMicros)
    {
        if (_headBucket < 0)
        {
            return (0, 0, 0);
        }

        var buckets = (int)Math.Clamp((windowMicros + _bucketWidth - 1) / _bucketWidth, 1, _bucketCount);
        var span = _now + 1 - (((_headBucket - buckets + 1) * _bucketWidth) - _phase);
        if (buckets == _bucketCount)
        {
            return (_windowRequests, _windowErrors, span);
        }

        long requests = 0, errors = 0;
        for (var i = 0; i < buckets; i++)
        {
            var slot = (int)((_headBucket - i) % _bucketCount);
            requests += _requests[slot];
            errors += _errors[slot];
        }

        return (requests, errors, span);
    }

    /// <summary>
    /// Latency (µs) at <paramref name="quantile"/> over the latency sub-windows that hold the newest buckets covering
    /// <paramref name="windowMicros"/> (rounded up to whole buckets, then out to whole sub-windows, at most the
    /// latency span of the window), and how many latencies that rests on.
    /// </summary>
    public (long Value, long Samples) LatencyAtQuantileOver(long windowMicros, double quantile)
    {
        if (_headBucket < 0)
        {
            return (0, 0);
        }

        var buckets = (int)Math.Clamp((windowMicros + _bucketWidth - 1) / _bucketWidth, 1, _bucketCount);
        return _latency.ValueAtQuantileOver(_headLatencySlot, LatencySlotsOver(buckets), quantile);
    }

    /// <summary>Latency (µs) at quantile <paramref name="quantile"/> (0..1) of the window's latency span, 0 when empty.</summary>
    public long LatencyAtQuantile(double quantile) => LatencyAtQuantileOver(long.MaxValue / 2, quantile).Value;

    /// <summary>
    /// Requests and errors counted in the bucket that holds <paramref name="timeMicros"/>, and the latencies of the latency
    /// sub-window holding it; 0 outside the window (latencies: outside the latency span). For tests and evidence.
    /// </summary>
    public (long Requests, long Errors, long Latencies) BucketCounts(long timeMicros)
    {
        var bucket = (timeMicros + _phase) / _bucketWidth;
        if (_headBucket < 0 || bucket > _headBucket || bucket <= _headBucket - _bucketCount)
        {
            return (0, 0, 0);
        }

        var slot = (int)(bucket % _bucketCount);
        var group = bucket / _group;
        var latencies = group >= _oldestLatencyGroup ? _latency.CountOf((int)(group % _latencySlots)) : 0;
        return (_requests[slot], _errors[slot], latencies);
    }

    /// <summary>Bytes this window holds: its object, its count arrays and its latency histograms. Fixed from creation but for the carry table.</summary>
    public long ApproximateBytes => _latency.ApproximateBytes + CountBytes;

    /// <summary>The most this window can hold: every bucket of every latency sub-window counted, the carry table full.</summary>
    public long MaxBytes => _latency.MaxBytes + CountBytes;

    // The object (header and fields, rounded up) and the request and error rings with their array headers.
    private long CountBytes => 160 + (2 * (24 + (_bucketCount * sizeof(long))));

    // First latency sub-window wholly inside the window whose head bucket is `head`: ceil((head - buckets + 1) / group).
    private long OldestLatencyGroup(long head)
    {
        var first = head - _bucketCount + 1;
        return first >= 0 ? (first + _group - 1) / _group : -(-first / _group);
    }

    // Sub-windows that left: cleared, or the whole ring when all did.
    private void ExpireLatency(long oldestGroup)
    {
        if (oldestGroup - _oldestLatencyGroup >= _latencySlots)
        {
            _latency.Reset();
        }
        else
        {
            for (var group = _oldestLatencyGroup; group < oldestGroup; group++)
            {
                _latency.Expire((int)(((group % _latencySlots) + _latencySlots) % _latencySlots));
            }
        }

        _oldestLatencyGroup = oldestGroup;
    }

    // Latency slots, newest first, that hold the newest `buckets` buckets: out to whole sub-windows, within the span.
    private int LatencySlotsOver(int buckets)
    {
        var headGroup = _headBucket / _group;
        var first = _headBucket - buckets + 1;
        var firstGroup = Math.Max(_oldestLatencyGroup, first >= 0 ? first / _group : -1);
        return (int)(headGroup - firstGroup + 1);
    }
}
