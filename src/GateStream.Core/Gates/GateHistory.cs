using System.Runtime.InteropServices;
using GateStream.Core.Time;

namespace GateStream.Core.Gates;

/// <summary>
/// One point of a gate's chart history: what both versions served over [<see cref="TimeMicros"/> - <see cref="SpanMicros"/>,
/// <see cref="TimeMicros"/>), each version's p99 latency over its series window as it stood at <see cref="TimeMicros"/>,
/// and the gate's decided weight then.
/// </summary>
/// <remarks>
/// 40 bytes (<c>Unsafe.SizeOf</c>; asserted by <c>GateHistoryTests</c>): 8 (time) + 4 x 4 (counts) + 2 x 4 (p99s) + 4 (span)
/// + 2 (weight), padded to the 8-byte alignment of the time. Counts are per point, so points of any span add up.
/// </remarks>
[StructLayout(LayoutKind.Sequential)]
public readonly record struct HistoryPoint(
    long TimeMicros,
    int SpanMicros,
    int CanaryRequests,
    int CanaryErrors,
    int BaselineRequests,
    int BaselineErrors,
    float CanaryP99Ms,
    float BaselineP99Ms,
    short Weight);

/// <summary>
/// A gate's chart history, bounded: one point per <see cref="FineResolution"/> for the last <see cref="FineHorizon"/>,
/// and one per <see cref="CoarseResolution"/> (sums of the fine points; the highest p99; the last weight) for the last
/// <see cref="CoarseHorizon"/>. Sampled at the gate's evaluation ticks from the counts the tick already reads, so nothing
/// is added to the ingest path.
/// </summary>
/// <remarks>
/// Single writer: the gate's shard thread; readers copy on that thread (<see cref="Since"/>). The rings start small and
/// double up to their capacity (<see cref="FineCapacity"/>, <see cref="CoarseCapacity"/>), so a short rollout holds only
/// what it used; once full they overwrite the oldest point and allocate nothing more.
/// </remarks>
public sealed class GateHistory
{
    public static readonly TimeSpan FineResolution = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan FineHorizon = TimeSpan.FromMinutes(30);
    public static readonly TimeSpan CoarseResolution = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan CoarseHorizon = TimeSpan.FromHours(24);

    /// <summary>Fine points kept: <see cref="FineHorizon"/> / <see cref="FineResolution"/> = 1,800.</summary>
    public static readonly int FineCapacity = (int)(FineHorizon / FineResolution);

    /// <summary>Coarse points kept: <see cref="CoarseHorizon"/> / <see cref="CoarseResolution"/> = 2,880.</summary>
    public static readonly int CoarseCapacity = (int)(CoarseHorizon / CoarseResolution);

    private const int InitialPoints = 64;
    private static readonly long FineMicros = EventTime.FromTimeSpan(FineResolution);
    private static readonly long CoarseMicros = EventTime.FromTimeSpan(CoarseResolution);

    private readonly PointRing _fine = new(Math.Min(InitialPoints, FineCapacity), FineCapacity);
    private readonly PointRing _coarse = new(Math.Min(InitialPoints / 8, CoarseCapacity), CoarseCapacity);
    private long _lastMicros;
    private long _canaryRequests;
    private long _canaryErrors;
    private long _baselineRequests;
    private long _baselineErrors;

    // The coarse point being summed from fine points.
    private long _coarseStartMicros;
    private long _coarseCanaryRequests;
    private long _coarseCanaryErrors;
    private long _coarseBaselineRequests;
    private long _coarseBaselineErrors;
    private float _coarseCanaryP99;
    private float _coarseBaselineP99;

    /// <param name="startMicros">When the gate started: the first point covers the time from then.</param>
    public GateHistory(long startMicros)
    {
        _lastMicros = startMicros;
        _coarseStartMicros = startMicros;
    }

    /// <summary>Fine points held now.</summary>
    public int FineCount => _fine.Count;

    /// <summary>Coarse points held now.</summary>
    public int CoarseCount => _coarse.Count;

    /// <summary>Whether a point is due at <paramref name="nowMicros"/> (one fine resolution after the last).</summary>
    public bool IsDue(long nowMicros) => nowMicros - _lastMicros >= FineMicros;

