using System.Collections.Concurrent;
using GateStream.Daemon.Diagnostics;
using GateStream.Ingest;
using Prometheus;

namespace GateStream.Daemon.Auth;

/// <summary>
/// Every refused sender, whatever refused it (a missing or wrong token on an ingest listener, a client certificate
/// that is missing or not issued by the configured CA): counted in <c>gatestream_auth_refused_total{listener,reason}</c>
/// and logged naming the peer, at most one line a second (<see cref="BadInputLog"/>, source <see cref="LogSource"/>),
/// never the token. Thread-safe.
/// </summary>
internal sealed class AuthRefusals
{
    /// <summary>The rate limit's budget, and the source label of <c>gatestream_log_lines_suppressed_total</c>.</summary>
    public const string LogSource = "auth";

    private readonly Counter _refused;
    private readonly ConcurrentDictionary<(string Listener, string Reason), Counter.Child> _children = new();
    private readonly ILogger<AuthRefusals> _logger;

    public AuthRefusals(DaemonMetrics metrics, ILogger<AuthRefusals> logger)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _logger = logger;
        _refused = Metrics.WithCustomRegistry(metrics.Registry).CreateCounter(
            "gatestream_auth_refused_total",
            "Senders refused for authentication, by listener (otlp, push, framed; grpc or http for client certificates) and reason.",
            "listener", "reason");
    }

    /// <summary>Shows the series at zero before the first refusal, so alerts on its rate work from the start.</summary>
    public void Declare(string listener, string reason) => Child(listener, reason);

    /// <summary>Counts and (rate-limited) logs one refusal. <paramref name="message"/> must not contain the presented token.</summary>
    public void Refused(string listener, string reason, string peer, string message)
    {
        Child(listener, reason).Inc();
        if (BadInputLog.ShouldLog(LogSource, out var suppressed))
        {
            DaemonLog.AuthRefused(_logger, listener, LogText.Sanitize(peer, 256), reason, LogText.Sanitize(message), suppressed);
        }
    }

    /// <summary>Refusals counted so far (tests read it; /metrics shows the same).</summary>
    public double Count(string listener, string reason) => Child(listener, reason).Value;

    private Counter.Child Child(string listener, string reason) =>
        _children.GetOrAdd((listener, reason), static (key, counter) => counter.WithLabels(key.Listener, key.Reason), _refused);
}
