using GateStream.Core.Time;
using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Engine;
using GateStream.Daemon.Options;
using Microsoft.Extensions.Options;

namespace GateStream.Daemon.Demo;

/// <summary>
/// Demo traffic for <c>GateStream:Demo:Enabled</c>: deployment <c>demo-api</c> with a healthy baseline and a sequence of
/// canaries, one of which goes bad, so decisions can be watched on a fresh machine with nothing else running.
/// </summary>
internal sealed class DemoTraffic(IOptions<GateStreamOptions> options, EngineHost engine, TimeProvider clock, ILogger<DemoTraffic> logger) : BackgroundService
{
    public const string Deployment = "demo-api";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Demo.Enabled)
        {
            return;
        }

        var random = new Random(7);
        var started = clock.GetUtcNow();
        var canaries = new[] { "v2", "v3" };
        DaemonLog.DemoStarted(logger, Deployment, "v1", "v2-0", 0.75);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100), clock);
        var round = 0;
        var roundStarted = started;
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                var now = clock.GetUtcNow();
                var age = now - roundStarted;
                var canary = $"{canaries[round % canaries.Length]}-{round / canaries.Length}";
                var bad = round % canaries.Length == 0;
                await EmitAsync("v1", 200, 0.001, 20, random, now, stoppingToken).ConfigureAwait(false);
                if (age > TimeSpan.FromSeconds(10))
                {
                    // The bad canary's error rate climbs 45 s in (a small rise: hold), then past the SLO at 90 s (rollback).
                    var errorRate = !bad || age < TimeSpan.FromSeconds(45) ? 0.001 : age < TimeSpan.FromSeconds(90) ? 0.006 : 0.04;
                    await EmitAsync(canary, 100, errorRate, 20, random, now, stoppingToken).ConfigureAwait(false);
                }

                if (age > TimeSpan.FromMinutes(4))
                {
                    round++;
                    roundStarted = now;
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task EmitAsync(string version, double rps, double errorRate, double medianMs, Random random, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var batch = engine.Ingest.EventPool.Rent();
        batch.Key.Set(Deployment, version);
        batch.Source = "demo";
        var count = (int)(rps / 10);
        var end = EventTime.FromDateTimeOffset(now);
        for (var i = 0; i < count; i++)
        {
            var latency = medianMs * 1_000 * Math.Exp(0.5 * ((random.NextDouble() + random.NextDouble() + random.NextDouble()) - 1.5) * 2);
            batch.Add(end - random.Next(0, 100_000), (long)latency, random.NextDouble() < errorRate);
        }

        await engine.Ingest.PostAsync(batch, cancellationToken).ConfigureAwait(false);
    }
}