    /// <summary>
    /// Adds the point ending at <paramref name="nowMicros"/> from both versions' cumulative counts since the gate started
    /// (the point holds the difference from the previous sample). Call when <see cref="IsDue"/>.
    /// </summary>
    public void Sample(long nowMicros, long canaryRequests, long canaryErrors, long baselineRequests, long baselineErrors, double canaryP99Ms, double baselineP99Ms, int weight)
    {
        var point = new HistoryPoint(
            nowMicros,
            Narrow(nowMicros - _lastMicros),
            Narrow(canaryRequests - _canaryRequests),
            Narrow(canaryErrors - _canaryErrors),
            Narrow(baselineRequests - _baselineRequests),
            Narrow(baselineErrors - _baselineErrors),
            (float)canaryP99Ms,
            (float)baselineP99Ms,
            (short)weight);
        (_lastMicros, _canaryRequests, _canaryErrors, _baselineRequests, _baselineErrors) = (nowMicros, canaryRequests, canaryErrors, baselineRequests, baselineErrors);
        _fine.Add(point);

        _coarseCanaryRequests += point.CanaryRequests;
        _coarseCanaryErrors += point.CanaryErrors;
        _coarseBaselineRequests += point.BaselineRequests;
        _coarseBaselineErrors += point.BaselineErrors;
        _coarseCanaryP99 = Math.Max(_coarseCanaryP99, point.CanaryP99Ms);
        _coarseBaselineP99 = Math.Max(_coarseBaselineP99, point.BaselineP99Ms);
        if (nowMicros - _coarseStartMicros >= CoarseMicros)
        {
            _coarse.Add(new HistoryPoint(
                nowMicros,
                Narrow(nowMicros - _coarseStartMicros),
                Narrow(_coarseCanaryRequests),
                Narrow(_coarseCanaryErrors),
                Narrow(_coarseBaselineRequests),
                Narrow(_coarseBaselineErrors),
                _coarseCanaryP99,
                _coarseBaselineP99,
                point.Weight));
            _coarseStartMicros = nowMicros;
            (_coarseCanaryRequests, _coarseCanaryErrors, _coarseBaselineRequests, _coarseBaselineErrors) = (0, 0, 0, 0);
            (_coarseCanaryP99, _coarseBaselineP99) = (0, 0);
        }
    }

    /// <summary>
    /// The points ending after <paramref name="afterMicros"/>, oldest first: coarse points for the time before the oldest
    /// fine point, then the fine points. Allocates the copy (a reader's cost, not the tick's).
    /// </summary>
    public HistoryPoint[] Since(long afterMicros)
    {
        var fineStart = _fine.Count == 0 ? long.MaxValue : _fine[0].TimeMicros - _fine[0].SpanMicros;
        var points = new List<HistoryPoint>();
        for (var i = 0; i < _coarse.Count; i++)
        {
            var point = _coarse[i];
            if (point.TimeMicros > afterMicros && point.TimeMicros <= fineStart)
            {
                points.Add(point);
            }
        }

        for (var i = 0; i < _fine.Count; i++)
        {
            if (_fine[i].TimeMicros > afterMicros)
            {
                points.Add(_fine[i]);
            }
        }

        return [.. points];
    }

    private static int Narrow(long value) => (int)Math.Clamp(value, 0, int.MaxValue);

    /// <summary>A ring of points that grows by doubling until <c>capacity</c>, then overwrites its oldest.</summary>
    private sealed class PointRing(int initial, int capacity)
    {
        private HistoryPoint[] _items = new HistoryPoint[initial];
        private int _start;

        public int Count { get; private set; }

        public HistoryPoint this[int index] => _items[(_start + index) % _items.Length];

        public void Add(HistoryPoint point)
        {
            if (Count == _items.Length && _items.Length < capacity)
            {
                // Not wrapped yet (nothing was overwritten before the ring reached its capacity): the order is kept.
                Array.Resize(ref _items, Math.Min(_items.Length * 2, capacity));
            }

            if (Count < _items.Length)
            {
                _items[(_start + Count) % _items.Length] = point;
                Count++;
                return;
            }

            _items[_start] = point;
            _start = (_start + 1) % _items.Length;
        }
    }
}
