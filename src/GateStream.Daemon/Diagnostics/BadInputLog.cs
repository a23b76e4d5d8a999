using System.Collections.Concurrent;
using GateStream.Daemon.Kafka;
using GateStream.Ingest;

namespace GateStream.Daemon.Diagnostics;

/// <summary>
/// The one way bad input is logged on every ingest path (OTLP, Push, framed; Kafka through its own
/// <see cref="LogThrottle"/>s): at most one line per source per <see cref="Interval"/>, the next line saying how many
/// were held back, each held-back line counted in <c>gatestream_log_lines_suppressed_total{source}</c>; and the
/// sender's text (names, peers, decoder messages quoting them) escaped by <see cref="LogText.Sanitize"/> so it cannot
/// forge a line. A flood of 20,000 bad requests costs a line a second, not 40,000.
/// </summary>
/// <remarks>Process-wide and thread-safe: every connection and call of a source shares its budget.</remarks>
internal static class BadInputLog
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private static readonly ConcurrentDictionary<string, LogThrottle> Throttles = new(StringComparer.Ordinal);

    /// <summary>Whether a line for <paramref name="source"/> may be written now; <paramref name="suppressed"/> then says how many were not since the last.</summary>
    public static bool ShouldLog(string source, out string suppressed) => Throttle(source).ShouldLog(out suppressed);

    /// <summary>Logs bad input from <paramref name="peer"/> on <paramref name="source"/>, rate-limited and sanitised.</summary>
    public static void Write(ILogger logger, string source, string peer, string message)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (ShouldLog(source, out var suppressed))
        {
            DaemonLog.BadInputLine(logger, source, LogText.Sanitize(peer, 256), LogText.Sanitize(message) + suppressed);
        }
    }

    private static LogThrottle Throttle(string source) =>
        Throttles.GetOrAdd(source, static s => new LogThrottle(TimeProvider.System, Interval, s));
}
