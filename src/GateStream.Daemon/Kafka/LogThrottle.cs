using System.Globalization;

namespace GateStream.Daemon.Kafka;

/// <summary>
/// Lets one log message through per interval and counts the ones held back, so a flood of bad messages or a broker
/// outage costs a line every few seconds, not one per message. Thread-safe. Every line held back is also counted in
/// <see cref="SuppressedLogLines"/> under <paramref name="source"/> (<c>gatestream_log_lines_suppressed_total</c>).
/// </summary>
/// <param name="clock">The clock the interval is measured on.</param>
/// <param name="interval">At most one line per interval.</param>
/// <param name="source">The ingest path or component, the metric's label; the Kafka source's throttles use the default.</param>
internal sealed class LogThrottle(TimeProvider clock, TimeSpan interval, string source = "kafka")
{
    private readonly SuppressedLogLines.Counter _counter = SuppressedLogLines.For(source);
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
                _counter.Increment();
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

/// <summary>
/// Log lines held back by rate limiting, per source, process-wide (every throttle of every ingest path adds to it);
/// exported as <c>gatestream_log_lines_suppressed_total{source}</c>.
/// </summary>
internal static class SuppressedLogLines
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Counter> Counters = new(StringComparer.Ordinal);

    public static Counter For(string source) => Counters.GetOrAdd(source, static _ => new Counter());

    /// <summary>The lines held back so far for <paramref name="source"/>.</summary>
    public static long Count(string source) => Counters.TryGetValue(source, out var counter) ? counter.Value : 0;

    /// <summary>Publishes the counts in <paramref name="registry"/>, refreshed before each scrape.</summary>
    public static void Export(Prometheus.CollectorRegistry registry)
    {
        ArgumentNullException.ThrowIfNull(registry);
        var metric = Prometheus.Metrics.WithCustomRegistry(registry).CreateCounter(
            "gatestream_log_lines_suppressed_total", "Log lines not written because of rate limiting (bad input floods, broker errors), by source.", "source");
        registry.AddBeforeCollectCallback(() =>
        {
            foreach (var (source, counter) in Counters)
            {
                metric.WithLabels(source).IncTo(counter.Value);
            }
        });
    }

    internal sealed class Counter
    {
        private long _value;

        public long Value => Interlocked.Read(ref _value);

        public void Increment() => Interlocked.Increment(ref _value);
    }
}
