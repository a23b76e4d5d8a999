using System.Text;
using GateStream.Core.Ingest;
using GateStream.Daemon.Diagnostics;

namespace GateStream.Daemon.Engine;

/// <summary>
/// Logs refused batches with their source and key, at most once a second per reason, so a client sending garbage
/// cannot flood the journal. Every refusal is counted by the shards regardless.
/// </summary>
internal sealed class RefusalLogger(ILogger logger, TimeProvider clock) : IRefusalSink
{
    private readonly long[] _lastLogged = new long[Enum.GetValues<RefusalReason>().Length];

    public void OnRefused(RefusalReason reason, string source, ReadOnlySpan<byte> deployment, ReadOnlySpan<byte> version, int items)
    {
        var now = clock.GetTimestamp();
        ref var last = ref _lastLogged[(int)reason];
        var previous = Volatile.Read(ref last);
        if (previous != 0 && clock.GetElapsedTime(previous, now) < TimeSpan.FromSeconds(1))
        {
            return;
        }

        if (Interlocked.CompareExchange(ref last, now, previous) != previous)
        {
            return;
        }

        DaemonLog.Refused(logger, items, source, Printable(deployment), Printable(version), reason.ToString());
    }

    private static string Printable(ReadOnlySpan<byte> bytes)
    {
        var text = Encoding.UTF8.GetString(bytes[..Math.Min(bytes.Length, 128)]);
        return string.Concat(text.Select(c => char.IsControl(c) ? '?' : c)) + (bytes.Length > 128 ? $"...({bytes.Length} bytes)" : "");
    }
}
