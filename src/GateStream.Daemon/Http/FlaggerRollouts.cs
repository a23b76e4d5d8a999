using System.Text.Json;
using GateStream.Daemon.Diagnostics;

namespace GateStream.Daemon.Http;

/// <summary>
/// Which Flagger rollout each deployment is in: the checksum of the Canary's latest revision and when GateStream
/// first saw it. A gate that finished before the rollout's first hook belongs to an earlier rollout and does not
/// answer for this one (so a rollback decided for v2 is not read as a rollback of v3). Kept in the state directory
/// beside the decision log so a restart does not forget it; written only when a deployment starts a new rollout.
/// </summary>
internal sealed class FlaggerRollouts
{
    /// <summary>Deployments remembered; past it the one seen least recently is forgotten.</summary>
    public const int MaxDeployments = 10_000;

    public const string FileName = "flagger-rollouts.json";

    private readonly string _path;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Rollout> _rollouts;

    public FlaggerRollouts(string stateDirectory, ILogger logger)
    {
        _path = Path.Combine(stateDirectory, FileName);
        _logger = logger;
        _rollouts = Load();
    }

    /// <summary>When this daemon first saw <paramref name="checksum"/> for the deployment, in µs since the Unix epoch.</summary>
    public long FirstSeen(string deployment, string checksum, long nowMicros)
    {
        // Hooks are rare (one per Flagger interval per canary): the write is done under the lock, so the file always
        // holds the latest snapshot.
        lock (_lock)
        {
            if (_rollouts.TryGetValue(deployment, out var known) && known.Checksum == checksum)
            {
                return known.FirstSeenMicros;
            }

            if (!_rollouts.ContainsKey(deployment) && _rollouts.Count >= MaxDeployments)
            {
                _rollouts.Remove(_rollouts.MinBy(kv => kv.Value.FirstSeenMicros).Key);
            }

            _rollouts[deployment] = new Rollout(checksum, nowMicros);
            Save();
            return nowMicros;
        }
    }

    private Dictionary<string, Rollout> Load()
    {
        try
        {
            if (File.Exists(_path))
            {
                return JsonSerializer.Deserialize<Dictionary<string, Rollout>>(File.ReadAllText(_path)) is { } loaded
                    ? new Dictionary<string, Rollout>(loaded, StringComparer.Ordinal)
                    : new Dictionary<string, Rollout>(StringComparer.Ordinal);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            DaemonLog.FlaggerRolloutsUnusable(_logger, _path, e.Message);
        }

        return new Dictionary<string, Rollout>(StringComparer.Ordinal);
    }

    /// <summary>Writes the whole map through a temporary file and an atomic rename. Called under the lock.</summary>
    private void Save()
    {
        var temporary = _path + ".tmp";
        try
        {
            File.WriteAllText(temporary, JsonSerializer.Serialize(_rollouts));
            File.Move(temporary, _path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            DaemonLog.FlaggerRolloutsUnusable(_logger, _path, e.Message);
            try
            {
                File.Delete(temporary);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
            }
        }
    }

    internal sealed record Rollout(string Checksum, long FirstSeenMicros);
}
