using System.Runtime.CompilerServices;

namespace GateStream.Core.Internal;

/// <summary>
/// The latency histograms of a sliding window's sub-windows: one 16-bit count per bucket of <see cref="LatencyBuckets"/>
/// for each ring slot, all allocated up front, so memory is the same for a quiet series and a busy one and has a fixed
/// upper bound (<see cref="MaxBytes"/>).
/// </summary>
/// <remarks>
/// <para>
/// Layout (partial files by concern): this file holds the counts, recording and expiry; <c>.Quantiles</c> the walks that
/// read them; <c>.Carries</c> what a bucket counts past 16 bits. There is no separate window total: a quantile over the
/// whole window sums the slots bucket by bucket, as a quantile over the newest slots does, and per-page counts (16
/// buckets) let the walk skip pages. So recording touches one slot, and expiring a slot is clearing it.
/// </para>
/// <para>
/// Counts past 65,535 in one bucket of one slot carry into a small fixed table (<see cref="CarryCapacity"/> entries,
/// allocated the first time a carry happens and kept). When it is full, the bucket stops at 65,535 and the event is
/// counted in <see cref="Saturated"/> instead: memory stays bounded whatever a sender does. Single writer: the owning
/// shard thread.
/// </para>
/// </remarks>
internal sealed partial class LatencyRingHistogram
{
    /// <summary>Buckets per page (a power of two): the unit the quantile walks skip by.</summary>
    internal const int PageBits = 4;

    private const int PageSize = 1 << PageBits;

    private readonly LatencyBuckets _buckets;
    private readonly int _slotCount;
    private readonly int _bucketCount;
    private readonly int _pageCount;

    // (slot, bucket) -> count mod 65,536; (slot, page) -> count of the page's buckets; per slot, its count and its highest
    // non-empty page + 1 (0: empty), so a quantile read needs no sum over pages and a high quantile starts its walk at the top.
    private readonly ushort[] _counts;
    private readonly uint[] _pageCounts;
    private readonly uint[] _slotSummary;

    public LatencyRingHistogram(int slotCount, long lowest, long highest, int significantDigits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slotCount, 1);
        _buckets = LatencyBuckets.For(lowest, highest, significantDigits);
        _slotCount = slotCount;
        _bucketCount = _buckets.Count;
        _pageCount = (_bucketCount + PageSize - 1) >> PageBits;
        _counts = new ushort[slotCount * _bucketCount];
        _pageCounts = new uint[slotCount * _pageCount];
        _slotSummary = new uint[slotCount * 2];
    }

    /// <summary>The largest value recorded as itself; callers clamp to it.</summary>
    public long Highest => _buckets.Highest;

    public int SlotCount => _slotCount;

    /// <summary>The bucket layout (shared).</summary>
    public LatencyBuckets Buckets => _buckets;

    /// <summary>Events not recorded because their bucket was past 65,535 in its slot and the carry table was full.</summary>
    public long Saturated { get; private set; }

    /// <summary>Bytes this histogram holds now: its object, its arrays and their headers (the layout is shared).</summary>
    public long ApproximateBytes => FixedBytes + (_carryKeys is null ? 0 : CarryTableBytes);

    /// <summary>The most <see cref="ApproximateBytes"/> can become: the carry table allocated. Counts are preallocated.</summary>
    public long MaxBytes => FixedBytes + CarryTableBytes;

    private long FixedBytes =>
        ObjectBytes + ArrayBytes(_counts.Length, sizeof(ushort)) + ArrayBytes(_pageCounts.Length, sizeof(uint))
        + ArrayBytes(_slotSummary.Length, sizeof(uint));

    /// <summary>
    /// Records one latency (0 &lt;= value &lt;= <see cref="Highest"/>) into ring slot <paramref name="slot"/>. False when the
    /// value's bucket is saturated in that slot (counted in <see cref="Saturated"/>).
    /// </summary>
    /// <remarks>The hot path: a table read, three increments and a compare.</remarks>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Record(int slot, long value)
    {
        var index = _buckets.IndexOf(value);
        var at = (slot * _bucketCount) + index;
        if (++_counts[at] == 0 && !Carry(at))
        {
            return false;
        }

        var page = index >> PageBits;
        _pageCounts[(slot * _pageCount) + page]++;
        ref var summary = ref _slotSummary[slot * 2];
        summary++;
        ref var top = ref Unsafe.Add(ref summary, 1);
        if ((uint)page >= top)
        {
            top = (uint)page + 1;
        }

        return true;
    }

    /// <summary>Count recorded in ring slot <paramref name="slot"/>.</summary>
    public long CountOf(int slot) => _slotSummary[slot * 2];

    /// <summary>The highest page holding a value in ring slot <paramref name="slot"/>, -1 when it is empty.</summary>
    private int TopPageOf(int slot) => (int)_slotSummary[(slot * 2) + 1] - 1;

    /// <summary>Empties ring slot <paramref name="slot"/> (it left the window).</summary>
    public void Expire(int slot)
    {
        if (CountOf(slot) == 0)
        {
            return;
        }

        _counts.AsSpan(slot * _bucketCount, _bucketCount).Clear();
        _pageCounts.AsSpan(slot * _pageCount, _pageCount).Clear();
        _slotSummary.AsSpan(slot * 2, 2).Clear();
        if (_carryCount > 0)
        {
            RemoveCarries(slot);
        }
    }

    /// <summary>Empties every slot. Keeps the arrays, so a series that comes back allocates nothing.</summary>
    public void Reset()
    {
        for (var slot = 0; slot < _slotCount; slot++)
        {
            Expire(slot);
        }
    }

    // A .NET object header and method table pointer, and an array's (with its length).
    private const int ObjectHeaderBytes = 16;
    private const int ArrayHeaderBytes = 24;

    private static long ObjectBytes => ObjectHeaderBytes + (5 * sizeof(long)) + (4 * sizeof(int)) + sizeof(long);

    private static long ArrayBytes(long length, int elementBytes) => ArrayHeaderBytes + (((length * elementBytes) + 7) & ~7L);
}
