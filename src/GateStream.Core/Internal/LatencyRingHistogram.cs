using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using HdrHistogram;

namespace GateStream.Core.Internal;

/// <summary>
/// The latency histogram of a whole sliding window, kept incrementally, plus what it needs to
/// expire buckets. HdrHistogram does the value-to-index mapping and the quantile walk; this class
/// owns the counts.
/// </summary>
/// <remarks>
/// Memory is the constraint: with the default window (12 buckets) one histogram's counts are
/// 10 KB, and 12 buckets plus a running total would be 13 of them. The oldest bucket is never
/// stored: it is implicitly <c>total - sum(stored buckets)</c>. So a window of N buckets keeps
/// N arrays (the total and the N-1 newest buckets). When the window slides, the total is re-summed
/// from the stored buckets that stay (vectorised, once per bucket width per series), which is
/// exactly "subtract the expired bucket" without storing it.
/// Single writer: the owning shard thread. Readers on other threads must go through the shard.
/// </remarks>
internal sealed class LatencyRingHistogram : HistogramBase
{
    private readonly int[] _total;
    // Ring slot -> its counts; the oldest slot has none (null), its counts are total - the others.
    private readonly int[][] _slots;
    private readonly int _bucketCount;
    private readonly int _subBucketHalfCount;
    private readonly int _subBucketHalfCountMagnitude;
    private readonly int _unitMagnitude;
    private int _oldestSlot;

    // Highest index with a non-zero count in the total, or -1: where high quantiles start walking down.
    private int _maxIndex = -1;
    private int _recordSlot;
    private long _totalCount;

    public LatencyRingHistogram(int bucketCount, long lowest, long highest, int significantDigits)
        : base(lowest, highest, significantDigits)
    {
        _bucketCount = bucketCount;
        var length = (BucketCount + 1) * (SubBucketCount / 2);
        _total = new int[length];
        // One array per slot except the oldest, which is implicit. The slot that is oldest owns no array.
        _slots = new int[bucketCount][];
        for (var slot = 1; slot < bucketCount; slot++)
        {
            _slots[slot] = new int[length];
        }

        _oldestSlot = 0;
        _subBucketHalfCount = SubBucketCount / 2;
        _subBucketHalfCountMagnitude = BitOperations.Log2((uint)_subBucketHalfCount);
        _unitMagnitude = BitOperations.Log2((ulong)lowest);
    }

    public int CountsLength => _total.Length;

    public override long TotalCount
    {
        get => _totalCount;
        protected set => _totalCount = value;
    }

    protected override int WordSizeInBytes => sizeof(int);

    protected override long MaxAllowableCount => int.MaxValue;

    /// <summary>Records one latency into ring slot <paramref name="slot"/> and the window total.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Record(int slot, long value)
    {
        _recordSlot = slot;
        RecordValue(value);
    }

    /// <summary>
    /// The window slid: <paramref name="expired"/> slots starting at the current oldest leave it and
    /// come back empty as the newest. Afterwards the oldest slot is <c>(oldest + expired) % N</c>.
    /// </summary>
    public void Expire(int expired)
    {
        if (expired <= 0)
        {
            return;
        }

        if (expired >= _bucketCount)
        {
            Reset((_oldestSlot + expired) % _bucketCount);
            return;
        }

        var newOldest = (_oldestSlot + expired) % _bucketCount;

        // New total = sum of the slots that stay in the window. newOldest's array is part of that sum
        // and then becomes implicit; the slots that expired come back empty.
        Array.Clear(_total);
        long newTotalCount = 0;
        for (var i = 0; i < _bucketCount - expired; i++)
        {
            var array = _slots[(newOldest + i) % _bucketCount];
            newTotalCount += AddInto(_total, array);
        }

        for (var i = 1; i < expired; i++)
        {
            Array.Clear(_slots[(_oldestSlot + i) % _bucketCount]);
        }

        _oldestSlot = newOldest;
        MoveOwnership();
        _totalCount = newTotalCount;
        while (_maxIndex >= 0 && _total[_maxIndex] == 0)
        {
            _maxIndex--;
        }
    }

