using GateStream.Daemon.Engine;
using Microsoft.Extensions.Hosting.Systemd;

namespace GateStream.Daemon.Diagnostics;

/// <summary>
/// Sends systemd watchdog pings (<c>WATCHDOG=1</c>) at half of <c>WatchdogSec</c>, but only while the evaluation loop is
/// ticking: a daemon whose engine is stuck stops pinging and systemd restarts it.
/// </summary>
internal sealed class WatchdogService(ISystemdNotifier notifier, EngineHost engine) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!notifier.IsEnabled || !TryGetInterval(out var interval))
        {
            return;
        }

        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (engine.IsAlive)
                {
                    notifier.Notify(new ServiceState("WATCHDOG=1"));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static bool TryGetInterval(out TimeSpan interval)
    {
        interval = default;
        var usec = Environment.GetEnvironmentVariable("WATCHDOG_USEC");
        if (!long.TryParse(usec, out var micros) || micros <= 0)
        {
            return false;
        }

        var pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (!string.IsNullOrEmpty(pid) && pid != Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            return false;
        }

        interval = TimeSpan.FromTicks(micros * TimeSpan.TicksPerMicrosecond / 2);
        return true;
    }
}
