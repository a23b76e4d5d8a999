namespace GateStream.Daemon.Diagnostics;

/// <summary>
/// Signals this process inherited as ignored: nohup ignores SIGHUP, a shell without job control ignores SIGINT in its
/// background jobs. .NET never delivers an ignored signal to a <c>PosixSignalRegistration</c>, so a handler for it
/// cannot run; the daemon warns, and the tests restore or skip.
/// </summary>
internal static class InheritedSignals
{
    public const int Hangup = 1;

    public const int Interrupt = 2;

    /// <summary>Whether signal number <paramref name="signal"/> is ignored. Linux only; false where the mask cannot be read.</summary>
    public static bool Ignored(int signal)
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
            {
                if (line.StartsWith("SigIgn:", StringComparison.Ordinal))
                {
                    var mask = ulong.Parse(line.AsSpan(7).Trim(), System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
                    return (mask & (1UL << (signal - 1))) != 0;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        return false;
    }
}
