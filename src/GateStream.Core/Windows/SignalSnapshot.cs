using System.Runtime.InteropServices;

namespace GateStream.Core.Windows;

/// <summary>
/// A named metric signal aggregated over its window. For gauges, <see cref="Last"/>/<see cref="Min"/>/
/// <see cref="Max"/>/<see cref="Mean"/> are of the readings and <see cref="Rate"/> is their change per second;
/// for sums they are of the increments and <see cref="Rate"/> is increments per second over the window length
/// (a cumulative sum's <see cref="Last"/> is its last running total).
/// </summary>
[StructLayout(LayoutKind.Auto)]
public readonly record struct SignalSnapshot(
    MetricKind Kind,
    long Samples,
    double Last,
    double Min,
    double Max,
    double Mean,
    double Sum,
    double Rate);
