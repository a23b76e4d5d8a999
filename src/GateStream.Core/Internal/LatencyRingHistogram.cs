using System.Numerics;
using System.Runtime.CompilerServices;

namespace GateStream.Core.Internal;

/// <summary>
/// The latency histogram of a whole sliding window: one count per log-linear bucket for each ring slot
/// (time bucket) and for the window total, stored in pages that exist only where values fell.
/// </summary>
/// <remarks>
/// <para>
/// Buckets: values below <c>2 x S</c> (S = sub-buckets per octave, 64 at 2 significant digits) have a
/// bucket each; above, every octave [2^k, 2^(k+1)) is split into S equal buckets. A bucket's width is at
/// most 1/S of its lower bound, and a quantile is reported as the bucket's middle, so it is within
/// 1/(2S) of the exact sample quantile: 0.78% at S = 64. The index is a shift and a
/// <see cref="BitOperations.Log2(ulong)"/>, no table and no floating point.
/// </para>
/// <para>
/// Memory: a page is one octave of counts (S counters). The total has <c>ushort</c> pages (promoted to 32 bits per
/// page by a second page of high halves when a counter wraps); each ring slot
/// has <c>byte</c> pages, promoted where needed: the first time a counter of a slot's page wraps, the page
/// gets a second byte page holding the high bytes (so 16-bit counters), and a high byte that wraps in turn
/// spills 65,536 into a side table. So a slot count stays exact however busy the series is, and a series
/// pays one byte per bucket until it is busy enough to need more. Memory follows the octaves latencies
/// actually span: a page per octave per slot. Pages of an expired slot go back to a free list owned by the histogram and
/// are reused by the next slot, so steady traffic allocates nothing; the arrays grow only when the
/// distribution widens. Worst case (every octave in every slot) is bounded by
/// <see cref="MaxBytes"/>; typical traffic (one to two decades of latency) stays well below it.
/// </para>
/// <para>
/// Sliding: the expired slot's pages are subtracted from the total ("subtract the expired bucket"), so the
/// total is never re-summed. Single writer: the owning shard thread.
/// </para>
/// </remarks>
internal sealed class LatencyRingHistogram
{
    private const short NoPage = -1;

    private readonly int _slotCount;
    private readonly int _subBits;
    private readonly int _pageSize;
    private readonly int _pagesPerHistogram;
    private readonly int _unitShift;

    // Total: histogram page -> page number in _totalCounts of the low 16 bits, and of the high 16 bits once a low
    // counter of that page wrapped (null until any did); and the count of each histogram page.
    private readonly short[] _totalPage;
    private short[]? _totalHighPage;
    private readonly long[] _totalPageSum;
    private ushort[] _totalCounts = [];
    private short[] _totalFree = [];
    private int _totalFreeCount;
    private int _totalPagesAllocated;

    // Slots: (slot, histogram page) -> page number in _slotCounts of the low bytes, and of the high bytes once a
    // low byte of that page wrapped (null until any did).
    private readonly short[] _slotPage;
    private short[]? _slotHighPage;
    private byte[] _slotCounts = [];
    private short[] _slotFree = [];
    private int _slotFreeCount;
    private int _slotPagesAllocated;

    // (slot, index) -> multiples of 65,536 that wrapped a slot counter. Null until a counter first wraps.
    private Dictionary<long, long>? _spill;

    private long _totalCount;

    // Highest histogram page with a count in the total, or -1: where high quantiles start walking down.
    private int _maxPage = -1;

