using System.Globalization;

namespace GateStream.Daemon.Kafka;

/// <summary>
/// Lets one log message through per interval and counts the ones held back, so a flood of bad messages or a broker
/// outage costs a line every few seconds, not one per message. Thread-safe.
/// </summary>
internal sealed class LogThrottle(TimeProvider clock, TimeSpan interval)
{
    private readonly Lock _lock = new();
    private long _lastTimestamp = long.MinValue;
    private long _suppressed;

    /// <summary>True when this occurrence should be logged; <paramref name="suppressed"/> then says how many were not since the last.</summary>
    public bool ShouldLog(out string suppressed)
    {
        lock (_lock)
        {
            var now = clock.GetTimestamp();
            if (_lastTimestamp != long.MinValue && clock.GetElapsedTime(_lastTimestamp, now) < interval)
            {
                _suppressed++;
                suppressed = "";
                return false;
            }

            suppressed = _suppressed == 0 ? "" : string.Create(CultureInfo.InvariantCulture, $" ({_suppressed} more like it not logged)");
            _suppressed = 0;
            _lastTimestamp = now;
            return true;
        }
    }
}
