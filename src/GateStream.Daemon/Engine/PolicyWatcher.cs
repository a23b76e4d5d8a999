using System.Runtime.InteropServices;
using GateStream.Core.Policies;
using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Options;
using GateStream.Policies;
using Microsoft.Extensions.Options;

namespace GateStream.Daemon.Engine;

/// <summary>What one reload found: the policies now running and every problem reported, in log form.</summary>
internal sealed record PolicyReloadReport(long Generation, string Trigger, IReadOnlyList<string> Running, IReadOnlyList<string> Problems)
{
    public bool Ok => Problems.Count == 0;
}

/// <summary>
/// Loads the policy directory at start and reloads it when a file changes or on SIGHUP. Each file stands alone: a
/// changed valid file replaces its policies (running gates pick up the new revision at their next tick); an invalid
/// file is reported and ignored, and the last valid version of it keeps running. Nothing in the directory can stop
/// the daemon: every reload, whatever triggers it, is guarded, and the loader refuses files it must not read.
/// </summary>
internal sealed class PolicyWatcher : IHostedService, IDisposable
{
    private readonly string _directory;
    private readonly PolicyLoadOptions _loadOptions;
    private readonly ILogger<PolicyWatcher> _logger;
    private readonly DaemonMetrics _metrics;
    private readonly Dictionary<string, IReadOnlyList<PolicyDefinition>> _lastGood = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private FileSystemWatcher? _watcher;
    private PosixSignalRegistration? _hangup;
    private Timer? _debounce;
    private long _generation;

    public PolicyWatcher(IOptions<GateStreamOptions> options, DaemonMetrics metrics, ILogger<PolicyWatcher> logger)
    {
        _directory = Path.GetFullPath(options.Value.Policies.Directory);
        _loadOptions = new PolicyLoadOptions { MaxFileBytes = options.Value.Policies.MaxFileBytes, ConfinedTo = _directory };
        _logger = logger;
        _metrics = metrics;
        Catalog = new PolicyCatalog(PolicySet.Empty);
        LastReport = new PolicyReloadReport(0, "none", [], []);
        Reload("start");
    }

    public PolicyCatalog Catalog { get; }

    /// <summary>The outcome of the latest reload.</summary>
    public PolicyReloadReport LastReport { get; private set; }

    /// <summary>Raised after every reload, on the thread that ran it; handlers must not throw.</summary>
    public event Action<PolicyReloadReport>? Reloaded;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Directory.Exists(_directory))
        {
            _watcher = new FileSystemWatcher(_directory) { IncludeSubdirectories = false, EnableRaisingEvents = false };
            _watcher.Changed += (_, _) => Schedule();
            _watcher.Created += (_, _) => Schedule();
            _watcher.Deleted += (_, _) => Schedule();
            _watcher.Renamed += (_, _) => Schedule();
            _watcher.Error += (_, _) => Schedule();
            _watcher.EnableRaisingEvents = true;
        }

        // `systemctl reload gatestream` sends SIGHUP: re-read the policies instead of exiting.
        if (!OperatingSystem.IsWindows())
        {
            if (InheritedSignals.Ignored(InheritedSignals.Hangup))
            {
                DaemonLog.HangupIgnored(_logger);
            }

            _hangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                Reload("SIGHUP");
            });
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        if (_watcher is not null)
        {
            _watcher.EnableRaisingEvents = false;
        }

        return Task.CompletedTask;
    }

    public void Dispose()
    {
        _hangup?.Dispose();
        _watcher?.Dispose();
        _debounce?.Dispose();
    }

    // Editors write files in several steps; wait for the burst to settle.
    private void Schedule()
    {
        lock (_lock)
        {
            _debounce ??= new Timer(_ => Reload("file change"));
            _debounce.Change(TimeSpan.FromMilliseconds(300), Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Re-reads every policy file. Never throws: whatever goes wrong is logged, counted and reported.</summary>
    public PolicyReloadReport Reload(string trigger = "request")
    {
        PolicyReloadReport report;
        lock (_lock)
        {
            var problems = new List<string>();
            try
            {
                ReloadFiles(problems);
            }
            catch (Exception e)
            {
                // Listing the directory, a loader bug, anything: the running policies stay.
                problems.Add($"{_directory}: reload failed ({e.GetType().Name}: {e.Message})");
                DaemonLog.PolicyReloadFailed(_logger, trigger, $"{e.GetType().Name}: {e.Message}");
            }

            _metrics.PolicyReload(problems.Count == 0);
            report = new PolicyReloadReport(++_generation, trigger, [.. Catalog.Current.Policies.Select(p => $"{p.Name}@{p.Revision}")], problems);
            LastReport = report;
        }

        try
        {
            Reloaded?.Invoke(report);
        }
        catch (Exception e)
        {
            DaemonLog.PolicyReloadFailed(_logger, trigger, $"a reload listener threw {e.GetType().Name}");
        }

        return report;
    }

    private void ReloadFiles(List<string> problems)
    {
        if (!Directory.Exists(_directory))
        {
            DaemonLog.PolicyDirectoryMissing(_logger, _directory);
            problems.Add($"{_directory}: the policy directory does not exist");
            return;
        }

        var files = PolicyLoader.ListFiles(_directory);
        foreach (var gone in _lastGood.Keys.Except(files).ToList())
        {
            _lastGood.Remove(gone);
        }

        foreach (var file in files)
        {
            var result = PolicyLoader.LoadFiles([file], _loadOptions);
            foreach (var warning in result.Warnings)
            {
                DaemonLog.PolicyWarning(_logger, warning.ToString());
            }

            if (result.Success && result.Policies is { } set)
            {
                _lastGood[file] = set.Policies;
                continue;
            }

            foreach (var error in result.Errors)
            {
                problems.Add(error.ToString());
                DaemonLog.PolicyProblem(_logger, error.ToString());
            }
        }

        // Later files cannot take a name an earlier file already has.
        var merged = new Dictionary<string, PolicyDefinition>(StringComparer.Ordinal);
        foreach (var file in files)
        {
            if (!_lastGood.TryGetValue(file, out var policies))
            {
                continue;
            }

            foreach (var policy in policies)
            {
                if (!merged.TryAdd(policy.Name, policy))
                {
                    var problem = $"{file}: policy '{policy.Name}' is also defined in {merged[policy.Name].SourcePath}; the first one is used.";
                    problems.Add(problem);
                    DaemonLog.PolicyProblem(_logger, problem);
                }
            }
        }

        Catalog.Replace(new PolicySet([.. merged.Values]));
        DaemonLog.PoliciesLoaded(_logger, merged.Count, _directory, string.Join(", ", merged.Values.Select(p => $"{p.Name}@{p.Revision}")));
    }
}
