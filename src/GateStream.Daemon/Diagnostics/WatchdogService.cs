using System.Globalization;
using GateStream.Daemon.Engine;
using Microsoft.Extensions.Hosting.Systemd;

namespace GateStream.Daemon.Diagnostics;

/// <summary>
/// Sends systemd watchdog pings (<c>WATCHDOG=1</c>) at half of <c>WatchdogSec</c>, but only while the evaluation loop is
/// ticking: a daemon whose engine is stuck stops pinging and systemd restarts it.
/// </summary>
internal sealed class WatchdogService : BackgroundService
{
    private readonly ISystemdNotifier _notifier;
    private readonly Func<bool> _isAlive;
    private readonly TimeSpan? _interval;
    private long _pings;
    private long _withheld;

    public WatchdogService(ISystemdNotifier notifier, EngineHost engine)
        : this(notifier, () => engine.IsAlive, IntervalFromEnvironment())
    {
    }

    /// <summary>For tests: any liveness probe, and the interval systemd would give through <c>WATCHDOG_USEC</c>.</summary>
    internal WatchdogService(ISystemdNotifier notifier, Func<bool> isAlive, TimeSpan? interval)
    {
        _notifier = notifier;
        _isAlive = isAlive;
        _interval = interval;
    }

    /// <summary>Pings sent.</summary>
    public long Pings => Interlocked.Read(ref _pings);

    /// <summary>Intervals at which the engine was not alive, so no ping was sent.</summary>
    public long Withheld => Interlocked.Read(ref _withheld);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_notifier.IsEnabled || _interval is not { } interval)
        {
            return;
        }

        using var timer = new PeriodicTimer(interval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (_isAlive())
                {
                    _notifier.Notify(new ServiceState("WATCHDOG=1"));
                    Interlocked.Increment(ref _pings);
                }
                else
                {
                    Interlocked.Increment(ref _withheld);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private static TimeSpan? IntervalFromEnvironment()
    {
        var usec = Environment.GetEnvironmentVariable("WATCHDOG_USEC");
        if (!long.TryParse(usec, NumberStyles.None, CultureInfo.InvariantCulture, out var micros) || micros <= 0)
        {
            return null;
        }

        var pid = Environment.GetEnvironmentVariable("WATCHDOG_PID");
        if (!string.IsNullOrEmpty(pid) && pid != Environment.ProcessId.ToString(CultureInfo.InvariantCulture))
        {
            return null;
        }

        return TimeSpan.FromTicks(micros * TimeSpan.TicksPerMicrosecond / 2);
    }
}
