using System.Collections.Concurrent;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace GateStream.Core.Internal;

/// <summary>
/// The bucket layout of the latency histograms: which bucket a value falls in, and the value a bucket reports.
/// Immutable and shared by every window with the same range and precision (built once per process).
/// </summary>
/// <remarks>
/// <para>
/// A bucket holds the integers [lo, hi] and reports the integer r that minimises the worst relative error over them,
/// max((r - lo) / lo, (hi - r) / hi), near the harmonic middle 2·lo·hi / (lo + hi). Buckets are as wide as
/// <see cref="MaxRelativeError"/> allows (0.995% at 2 significant digits, i.e. hi/lo up to about 1.02), so a quantile
/// is within that of the exact sample quantile: the exact value lies in the bucket the walk stops in. Geometric
/// buckets need about 35 per octave where HdrHistogram-style linear sub-buckets need 64: 810 buckets over
/// 1 µs .. 60 s (exact below 100 µs) instead of 1,344.
/// </para>
/// <para>
/// Index: a log-linear "fine" index (a shift and a <see cref="BitOperations.Log2(ulong)"/>, 2^fineBits sub-buckets per
/// octave, 4 times finer than the precision needs) looked up in a table of the bucket each fine bucket belongs to.
/// The layout is built greedily from the fine buckets, so bucket edges fall on fine edges. No floating point when
/// recording.
/// </para>
/// </remarks>
internal sealed class LatencyBuckets
{
    private static readonly ConcurrentDictionary<(long Lowest, long Highest, int Digits), LatencyBuckets> Layouts = new();

    private readonly int _fineBits;
    private readonly int _unitShift;
    private readonly int[] _bucketOfFine;
    private readonly long[] _lowest;
    private readonly long[] _reported;

    private LatencyBuckets(long lowest, long highest, int significantDigits)
    {
        Highest = highest;
        MaxRelativeError = 0.995 * Math.Pow(10, -significantDigits);
        _unitShift = BitOperations.Log2((ulong)lowest);
        _fineBits = SubBucketBits(significantDigits) + 2;
        var fineCount = FineIndexOf((ulong)highest >> _unitShift) + 1;
        _bucketOfFine = new int[fineCount];
        var lowests = new List<long>();
        var reported = new List<long>();
        long lo = 0, hi = 0;
        for (var fine = 0; fine < fineCount; fine++)
        {
            var (fineLo, fineHi) = FineBounds(fine);
            fineHi = Math.Min(fineHi, highest);
            if (fine == 0 || ErrorOf(lo, fineHi, out _) > MaxRelativeError)
            {
                if (fine > 0)
                {
                    ErrorOf(lo, hi, out var r);
                    reported.Add(r);
                }

                lo = fineLo;
                lowests.Add(lo);
            }

            hi = fineHi;
            _bucketOfFine[fine] = lowests.Count - 1;
        }

        ErrorOf(lo, hi, out var last);
        reported.Add(last);
        _lowest = [.. lowests];
        _reported = [.. reported];
    }

    /// <summary>The largest value recorded as itself; callers clamp to it.</summary>
    public long Highest { get; }

    /// <summary>Number of buckets over 0 .. <see cref="Highest"/>.</summary>
    public int Count => _lowest.Length;

    /// <summary>Bound on |reported - value| / value for a value at or above the lowest discernible one.</summary>
    public double MaxRelativeError { get; }

    /// <summary>The layout for a range and precision, built on first use and shared afterwards.</summary>
    public static LatencyBuckets For(long lowest, long highest, int significantDigits)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(lowest, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(highest, 2 * lowest);
        ArgumentOutOfRangeException.ThrowIfLessThan(significantDigits, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(significantDigits, 4);
        return Layouts.GetOrAdd((lowest, highest, significantDigits), static key => new LatencyBuckets(key.Lowest, key.Highest, key.Digits));
    }

    /// <summary>Smallest b with 2^-b within 2 x 10^-digits: the linear sub-buckets per octave the precision needs.</summary>
    internal static int SubBucketBits(int significantDigits)
    {
        var needed = 5 * (long)Math.Pow(10, significantDigits - 1); // 1/(2S) <= 10^-d  <=>  S >= 10^d / 2
        return BitOperations.Log2((ulong)(needed - 1)) + 1;
    }

    /// <summary>The bucket of <paramref name="value"/>; values outside 0 .. <see cref="Highest"/> land in the top bucket.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int IndexOf(long value)
    {
        // The clamp (a compare and a move) keeps the fine index inside the table, so the read needs no bounds check.
        var units = Math.Min((ulong)value, (ulong)Highest) >> _unitShift;
        return Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_bucketOfFine), FineIndexOf(units));
    }

    /// <summary>The value bucket <paramref name="index"/> reports: within <see cref="MaxRelativeError"/> of any value it holds.</summary>
    public long ValueOf(int index) => _reported[index];

    /// <summary>Lowest and highest value of bucket <paramref name="index"/>.</summary>
    public (long Lowest, long Highest) BoundsOf(int index) =>
        (_lowest[index], index + 1 < _lowest.Length ? _lowest[index + 1] - 1 : Highest);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int FineIndexOf(ulong units)
    {
        var shift = Math.Max(0, BitOperations.Log2(units) - _fineBits);
        return (shift << _fineBits) + (int)(units >> shift);
    }

    // Values of fine bucket `fine`: exact below 2^(fineBits+1) units, then 2^fineBits per octave.
    private (long Lowest, long Highest) FineBounds(int fine)
    {
        var shift = Math.Max(0, (fine >> _fineBits) - 1);
        var mantissa = (long)fine - (shift << _fineBits);
        var lowest = mantissa << (shift + _unitShift);
        return (lowest, ((mantissa + 1) << (shift + _unitShift)) - 1);
    }

    // Worst relative error of the best integer to report for [lo, hi]; below one unit (lo = 0) only a single value is exact.
    private static double ErrorOf(long lo, long hi, out long reported)
    {
        if (lo == 0)
        {
            reported = hi / 2;
            return hi == 0 ? 0 : double.PositiveInfinity;
        }

        var middle = (long)(2.0 * lo * hi / (lo + hi));
        var best = double.PositiveInfinity;
        reported = lo;
        for (var r = Math.Max(lo, middle - 1); r <= Math.Min(hi, middle + 1); r++)
        {
            var error = Math.Max((r - lo) / (double)lo, (hi - r) / (double)hi);
            if (error < best)
            {
                best = error;
                reported = r;
            }
        }

        return best;
    }
}
