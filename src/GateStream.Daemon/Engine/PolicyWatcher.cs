using GateStream.Core.Policies;
using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Options;
using GateStream.Policies;
using Microsoft.Extensions.Options;

namespace GateStream.Daemon.Engine;

/// <summary>
/// Loads the policy directory at start and reloads it when a file changes. Each file stands alone: a changed valid
/// file replaces its policies (running gates pick up the new revision at their next tick); an invalid file is
/// reported and ignored, and the last valid version of it keeps running.
/// </summary>
internal sealed class PolicyWatcher : IHostedService, IDisposable
{
    private readonly string _directory;
    private readonly ILogger<PolicyWatcher> _logger;
    private readonly DaemonMetrics _metrics;
    private readonly Dictionary<string, IReadOnlyList<PolicyDefinition>> _lastGood = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private FileSystemWatcher? _watcher;
    private System.Runtime.InteropServices.PosixSignalRegistration? _hangup;
    private Timer? _debounce;

    public PolicyWatcher(IOptions<GateStreamOptions> options, DaemonMetrics metrics, ILogger<PolicyWatcher> logger)
    {
        _directory = Path.GetFullPath(options.Value.Policies.Directory);
        _logger = logger;
        _metrics = metrics;
        Catalog = new PolicyCatalog(PolicySet.Empty);
        Reload();
    }

    public PolicyCatalog Catalog { get; }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (Directory.Exists(_directory))
        {
            _watcher = new FileSystemWatcher(_directory) { IncludeSubdirectories = false, EnableRaisingEvents = false };
            _watcher.Changed += (_, _) => Schedule();
            _watcher.Created += (_, _) => Schedule();
            _watcher.Deleted += (_, _) => Schedule();
            _watcher.Renamed += (_, _) => Schedule();
            _watcher.EnableRaisingEvents = true;
        }

        // `systemctl reload gatestream` sends SIGHUP: re-read the policies instead of exiting.
        if (!OperatingSystem.IsWindows())
        {
            _hangup = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGHUP, context =>
            {
                context.Cancel = true;
                Reload();
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
            _debounce ??= new Timer(_ => Reload());
            _debounce.Change(TimeSpan.FromMilliseconds(300), Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Re-reads every policy file. Public for SIGHUP-style reloads and tests.</summary>
    public void Reload()
    {
        lock (_lock)
        {
            if (!Directory.Exists(_directory))
            {
                DaemonLog.PolicyDirectoryMissing(_logger, _directory);
                return;
            }

            var files = Directory.EnumerateFiles(_directory)
                .Where(f => f.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".yml", StringComparison.OrdinalIgnoreCase))
                .Order(StringComparer.Ordinal)
                .ToList();
            var ok = true;
            foreach (var gone in _lastGood.Keys.Except(files).ToList())
            {
                _lastGood.Remove(gone);
            }

            foreach (var file in files)
            {
                var result = PolicyLoader.LoadFiles([file]);
                foreach (var warning in result.Warnings)
                {
                    DaemonLog.PolicyWarning(_logger, warning.ToString());
                }

                if (result.Success && result.Policies is { } set)
                {
                    _lastGood[file] = set.Policies;
                    continue;
                }

                ok = false;
                foreach (var error in result.Errors)
                {
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
                        ok = false;
                        DaemonLog.PolicyProblem(_logger, $"{file}: policy '{policy.Name}' is also defined in {merged[policy.Name].SourcePath}; the first one is used.");
                    }
                }
            }

            Catalog.Replace(new PolicySet([.. merged.Values]));
            _metrics.PolicyReload(ok);
            DaemonLog.PoliciesLoaded(_logger, merged.Count, _directory, string.Join(", ", merged.Values.Select(p => $"{p.Name}@{p.Revision}")));
        }
    }
}
