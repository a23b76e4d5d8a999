using Prometheus;

namespace GateStream.Daemon.Decisions.Log;

/// <summary>The decision log's state in <c>/metrics</c>: fault mode, failed appends, and what recovery skipped at start.</summary>
internal static class DecisionLogMetrics
{
    /// <summary>Skipped runs beyond this many are summed in the totals but get no series of their own.</summary>
    public const int MaxSkipSeries = 100;

    /// <summary>Registers the log's metrics; returns the counter of failed appends for the caller to count them in.</summary>
    public static Counter Register(CollectorRegistry registry, DecisionLog log)
    {
        var factory = Metrics.WithCustomRegistry(registry);
        var healthy = factory.CreateGauge("gatestream_decision_log_healthy",
            "1 while appends to the decision log work; 0 in fault mode (/healthz says why).");
        var restart = factory.CreateGauge("gatestream_decision_log_restart_required",
            "1 when the decision log refuses appends until the daemon restarts (a failed fsync).");
        var failures = factory.CreateCounter("gatestream_decision_log_append_failures_total",
            "Decisions the log could not make durable (not applied, not published).");
        var fsyncs = factory.CreateCounter("gatestream_decision_log_fsyncs_total",
            "Group commits of the decision log: each fsync makes every decision written before it durable.");
        var report = log.RecoveryReport;
        factory.CreateGauge("gatestream_decision_log_recovery_skipped_bytes_total",
            "Bytes recovery could not read as records at start (damaged runs stepped over plus a truncated tail).").Set(report.SkippedBytes);
        factory.CreateGauge("gatestream_decision_log_recovery_skipped_runs",
            "Runs of unreadable bytes recovery stepped over or truncated at start.").Set(report.Skipped.Count);
        factory.CreateGauge("gatestream_decision_log_recovery_reserved_sequences",
            "Sequences recovery will not give out because a damaged tail may have held them.").Set(report.ReservedSequences);
        var skipped = factory.CreateGauge("gatestream_decision_log_recovery_skipped_bytes",
            "One series per run recovery could not read: file, offset, the good sequences around it, and whether it was truncated.",
            "file", "offset", "sequence_before", "sequence_after", "truncated");
        foreach (var skip in report.Skipped.Take(MaxSkipSeries))
        {
            skipped.WithLabels(
                Path.GetFileName(skip.File),
                skip.Offset.ToString(System.Globalization.CultureInfo.InvariantCulture),
                skip.SequenceBefore.ToString(System.Globalization.CultureInfo.InvariantCulture),
                skip.SequenceAfter.ToString(System.Globalization.CultureInfo.InvariantCulture),
                skip.Truncated ? "true" : "false").Set(skip.Length);
        }

        registry.AddBeforeCollectCallback(() =>
        {
            var health = log.Health;
            healthy.Set(health.Healthy ? 1 : 0);
            restart.Set(health.RestartRequired ? 1 : 0);
            fsyncs.IncTo(log.Fsyncs);
        });
        return failures;
    }
}
