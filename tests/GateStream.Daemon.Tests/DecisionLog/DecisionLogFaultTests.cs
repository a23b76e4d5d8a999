using System.Diagnostics;
using GateStream.Daemon.Decisions.Log;

namespace GateStream.Daemon.Tests.DecisionLog;

using DecisionLog = GateStream.Daemon.Decisions.Log.DecisionLog;

/// <summary>
/// Appends that fail for real (no fault injection): a state directory replaced by a file, and, where the test may mount
/// one, a full tmpfs under an already open segment. The log enters fault mode, says why, and recovers when it may.
/// </summary>
public sealed class DecisionLogFaultTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly string _root = Directory.CreateTempSubdirectory("gatestream-logfault-").FullName;
    private readonly ListLogger _logger = new();
    private readonly ManualClock _clock = new(T0);

    private string StateDirectory => Path.Combine(_root, "state");

    public void Dispose()
    {
        Directory.Delete(_root, recursive: true);
    }

    [Fact]
    public void A_state_directory_replaced_by_a_file_fails_the_append_then_appends_work_again_once_it_is_back()
    {
        using var log = DecisionLog.Open(new DecisionLogOptions { Directory = StateDirectory }, _logger, _clock);
        Assert.True(log.Health.Healthy);

        var away = StateDirectory + ".away";
        Directory.Move(StateDirectory, away);
        File.WriteAllText(StateDirectory, "not a directory");

        var failed = Assert.Throws<DecisionLogUnavailableException>(() => log.Append(1, [1, 2, 3]));
        Assert.Contains("cannot append", failed.Message, StringComparison.Ordinal);
        Assert.Equal(0UL, log.LastSequence);
        var health = log.Health;
        Assert.False(health.Healthy);
        Assert.False(health.RestartRequired);
        Assert.Equal(1, health.FailedAppends);
        Assert.Contains("recovers once an append succeeds", health.Description, StringComparison.Ordinal);
        Assert.Equal(1, _logger.Entries.Count(e => e.EventId == 3010));

        // Retries while it stays broken are counted but logged at most once a minute.
        Assert.Throws<DecisionLogUnavailableException>(() => log.Append(1, [1, 2, 3]));
        Assert.Equal(2, log.Health.FailedAppends);
        Assert.Equal(1, _logger.Entries.Count(e => e.EventId == 3010));

        File.Delete(StateDirectory);
        Directory.Move(away, StateDirectory);

        log.Append(1, [1, 2, 3]); // the same sequence: the failed one was never in the log
        Assert.True(log.Health.Healthy);
        Assert.Equal(1UL, log.LastSequence);
        Assert.True(_logger.Has(3013));
        Assert.Equal([1UL], log.ReadFrom(0).Select(r => r.Sequence));
    }

    [Fact]
    public void A_full_file_system_under_an_open_segment_fails_the_append_cuts_the_partial_record_and_recovers_when_space_is_freed()
    {
        if (!OperatingSystem.IsLinux() || !TryMountTmpfs(StateDirectory, "64k"))
        {
            return; // needs CAP_SYS_ADMIN (CI and this machine run as root; a developer laptop may not)
        }

        try
        {
            var options = new DecisionLogOptions { Directory = StateDirectory };
            using (var log = DecisionLog.Open(options, _logger, _clock))
            {
                log.Append(1, new byte[1000]); // the segment is open from here on
                var filler = Path.Combine(StateDirectory, "filler");
                FillUp(filler);

                Assert.Throws<DecisionLogUnavailableException>(() => log.Append(2, new byte[20_000]));
                Assert.False(log.Health.Healthy);
                Assert.False(log.Health.RestartRequired);
                Assert.Equal(1UL, log.LastSequence);

                File.Delete(filler);
                log.Append(2, new byte[20_000]);
                Assert.True(log.Health.Healthy);
                Assert.Equal([1UL, 2UL], log.ReadFrom(0).Select(r => r.Sequence));
            }

            using var reopened = DecisionLog.Open(options, _logger, _clock);
            Assert.Empty(reopened.RecoveryReport.Skipped); // the partial record was cut when the write failed
            Assert.Equal(2UL, reopened.LastSequence);
        }
        finally
        {
            Run("umount", "-l", StateDirectory);
        }
    }

    private static void FillUp(string path)
    {
        using var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0);
        var block = new byte[4096];
        try
        {
            while (true)
            {
                file.Write(block);
            }
        }
        catch (IOException)
        {
            // ENOSPC: full.
        }
    }

    private static bool TryMountTmpfs(string directory, string size)
    {
        Directory.CreateDirectory(directory);
        return Run("mount", "-t", "tmpfs", "-o", $"size={size}", "tmpfs", directory) == 0;
    }

    private static int Run(string file, params string[] args)
    {
        try
        {
            using var process = Process.Start(new ProcessStartInfo(file, args) { RedirectStandardError = true, RedirectStandardOutput = true })!;
            process.WaitForExit();
            return process.ExitCode;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return -1;
        }
    }
}