    /// <summary>Empties the window and makes <paramref name="oldestSlot"/> the oldest ring slot.</summary>
    public void Reset(int oldestSlot)
    {
        Array.Clear(_total);
        foreach (var array in _slots)
        {
            if (array is not null)
            {
                Array.Clear(array);
            }
        }

        _oldestSlot = oldestSlot;
        MoveOwnership();
        _totalCount = 0;
        _maxIndex = -1;
    }

    /// <summary>Value at <paramref name="quantile"/> (0..1), HdrHistogram's definition; 0 when empty.</summary>
    public long ValueAtQuantile(double quantile)
    {
        if (_totalCount == 0)
        {
            return 0;
        }

        if (quantile < 0.5 || _maxIndex < 0)
        {
            Span<long> value = stackalloc long[1];
            ValuesAtQuantiles([quantile], value);
            return value[0];
        }

        // High quantiles walk down from the highest non-empty count: p99 is a few dozen counts below the top,
        // while walking up from zero would read most of the array (the walk is memory-bound across many series).
        var target = CountAtQuantile(quantile);
        var index = _maxIndex;
        var atOrBelow = _totalCount; // counts at indices <= index
        while (index > 0 && atOrBelow - _total[index] >= target)
        {
            atOrBelow -= _total[index];
            index--;
        }

        return HighestEquivalentValue(ValueFromIndex(index));
    }

    /// <summary>
    /// Value at <paramref name="quantile"/> over the <paramref name="slots"/> newest ring slots ending at
    /// <paramref name="newestSlot"/> (fewer than the whole ring, so the implicit oldest slot is never among them),
    /// which hold <paramref name="count"/> values. Walks the slots' counts side by side; allocates nothing.
    /// </summary>
    public long ValueAtQuantileOver(int newestSlot, int slots, long count, double quantile)
    {
        if (count <= 0 || _maxIndex < 0)
        {
            return 0;
        }

        var target = Math.Max(1, (long)((Math.Clamp(quantile, 0, 1) * count) + 0.5));
        var atOrBelow = count;
        var index = _maxIndex; // a sub-window's counts are within the total's
        while (index > 0)
        {
            long here = 0;
            for (var i = 0; i < slots; i++)
            {
                here += _slots[(newestSlot - i + _bucketCount) % _bucketCount][index];
            }

            if (atOrBelow - here < target)
            {
                break;
            }

            atOrBelow -= here;
            index--;
        }

        return HighestEquivalentValue(ValueFromIndex(index));
    }

    /// <summary>
    /// Several quantiles in one walk of the counts. <paramref name="quantiles"/> must be ascending.
    /// Same definition as <see cref="HistogramBase.GetValueAtPercentile"/>: the highest value equivalent to
    /// the bucket where the running count first reaches round(q * total), at least 1.
    /// </summary>
    public void ValuesAtQuantiles(ReadOnlySpan<double> quantiles, Span<long> values)
    {
        if (_totalCount == 0)
        {
            values[..quantiles.Length].Clear();
            return;
        }

        var counts = _total.AsSpan();
        var next = 0;
        var target = CountAtQuantile(quantiles[0]);
        long running = 0;
        var index = 0;
        // Skip whole vectors of counts while the target is not reached: the walk to p99 of a millisecond-scale
        // distribution crosses about a thousand counts. Vector sums of ints are safe while the total fits an int.
        var vectorised = Vector.IsHardwareAccelerated && _totalCount < int.MaxValue;
        var width = Vector<int>.Count;
        while (true)
        {
            if (vectorised)
            {
                while (index + width <= counts.Length)
                {
                    long chunk = Vector.Sum(new Vector<int>(counts.Slice(index, width)));
                    if (running + chunk >= target)
                    {
                        break;
                    }

                    running += chunk;
                    index += width;
                }
            }

            while (index < counts.Length)
            {
                running += counts[index];
                if (running >= target)
                {
                    break;
                }

                index++;
            }

            if (index >= counts.Length)
            {
                return;
            }

            // running includes counts[index]; several quantiles may land on the same index.
            do
            {
                values[next] = HighestEquivalentValue(ValueFromIndex(index));
                if (++next == quantiles.Length)
                {
                    return;
                }

                target = CountAtQuantile(quantiles[next]);
            }
            while (running >= target);

            index++;
        }
    }

