namespace GateStream.Core.Gates;

/// <summary>
/// Cumulative request/error counts of one series sampled at a fixed resolution, so a gate can read counts
/// over windows longer than the series' event-time window (burn-rate pairs of an hour, budget since start).
/// Windows read here are by arrival at evaluation ticks, to the resolution (default 5 s).
/// </summary>
/// <remarks>Single writer: the shard thread. Allocated once per gate; no allocation per tick.</remarks>
internal sealed class CountHistory
{
    private readonly long _resolution;
    private readonly long[] _times;
    private readonly long[] _requests;
    private readonly long[] _errors;
    private int _count;
    private int _next;

    public CountHistory(TimeSpan horizon, TimeSpan resolution)
    {
        _resolution = Time.EventTime.FromTimeSpan(resolution);
        var capacity = (int)Math.Min(100_000, (horizon.Ticks / resolution.Ticks) + 2);
        _times = new long[capacity];
        _requests = new long[capacity];
        _errors = new long[capacity];
    }

    public long LastRequests { get; private set; }

    public long LastErrors { get; private set; }

    /// <summary>Records the cumulative counts at <paramref name="nowMicros"/> (kept when a resolution step has passed).</summary>
    public void Sample(long nowMicros, long requests, long errors)
    {
        LastRequests = requests;
        LastErrors = errors;
        var newest = _count == 0 ? long.MinValue : _times[(_next - 1 + _times.Length) % _times.Length];
        if (_count > 0 && nowMicros - newest < _resolution)
        {
            return;
        }

        _times[_next] = nowMicros;
        _requests[_next] = requests;
        _errors[_next] = errors;
        _next = (_next + 1) % _times.Length;
        _count = Math.Min(_count + 1, _times.Length);
    }

    /// <summary>
    /// Counts over the last <paramref name="windowMicros"/>: the latest counts minus the newest sample at or
    /// before the window's start (or the oldest sample kept). Returns the span actually covered.
    /// </summary>
    public (long Requests, long Errors, long SpanMicros) Over(long nowMicros, long windowMicros)
    {
        if (_count == 0)
        {
            return (0, 0, 0);
        }

        var start = nowMicros - windowMicros;
        var oldest = (_next - _count + _times.Length) % _times.Length;
        var chosen = oldest;
        for (var i = _count - 1; i >= 0; i--)
        {
            var index = (oldest + i) % _times.Length;
            if (_times[index] <= start)
            {
                chosen = index;
                break;
            }
        }

        return (LastRequests - _requests[chosen], LastErrors - _errors[chosen], nowMicros - _times[chosen]);
    }
}
