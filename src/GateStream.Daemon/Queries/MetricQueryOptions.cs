namespace GateStream.Daemon.Queries;

/// <summary>
/// <c>GateStream:MetricQueries</c>: how the daemon runs the metric queries of Flagger Canaries (MetricTemplates through
/// <c>templateRef</c>, inline queries).
/// </summary>
public sealed class MetricQueryOptions
{
    /// <summary>Flagger's Prometheus provider gives every query 5 s.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(5);

    public const int DefaultMaxConcurrency = 4;

    /// <summary>
    /// Where a template's <c>secretRef</c> is found: <c>DIR/NAMESPACE/NAME/</c> holding the secret's keys as files
    /// (<c>token</c>, or <c>username</c> and <c>password</c>), the layout of a Kubernetes Secret mounted as a volume.
    /// Empty: a template with a secretRef cannot be queried (each check fails, and the log says why).
    /// </summary>
    public string? SecretsDirectory { get; set; }

    /// <summary>Queries in flight at once, across every gate.</summary>
    public int MaxConcurrency { get; set; } = DefaultMaxConcurrency;

    /// <summary>Longest wait for one query (never more than half the check interval, less a second, so its result is in before the check).</summary>
    public TimeSpan Timeout { get; set; } = DefaultTimeout;

    public IEnumerable<string> Validate()
    {
        if (MaxConcurrency is < 1 or > 256)
        {
            yield return $"GateStream:MetricQueries:MaxConcurrency must be between 1 and 256 (got {MaxConcurrency}).";
        }

        if (Timeout < TimeSpan.FromMilliseconds(100) || Timeout > TimeSpan.FromMinutes(1))
        {
            yield return $"GateStream:MetricQueries:Timeout must be between 100 ms and 1 min (got {Timeout}).";
        }

        if (SecretsDirectory is { Length: > 0 } dir && !Directory.Exists(dir))
        {
            yield return $"GateStream:MetricQueries:SecretsDirectory '{dir}' does not exist.";
        }
    }
}
