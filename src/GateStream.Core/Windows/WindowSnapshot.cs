using System.Runtime.InteropServices;

namespace GateStream.Core.Windows;

/// <summary>
/// A consistent read of one series' request window: counts and latency quantiles over
/// [<see cref="StartMicros"/>, <see cref="EndMicros"/>). Latencies are in microseconds, each within
/// the histogram's precision (1% with the default 2 significant digits) of the exact quantile;
/// 0 when the window has no requests.
/// </summary>
[StructLayout(LayoutKind.Auto)]
public readonly record struct WindowSnapshot(
    long StartMicros,
    long EndMicros,
    long Requests,
    long Errors,
    long P50Micros,
    long P90Micros,
    long P99Micros,
    long P999Micros)
{
    /// <summary>Errors / requests, 0 when there were no requests.</summary>
    public double ErrorRate => Requests == 0 ? 0 : (double)Errors / Requests;

    /// <summary>Requests per second over the window length.</summary>
    public double RequestsPerSecond => EndMicros <= StartMicros ? 0 : Requests * 1_000_000.0 / (EndMicros - StartMicros);
}
