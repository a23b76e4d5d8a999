using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GateStream.Daemon.Decisions.Log;

/// <summary>Unhealthy while the decision log cannot make decisions durable, with the reason.</summary>
internal sealed class DecisionLogHealthCheck(DecisionLog log) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var health = log.Health;
        return Task.FromResult(health.Healthy ? HealthCheckResult.Healthy(health.Description) : HealthCheckResult.Unhealthy(health.Description));
    }

    /// <summary>
    /// <c>/healthz</c> body: the overall status (<c>Healthy</c> alone when all is well), then one line per check that is
    /// not healthy with its description, so an operator (or a probe's log) sees why, not only that.
    /// </summary>
    public static Task WriteReportAsync(HttpContext context, HealthReport report)
    {
        var text = new StringBuilder(report.Status.ToString());
        foreach (var (name, entry) in report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy))
        {
            text.Append('\n').Append(name).Append(": ").Append(entry.Status).Append(": ").Append(entry.Description);
        }

        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text.ToString(), context.RequestAborted);
    }
}
