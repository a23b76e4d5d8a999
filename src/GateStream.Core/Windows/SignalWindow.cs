namespace GateStream.Core.Windows;

/// <summary>
/// Sliding window for one named metric signal of one series: per bucket count, sum, min, max and the
/// first and last sample, so last/min/max/mean/rate over the window need no sample storage.
/// Count and sum are kept incrementally; min/max/first/last are combined over the buckets at read time
/// (a handful of buckets, no allocation).
/// </summary>
/// <remarks>Single writer: the owning shard thread.</remarks>
public sealed class SignalWindow
{
    private readonly int _bucketCount;
    private readonly long _bucketWidth;
    private readonly long _lengthMicros;
    private readonly long _lateness;
    private readonly Bucket[] _buckets;
    private long _headBucket = -1;
    private long _now = long.MinValue;
    private long _count;
    private double _sum;

    // Cumulative sums are turned into increments on the way in.
    private bool _hasPrevious;
    private double _previousCumulative;
    private long _previousTime;

    public SignalWindow(MetricKind kind, WindowOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.EnsureValid();
        Kind = kind;
        _bucketCount = options.BucketCount;
        _bucketWidth = options.BucketWidthMicros;
        _lengthMicros = _bucketWidth * _bucketCount;
        _lateness = options.AllowedLatenessMicros;
        _buckets = new Bucket[_bucketCount];
    }

    public MetricKind Kind { get; }

    public long Samples => _count;

    /// <summary>The time of the newest sample still in the window, or <see cref="long.MinValue"/> when it holds none.</summary>
    public long LatestSampleMicros
    {
        get
        {
            var latest = long.MinValue;
            foreach (ref readonly var b in _buckets.AsSpan())
            {
                if (b.Count > 0 && b.LastTime > latest)
                {
                    latest = b.LastTime;
                }
            }

            return latest;
        }
    }

    /// <summary>Adds one sample. Never throws; non-finite values are refused by the caller.</summary>
    public RecordOutcome Record(long timeMicros, double value)
    {
        if (_now != long.MinValue && timeMicros < _now - _lateness)
        {
            return RecordOutcome.DroppedLate;
        }

        if (timeMicros > _now)
        {
            AdvanceTo(timeMicros);
        }

        var bucket = timeMicros / _bucketWidth;
        if (bucket <= _headBucket - _bucketCount)
        {
            return RecordOutcome.DroppedLate;
        }

        if (Kind == MetricKind.SumCumulative)
        {
            var running = value;
            if (!_hasPrevious)
            {
                // The first reading of a stream has nothing to be an increment over.
                _hasPrevious = true;
                _previousCumulative = running;
                _previousTime = timeMicros;
                value = 0;
            }
            else if (timeMicros < _previousTime)
            {
                // Out of order: its increment is already inside the later reading.
                value = 0;
            }
            else
            {
                // A decrease is a counter reset: the new total is all increment.
                value = running >= _previousCumulative ? running - _previousCumulative : running;
                _previousCumulative = running;
                _previousTime = timeMicros;
            }

            ref var b = ref _buckets[(int)(bucket % _bucketCount)];
            b.Add(timeMicros, value, running);
        }
        else
        {
            ref var b = ref _buckets[(int)(bucket % _bucketCount)];
            b.Add(timeMicros, value, value);
        }

        _count++;
        _sum += value;
        return RecordOutcome.Recorded;
    }

    /// <summary>Moves the window's now forward, expiring buckets that leave it.</summary>
    public void AdvanceTo(long nowMicros)
    {
        if (nowMicros <= _now)
        {
            return;
        }

        _now = nowMicros;
        var newHead = nowMicros / _bucketWidth;
        if (newHead == _headBucket)
        {
            return;
        }

        if (_headBucket < 0 || newHead - _headBucket >= _bucketCount)
        {
            Array.Clear(_buckets);
            _count = 0;
            _sum = 0;
        }
        else
        {
            for (var b = _headBucket + 1; b <= newHead; b++)
            {
                ref var expired = ref _buckets[(int)(b % _bucketCount)];
                _count -= expired.Count;
                _sum -= expired.Sum;
                expired = default;
            }
        }

        _headBucket = newHead;
    }

    public SignalSnapshot Snapshot()
    {
        if (_count == 0)
        {
            return new SignalSnapshot(Kind, 0, 0, 0, 0, 0, 0, 0);
        }

        var min = double.PositiveInfinity;
        var max = double.NegativeInfinity;
        long firstTime = long.MaxValue, lastTime = long.MinValue;
        double first = 0, last = 0, lastReported = 0;
        foreach (ref readonly var b in _buckets.AsSpan())
        {
            if (b.Count == 0)
            {
                continue;
            }

            min = Math.Min(min, b.Min);
            max = Math.Max(max, b.Max);
            if (b.FirstTime < firstTime)
            {
                firstTime = b.FirstTime;
                first = b.First;
            }

            if (b.LastTime >= lastTime)
            {
                lastTime = b.LastTime;
                last = b.Last;
                lastReported = b.LastReported;
            }
        }

        double rate;
        if (Kind == MetricKind.Gauge)
        {
            rate = lastTime > firstTime ? (last - first) * 1_000_000.0 / (lastTime - firstTime) : 0;
        }
        else
        {
            rate = _sum * 1_000_000.0 / _lengthMicros;
        }

        // Float sums that were added and subtracted drift; an empty-looking sum snaps to zero.
        var sum = Math.Abs(_sum) < 1e-9 ? 0 : _sum;
        return new SignalSnapshot(Kind, _count, lastReported, min, max, sum / _count, sum, rate);
    }

    private struct Bucket
    {
        public long Count;
        public double Sum;
        public double Min;
        public double Max;
        public long FirstTime;
        public double First;
        public long LastTime;
        public double Last;
        public double LastReported;

        public void Add(long time, double value, double reported)
        {
            if (Count == 0)
            {
                Min = Max = value;
                FirstTime = LastTime = time;
                First = Last = value;
                LastReported = reported;
            }
            else
            {
                Min = Math.Min(Min, value);
                Max = Math.Max(Max, value);
                if (time < FirstTime)
                {
                    FirstTime = time;
                    First = value;
                }

                if (time >= LastTime)
                {
                    LastTime = time;
                    Last = value;
                    LastReported = reported;
                }
            }

            Count++;
            Sum += value;
        }
    }
}