    public LatencyRingHistogram(int slotCount, long lowest, long highest, int significantDigits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slotCount, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(lowest, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(highest, 2 * lowest);
        _slotCount = slotCount;
        _subBits = SubBucketBits(significantDigits);
        _pageSize = 1 << _subBits;
        _unitShift = BitOperations.Log2((ulong)lowest);
        Highest = highest;
        _pagesPerHistogram = (IndexOf(highest) >> _subBits) + 1;
        _totalPage = new short[_pagesPerHistogram];
        _totalPage.AsSpan().Fill(NoPage);
        _totalPageSum = new long[_pagesPerHistogram];
        _slotPage = new short[slotCount * _pagesPerHistogram];
        _slotPage.AsSpan().Fill(NoPage);
    }

    /// <summary>The largest value recorded as itself; callers clamp to it.</summary>
    public long Highest { get; }

    public long TotalCount => _totalCount;

    /// <summary>Counters in one histogram (all octaves): the dense size this class avoids.</summary>
    public int BucketIndexCount => _pagesPerHistogram << _subBits;

    /// <summary>Bytes this histogram holds now (arrays and their headers).</summary>
    public long ApproximateBytes =>
        96 + (_totalPage.Length * sizeof(short)) + (_totalPageSum.Length * sizeof(long)) + (_slotPage.Length * sizeof(short))
        + (((_slotHighPage?.Length ?? 0) + (_totalHighPage?.Length ?? 0)) * sizeof(short))
        + ((long)_totalCounts.Length * sizeof(ushort)) + _slotCounts.Length
        + ((_totalFree.Length + _slotFree.Length) * sizeof(short)) + ((_spill?.Count ?? 0) * 40L);

    /// <summary>Upper bound of <see cref="ApproximateBytes"/>: every octave present in every slot (spills aside).</summary>
    public long MaxBytes =>
        96 + ((long)_pagesPerHistogram * (sizeof(short) + sizeof(long)))
        + ((long)_slotCount * _pagesPerHistogram * 2 * (_pageSize + (2 * sizeof(short))))
        + ((long)_pagesPerHistogram * 2 * ((_pageSize * sizeof(ushort)) + (2 * sizeof(short))));

    /// <summary>Sub-buckets per octave as a power of two: the smallest S with 1/(2S) within 10^-digits.</summary>
    internal static int SubBucketBits(int significantDigits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(significantDigits, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(significantDigits, 4);
        var needed = 5 * (long)Math.Pow(10, significantDigits - 1); // 1/(2S) <= 10^-d  <=>  S >= 10^d / 2
        return BitOperations.Log2((ulong)(needed - 1)) + 1;
    }

    /// <summary>Records one latency (0 &lt;= value &lt;= <see cref="Highest"/>) into ring slot <paramref name="slot"/> and the total.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Record(int slot, long value)
    {
        var index = IndexOf(value);
        var page = index >> _subBits;
        var offset = index & (_pageSize - 1);

        int totalPage = _totalPage[page];
        if (totalPage < 0)
        {
            totalPage = NewTotalPage(page);
        }

        if (++_totalCounts[(totalPage << _subBits) + offset] == 0)
        {
            CarryTotal(page, offset);
        }

        _totalPageSum[page]++;
        _totalCount++;

        ref var slotPage = ref _slotPage[(slot * _pagesPerHistogram) + page];
        if (slotPage < 0)
        {
            slotPage = NewSlotPage();
        }

        if (++_slotCounts[(slotPage << _subBits) + offset] == 0)
        {
            Carry(slot, page, index);
        }
    }

    /// <summary>
    /// The window slid: <paramref name="expired"/> slots starting at <paramref name="oldestSlot"/> leave it;
    /// their counts are subtracted from the total and they come back empty.
    /// </summary>
    public void Expire(int oldestSlot, int expired)
    {
        if (expired >= _slotCount)
        {
            Reset();
            return;
        }

        for (var i = 0; i < expired; i++)
        {
            ExpireSlot((oldestSlot + i) % _slotCount);
        }

        while (_maxPage >= 0 && _totalPageSum[_maxPage] == 0)
        {
            _maxPage--;
        }
    }

    /// <summary>Empties the window. Keeps the arrays, so a series that comes back allocates nothing.</summary>
    public void Reset()
    {
        for (var slot = 0; slot < _slotCount; slot++)
        {
            FreeSlotPages(_slotPage.AsSpan(slot * _pagesPerHistogram, _pagesPerHistogram));
            if (_slotHighPage is not null)
            {
                FreeSlotPages(_slotHighPage.AsSpan(slot * _pagesPerHistogram, _pagesPerHistogram));
            }
        }

        for (var page = 0; page < _totalPage.Length; page++)
        {
            if (_totalPage[page] >= 0)
            {
                FreeTotalPage(page);
            }
        }

        _spill?.Clear();
        _totalCount = 0;
        _maxPage = -1;
    }

    /// <summary>Count recorded in ring slot <paramref name="slot"/>.</summary>
    public long SlotCount(int slot)
    {
        var sum = SumOf(_slotPage.AsSpan(slot * _pagesPerHistogram, _pagesPerHistogram));
        if (_slotHighPage is not null)
        {
            sum += SumOf(_slotHighPage.AsSpan(slot * _pagesPerHistogram, _pagesPerHistogram)) << 8;
        }

        if (_spill is not null)
        {
            foreach (var (key, wrapped) in _spill)
            {
                if (key / BucketIndexCount == slot)
                {
                    sum += wrapped;
                }
            }
        }

        return sum;
    }

    /// <summary>Value at <paramref name="quantile"/> (0..1) of the window; 0 when empty.</summary>
    public long ValueAtQuantile(double quantile)
    {
        if (_totalCount == 0)
        {
            return 0;
        }

        if (quantile < 0.5)
        {
            Span<long> value = stackalloc long[1];
            ValuesAtQuantiles([quantile], value);
            return value[0];
        }

        // High quantiles walk down from the top: p99 is a few pages at most below the highest one.
        var target = CountAtQuantile(quantile);
        var atOrBelow = _totalCount; // counts at histogram pages <= page
        for (var page = _maxPage; page >= 0; page--)
        {
            var pageSum = _totalPageSum[page];
            if (pageSum == 0)
            {
                continue;
            }

            if (atOrBelow - pageSum >= target && page > 0)
            {
                atOrBelow -= pageSum;
                continue;
            }

            var low = TotalPages(page, out var high);
            for (var offset = _pageSize - 1; offset > 0; offset--)
            {
                var count = low[offset] + (high.IsEmpty ? 0L : (long)high[offset] << 16);
                if (atOrBelow - count < target)
                {
                    return MiddleOf((page << _subBits) + offset);
                }

                atOrBelow -= count;
            }

            return MiddleOf(page << _subBits);
        }

        return 0;
    }

    /// <summary>
    /// Value at <paramref name="quantile"/> over the <paramref name="slots"/> newest ring slots ending at
    /// <paramref name="newestSlot"/>, which hold <paramref name="count"/> values: a rule's own window inside the
    /// series' longer one. Walks down from the highest non-empty page, summing the slots' counts per bucket;
    /// allocates nothing. Same definition as <see cref="ValueAtQuantile"/>.
    /// </summary>
    public long ValueAtQuantileOver(int newestSlot, int slots, long count, double quantile)
    {
        if (count <= 0 || _maxPage < 0)
        {
            return 0;
        }

        var target = Math.Max(1, (long)((Math.Clamp(quantile, 0, 1) * count) + 0.5));
        var atOrBelow = count;
        for (var page = _maxPage; page >= 0; page--)
        {
            if (_totalPageSum[page] == 0)
            {
                continue; // a sub-window's counts are within the total's
            }

            for (var offset = _pageSize - 1; offset >= 0; offset--)
            {
                long here = 0;
                for (var i = 0; i < slots; i++)
                {
                    here += SlotCountAt((newestSlot - i + _slotCount) % _slotCount, page, offset);
                }

                if (here > 0 && atOrBelow - here < target)
                {
                    return MiddleOf((page << _subBits) + offset);
                }

                atOrBelow -= here;
            }
        }

        return 0;
    }

    // Count of one bucket in one ring slot: its low byte, its high byte once promoted, and what spilled past 16 bits.
    private long SlotCountAt(int slot, int page, int offset)
    {
        var at = (slot * _pagesPerHistogram) + page;
        var low = _slotPage[at];
        if (low < 0)
        {
            return 0;
        }

        long count = _slotCounts[(low << _subBits) + offset];
        if (_slotHighPage is not null && _slotHighPage[at] is var high && high >= 0)
        {
            count += (long)_slotCounts[(high << _subBits) + offset] << 8;
        }

        if (_spill is not null && _spill.TryGetValue(((long)slot * BucketIndexCount) + (page << _subBits) + offset, out var spilled))
        {
            count += spilled;
        }

        return count;
    }

    /// <summary>
    /// Several quantiles in one walk. <paramref name="quantiles"/> must be ascending. A quantile q is the middle of
    /// the bucket where the running count first reaches round(q x total) (at least 1).
    /// </summary>
    public void ValuesAtQuantiles(ReadOnlySpan<double> quantiles, Span<long> values)
    {
        if (_totalCount == 0)
        {
            values[..quantiles.Length].Clear();
            return;
        }

        var next = 0;
        var target = CountAtQuantile(quantiles[0]);
        long running = 0;
        for (var page = 0; page <= _maxPage; page++)
        {
            var pageSum = _totalPageSum[page];
            if (running + pageSum < target)
            {
                running += pageSum;
                continue;
            }

            var low = TotalPages(page, out var high);
            for (var offset = 0; offset < low.Length; offset++)
            {
                running += low[offset] + (high.IsEmpty ? 0L : (long)high[offset] << 16);
                // Several quantiles may land in the same bucket.
                while (running >= target)
                {
                    values[next] = MiddleOf((page << _subBits) + offset);
                    if (++next == quantiles.Length)
                    {
                        return;
                    }

                    target = CountAtQuantile(quantiles[next]);
                }
            }
        }

        // Rounding put a target past the total: the rest are the highest value seen.
        var highest = values[Math.Max(0, next - 1)];
        values[next..quantiles.Length].Fill(highest);
    }

    /// <summary>The bucket index of <paramref name="value"/>: exact below 2S, then S buckets per octave.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal int IndexOf(long value)
    {
        var v = (ulong)value >> _unitShift;
        var shift = Math.Max(0, BitOperations.Log2(v) - _subBits);
        return (shift << _subBits) + (int)(v >> shift);
    }

    /// <summary>Lowest value of bucket <paramref name="index"/> and its width.</summary>
    internal (long Lowest, long Width) BoundsOf(int index)
    {
        var shift = Math.Max(0, (index >> _subBits) - 1);
        var mantissa = (long)index - (shift << _subBits);
        return (mantissa << (shift + _unitShift), 1L << (shift + _unitShift));
    }

    private long MiddleOf(int index)
    {
        var (lowest, width) = BoundsOf(index);
        return Math.Min(Highest, lowest + ((width - 1) / 2));
    }

    private long CountAtQuantile(double quantile) =>
        Math.Max(1, (long)((Math.Clamp(quantile, 0, 1) * _totalCount) + 0.5));

    private void ExpireSlot(int slot)
    {
        var pages = _slotPage.AsSpan(slot * _pagesPerHistogram, _pagesPerHistogram);
        var highPages = _slotHighPage is null ? default : _slotHighPage.AsSpan(slot * _pagesPerHistogram, _pagesPerHistogram);
        for (var page = 0; page < pages.Length; page++)
        {
            var slotPage = pages[page];
            if (slotPage < 0)
            {
                continue;
            }

            var removed = SubtractFromTotal(page, _slotCounts.AsSpan(slotPage << _subBits, _pageSize), 0);
            FreeSlotPage(slotPage);
            pages[page] = NoPage;
            if (!highPages.IsEmpty && highPages[page] >= 0)
            {
                removed += SubtractFromTotal(page, _slotCounts.AsSpan(highPages[page] << _subBits, _pageSize), 8);
                FreeSlotPage(highPages[page]);
                highPages[page] = NoPage;
            }

            // Counts this slot spilled past 16 bits stay in the total until ExpireSpills takes them out.
            Remove(page, removed);
        }

        if (_spill is { Count: > 0 })
        {
            ExpireSpills(slot);
        }
    }

    private void ExpireSpills(int slot)
    {
        List<long>? gone = null;
        foreach (var (key, wrapped) in _spill!)
        {
            if (key / BucketIndexCount != slot)
            {
                continue;
            }

            var index = (int)(key % BucketIndexCount);
            var page = index >> _subBits;
            SubtractFromTotal(page, index & (_pageSize - 1), wrapped);
            Remove(page, wrapped);
            (gone ??= []).Add(key);
        }

        foreach (var key in gone ?? [])
        {
            _spill.Remove(key);
        }
    }

    private void Remove(int page, long count)
    {
        _totalCount -= count;
        if ((_totalPageSum[page] -= count) == 0)
        {
            FreeTotalPage(page);
        }
    }

    // The total's low and high halves of histogram page `page` (high empty while the page has no counter past 16 bits).
    private Span<ushort> TotalPages(int page, out Span<ushort> high)
    {
        high = _totalHighPage is { } highPages && highPages[page] >= 0
            ? _totalCounts.AsSpan(highPages[page] << _subBits, _pageSize)
            : default;
        return _totalCounts.AsSpan(_totalPage[page] << _subBits, _pageSize);
    }

    private long SubtractFromTotal(int page, ReadOnlySpan<byte> counts, int shift)
    {
        var low = TotalPages(page, out var high);
        long removed = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            var count = counts[i] << shift;
            removed += count;
            if (high.IsEmpty)
            {
                low[i] = (ushort)(low[i] - count);
                continue;
            }

            var value = (uint)(low[i] | (high[i] << 16)) - (uint)count;
            low[i] = (ushort)value;
            high[i] = (ushort)(value >> 16);
        }

        return removed;
    }

    private void SubtractFromTotal(int page, int offset, long count)
    {
        var low = TotalPages(page, out var high);
        var value = (uint)(low[offset] | (high.IsEmpty ? 0 : high[offset] << 16)) - (uint)count;
        low[offset] = (ushort)value;
        if (!high.IsEmpty)
        {
            high[offset] = (ushort)(value >> 16);
        }
    }

    private void CarryTotal(int page, int offset)
    {
        if (_totalHighPage is null)
        {
            _totalHighPage = new short[_totalPage.Length];
            _totalHighPage.AsSpan().Fill(NoPage);
        }

        ref var highPage = ref _totalHighPage[page];
        if (highPage < 0)
        {
            highPage = TakeTotalPage();
        }

        _totalCounts[(highPage << _subBits) + offset]++;
    }

    private long SumOf(ReadOnlySpan<short> pages)
    {
        long sum = 0;
        foreach (var page in pages)
        {
            if (page >= 0)
            {
                foreach (var count in _slotCounts.AsSpan(page << _subBits, _pageSize))
                {
                    sum += count;
                }
            }
        }

        return sum;
    }

    private void FreeSlotPages(Span<short> pages)
    {
        for (var page = 0; page < pages.Length; page++)
        {
            if (pages[page] >= 0)
            {
                FreeSlotPage(pages[page]);
                pages[page] = NoPage;
            }
        }
    }

    // A low byte wrapped: carry into the page's high byte, promoting the page to 16 bits the first time.
    private void Carry(int slot, int page, int index)
    {
        if (_slotHighPage is null)
        {
            _slotHighPage = new short[_slotPage.Length];
            _slotHighPage.AsSpan().Fill(NoPage);
        }

        ref var highPage = ref _slotHighPage[(slot * _pagesPerHistogram) + page];
        if (highPage < 0)
        {
            highPage = NewSlotPage();
        }

        if (++_slotCounts[(highPage << _subBits) + (index & (_pageSize - 1))] == 0)
        {
            Spill(slot, index);
        }
    }

    private void Spill(int slot, int index)
    {
        _spill ??= [];
        var key = ((long)slot * BucketIndexCount) + index;
        _spill[key] = _spill.GetValueOrDefault(key) + (ushort.MaxValue + 1);
    }

    private int NewTotalPage(int page)
    {
        var number = TakeTotalPage();
        _totalPage[page] = number;
        if (page > _maxPage)
        {
            _maxPage = page;
        }

        return number;
    }

    private short TakeTotalPage()
    {
        if (_totalFreeCount == 0)
        {
            Grow(ref _totalCounts, ref _totalFree, ref _totalFreeCount, ref _totalPagesAllocated);
        }

        return _totalFree[--_totalFreeCount];
    }

    private void FreeTotalPage(int page)
    {
        FreeTotalNumber(_totalPage[page]);
        _totalPage[page] = NoPage;
        _totalPageSum[page] = 0;
        if (_totalHighPage is not null && _totalHighPage[page] >= 0)
        {
            FreeTotalNumber(_totalHighPage[page]);
            _totalHighPage[page] = NoPage;
        }
    }

    private void FreeTotalNumber(short number)
    {
        _totalCounts.AsSpan(number << _subBits, _pageSize).Clear();
        _totalFree[_totalFreeCount++] = number;
    }

    private short NewSlotPage()
    {
        if (_slotFreeCount == 0)
        {
            Grow(ref _slotCounts, ref _slotFree, ref _slotFreeCount, ref _slotPagesAllocated);
        }

        return _slotFree[--_slotFreeCount];
    }

    private void FreeSlotPage(short number)
    {
        _slotCounts.AsSpan(number << _subBits, _pageSize).Clear();
        _slotFree[_slotFreeCount++] = number;
    }

    // Grows an arena by an eighth (at least two pages) and puts the new pages on its free list. Called only when every
    // page is in use, i.e. when the distribution spans more octaves than it ever did: never per event in steady state.
    private void Grow<T>(ref T[] counts, ref short[] free, ref int freeCount, ref int allocated)
    {
        var more = Math.Max(2, allocated / 8);
        var pages = allocated + more;
        Array.Resize(ref counts, pages << _subBits);
        Array.Resize(ref free, pages);
        for (var number = pages - 1; number >= allocated; number--)
        {
            free[freeCount++] = (short)number;
        }

        allocated = pages;
    }
}
