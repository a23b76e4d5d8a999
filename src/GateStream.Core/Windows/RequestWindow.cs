using System.Runtime.CompilerServices;
using GateStream.Core.Internal;

namespace GateStream.Core.Windows;

/// <summary>
/// One series' sliding window by event time: a ring of time buckets, each with a request count,
/// an error count and (inside <see cref="LatencyRingHistogram"/>) a latency histogram. Window
/// totals are kept incrementally: a record adds to its bucket and the totals, a slide subtracts
/// the buckets that leave.
/// </summary>
/// <remarks>
/// Single writer: the shard thread that owns the series. Not thread-safe by design.
/// The window's "now" is the newest event time it has seen or the clock time it was advanced to,
/// whichever is later; the head bucket is the bucket of that instant.
/// </remarks>
public sealed class RequestWindow
{
    private readonly int _bucketCount;
    private readonly long _bucketWidth;
    private readonly long _phase;
    private readonly long _lateness;
    private readonly long _histogramHighest;
    private readonly long[] _requests;
    private readonly long[] _errors;
    private readonly LatencyRingHistogram _latency;

    private long _windowRequests;
    private long _windowErrors;
    private long _headBucket = -1;
    private long _headStart = long.MaxValue;
    private long _headEnd = long.MinValue;
    private int _headSlot;
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
        _latency = new LatencyRingHistogram(
            _bucketCount, options.HistogramLowestMicros, options.HistogramHighestMicros, options.HistogramSignificantDigits);
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

    /// <summary>
    /// Records one request. The caller has validated latency (0 &lt;= latency) and time (&gt;= 0);
    /// this method handles lateness, expiry and clamping, and never throws.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public RecordOutcome Record(long timeMicros, long latencyMicros, bool error)
    {
        int slot;
        if (timeMicros >= _headStart && timeMicros < _headEnd)
        {
            // Fast path: the head bucket. Still subject to lateness when lateness < bucket width.
            if (timeMicros < _now - _lateness)
            {
                return RecordOutcome.DroppedLate;
            }

            slot = _headSlot;
            if (timeMicros > _now)
            {
                _now = timeMicros;
            }
        }
        else if (timeMicros >= _headEnd)
        {
            AdvanceTo(timeMicros);
            slot = _headSlot;
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

        _latency.Record(slot, latencyMicros);
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

            _latency.Expire(oldestSlot, expired);
        }

        _headBucket = newHead;
        _headSlot = (int)(newHead % _bucketCount);
        _headStart = (newHead * _bucketWidth) - _phase;
        _headEnd = _headStart + _bucketWidth;
    }

    /// <summary>Counts and p50/p90/p99/p99.9 of the window as it is now (call <see cref="AdvanceTo"/> first to expire by the clock).</summary>
    public WindowSnapshot Snapshot()
    {
        Span<long> quantiles = stackalloc long[4];
        ReadOnlySpan<double> levels = [0.50, 0.90, 0.99, 0.999];
        _latency.ValuesAtQuantiles(levels, quantiles);
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
    /// Latency (µs) at <paramref name="quantile"/> over the newest buckets covering <paramref name="windowMicros"/>
    /// (rounded up to whole buckets, at most the whole window), and how many latencies that rests on.
    /// </summary>
    public (long Value, long Samples) LatencyAtQuantileOver(long windowMicros, double quantile)
    {
        var buckets = _headBucket < 0 ? 0 : (int)Math.Clamp((windowMicros + _bucketWidth - 1) / _bucketWidth, 1, _bucketCount);
        if (buckets == 0 || buckets == _bucketCount)
        {
            return (_latency.ValueAtQuantile(quantile), _windowRequests);
        }

        var (requests, _, _) = CountsOver(windowMicros);
        return (_latency.ValueAtQuantileOver(_headSlot, buckets, requests, quantile), requests);
    }

    /// <summary>Latency (µs) at quantile <paramref name="quantile"/> (0..1) of the window, 0 when empty.</summary>
    public long LatencyAtQuantile(double quantile) => _latency.ValueAtQuantile(quantile);

    /// <summary>Requests counted in the bucket that holds <paramref name="timeMicros"/>, 0 outside the window. For tests and evidence.</summary>
    public (long Requests, long Errors, long Latencies) BucketCounts(long timeMicros)
    {
        var bucket = (timeMicros + _phase) / _bucketWidth;
        if (_headBucket < 0 || bucket > _headBucket || bucket <= _headBucket - _bucketCount)
        {
            return (0, 0, 0);
        }

        var slot = (int)(bucket % _bucketCount);
        return (_requests[slot], _errors[slot], _latency.SlotCount(slot));
    }

    /// <summary>Approximate bytes this window holds, for capacity planning.</summary>
    public long ApproximateBytes => _latency.ApproximateBytes + (2L * _bucketCount * sizeof(long)) + 128;

    /// <summary>The most this window can hold: latencies in every octave of the histogram in every bucket.</summary>
    public long MaxBytes => _latency.MaxBytes + (2L * _bucketCount * sizeof(long)) + 128;
}