    private long CountAtQuantile(double quantile) =>
        Math.Max(1, (long)((Math.Clamp(quantile, 0, 1) * _totalCount) + 0.5));

    private long HighestEquivalentValue(long value) => NextNonEquivalentValue(value) - 1;

    // The inverse of HdrHistogram's value -> counts index mapping (its ValueFromIndex is private).
    private long ValueFromIndex(int index)
    {
        var bucketIndex = (index >> _subBucketHalfCountMagnitude) - 1;
        var subBucketIndex = (index & (_subBucketHalfCount - 1)) + _subBucketHalfCount;
        if (bucketIndex < 0)
        {
            subBucketIndex -= _subBucketHalfCount;
            bucketIndex = 0;
        }

        return (long)subBucketIndex << (bucketIndex + _unitMagnitude);
    }

    /// <summary>Count recorded in ring slot <paramref name="slot"/> (the oldest is derived).</summary>
    public long SlotCount(int slot)
    {
        if (slot != _oldestSlot)
        {
            return Sum(_slots[slot]);
        }

        var others = 0L;
        for (var s = 0; s < _bucketCount; s++)
        {
            if (s != _oldestSlot)
            {
                others += Sum(_slots[s]);
            }
        }

        return _totalCount - others;
    }

    public long ApproximateBytes =>
        (long)_total.Length * sizeof(int) * _bucketCount + (_bucketCount * IntPtr.Size) + 256;

    private void MoveOwnership()
    {
        // The new oldest slot's data now lives only in the total; its array is handed to the slot
        // that lost its array (the previous owner-less slot is one of the expired ones, now newest).
        var freed = _slots[_oldestSlot];
        if (freed is null)
        {
            return;
        }

        Array.Clear(freed);
        _slots[_oldestSlot] = null!;
        for (var s = 0; s < _bucketCount; s++)
        {
            if (s != _oldestSlot && _slots[s] is null)
            {
                _slots[s] = freed;
                return;
            }
        }
    }

    private static long AddInto(int[] target, int[] source)
    {
        var t = target.AsSpan();
        var s = source.AsSpan();
        long sum = 0;
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var tv = MemoryMarshal.Cast<int, Vector<int>>(t);
            var sv = MemoryMarshal.Cast<int, Vector<int>>(s);
            var acc = Vector<int>.Zero;
            for (var v = 0; v < sv.Length; v++)
            {
                tv[v] += sv[v];
                acc += sv[v];
            }

            // Per-lane sums cannot overflow: a lane is a sum of counts of one window bucket.
            Vector.Widen(acc, out var low, out var high);
            sum = Vector.Sum(low + high);
            i = sv.Length * Vector<int>.Count;
        }

        for (; i < s.Length; i++)
        {
            t[i] += s[i];
            sum += s[i];
        }

        return sum;
    }

    private static long Sum(int[] array)
    {
        long sum = 0;
        foreach (var c in array)
        {
            sum += c;
        }

        return sum;
    }

    protected override long GetCountAtIndex(int index) => _total[index];

    protected override void SetCountAtIndex(int index, long value) => _total[index] = (int)value;

    protected override void IncrementCountAtIndex(int index)
    {
        if (index > _maxIndex)
        {
            _maxIndex = index;
        }

        _total[index]++;
        var slot = _slots[_recordSlot];
        if (slot is not null)
        {
            slot[index]++;
        }

        _totalCount++;
    }

    protected override void AddToCountAtIndex(int index, long addend)
    {
        if (index > _maxIndex && addend > 0)
        {
            _maxIndex = index;
        }

        _total[index] += (int)addend;
        var slot = _slots[_recordSlot];
        if (slot is not null)
        {
            slot[index] += (int)addend;
        }

        _totalCount += addend;
    }

    protected override void ClearCounts() => Reset(_oldestSlot);

    protected override void CopyCountsInto(long[] target)
    {
        ArgumentNullException.ThrowIfNull(target);
        for (var i = 0; i < _total.Length; i++)
        {
            target[i] = _total[i];
        }
    }

    public override HistogramBase Copy() =>
        throw new NotSupportedException("A window histogram is owned by its shard; read it through a snapshot.");
}
