namespace GateStream.Core.Internal;

/// <summary>
/// Quantiles over the newest ring slots. A quantile q of n values is the value reported by the bucket where the running
/// count (lowest bucket first) first reaches max(1, round(q x n)): the bucket holding the exact sample quantile at that
/// rank, so the answer is within <see cref="LatencyBuckets.MaxRelativeError"/> of it. Nothing here allocates.
/// </summary>
internal sealed partial class LatencyRingHistogram
{
    /// <summary>
    /// Value at <paramref name="quantile"/> (0..1) over the <paramref name="slots"/> newest ring slots ending at
    /// <paramref name="newestSlot"/>, and how many values that rests on; (0, 0) when they are empty.
    /// </summary>
    public (long Value, long Samples) ValueAtQuantileOver(int newestSlot, int slots, double quantile)
    {
        var range = new SlotRange(this, newestSlot, slots, stackalloc int[slots]);
        var count = range.Count();
        if (count == 0)
        {
            return (0, 0);
        }

        if (quantile < 0.5)
        {
            Span<long> value = stackalloc long[1];
            WalkUp(range, count, [quantile], value);
            return (value[0], count);
        }

        return (WalkDown(range, count, TargetRank(quantile, count)), count);
    }

    /// <summary>
    /// Several quantiles (ascending) over the <paramref name="slots"/> newest ring slots in one walk; zeros when empty.
    /// Returns the number of values they rest on.
    /// </summary>
    public long ValuesAtQuantilesOver(int newestSlot, int slots, ReadOnlySpan<double> quantiles, Span<long> values)
    {
        var range = new SlotRange(this, newestSlot, slots, stackalloc int[slots]);
        var count = range.Count();
        if (count == 0)
        {
            values[..quantiles.Length].Clear();
            return 0;
        }

        WalkUp(range, count, quantiles, values);
        return count;
    }

    private static long TargetRank(double quantile, long count) =>
        Math.Max(1, (long)((Math.Clamp(quantile, 0, 1) * count) + 0.5));

    // High quantiles: from the highest non-empty page down, p99 is a few pages below it.
    private long WalkDown(SlotRange range, long count, long target)
    {
        var atOrBelow = count; // values in buckets <= the current one
        for (var page = range.TopPage(); page >= 0; page--)
        {
            var pageCount = range.PageCount(page);
            if (pageCount == 0)
            {
                continue;
            }

            if (atOrBelow - pageCount >= target)
            {
                atOrBelow -= pageCount;
                continue;
            }

            for (var bucket = Math.Min(_bucketCount, (page + 1) << PageBits) - 1; bucket >= page << PageBits; bucket--)
            {
                var here = range.CountAt(bucket);
                if (here > 0 && atOrBelow - here < target)
                {
                    return _buckets.ValueOf(bucket);
                }

                atOrBelow -= here;
            }
        }

        return _buckets.ValueOf(0);
    }

    private void WalkUp(SlotRange range, long count, ReadOnlySpan<double> quantiles, Span<long> values)
    {
        var next = 0;
        var target = TargetRank(quantiles[0], count);
        long running = 0;
        for (var page = 0; page < _pageCount; page++)
        {
            var pageCount = range.PageCount(page);
            if (running + pageCount < target)
            {
                running += pageCount;
                continue;
            }

            var end = Math.Min(_bucketCount, (page + 1) << PageBits);
            for (var bucket = page << PageBits; bucket < end; bucket++)
            {
                running += range.CountAt(bucket);
                // Several quantiles may land in the same bucket.
                while (running >= target)
                {
                    values[next] = _buckets.ValueOf(bucket);
                    if (++next == quantiles.Length)
                    {
                        return;
                    }

                    target = TargetRank(quantiles[next], count);
                }
            }
        }

        // Unreachable while the counts add up; kept total for safety.
        values[next..quantiles.Length].Fill(next == 0 ? 0 : values[next - 1]);
    }

    /// <summary>The ring slots a walk reads, newest first, as their first index into the count arrays.</summary>
    private readonly ref struct SlotRange
    {
        private readonly LatencyRingHistogram _histogram;
        private readonly Span<int> _slots;

        public SlotRange(LatencyRingHistogram histogram, int newestSlot, int slots, Span<int> buffer)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(slots, histogram._slotCount);
            _histogram = histogram;
            _slots = buffer;
            for (var i = 0; i < slots; i++)
            {
                _slots[i] = (newestSlot - i + histogram._slotCount) % histogram._slotCount;
            }
        }

        public long Count()
        {
            long count = 0;
            foreach (var slot in _slots)
            {
                count += _histogram.CountOf(slot);
            }

            return count;
        }

        /// <summary>The highest page holding a value in any of the slots, -1 when all are empty.</summary>
        public int TopPage()
        {
            var top = -1;
            foreach (var slot in _slots)
            {
                top = Math.Max(top, _histogram.TopPageOf(slot));
            }

            return top;
        }

        public long PageCount(int page)
        {
            var pageCounts = _histogram._pageCounts;
            var pages = _histogram._pageCount;
            long count = 0;
            foreach (var slot in _slots)
            {
                count += pageCounts[(slot * pages) + page];
            }

            return count;
        }

        public long CountAt(int bucket)
        {
            var histogram = _histogram;
            var counts = histogram._counts;
            var buckets = histogram._bucketCount;
            long count = 0;
            foreach (var slot in _slots)
            {
                var at = (slot * buckets) + bucket;
                count += counts[at] + histogram.CarriedAt(at);
            }

            return count;
        }
    }
}
