using System.Runtime.InteropServices;
using GateStream.Core.Windows;

namespace GateStream.Core.Gates;

/// <summary>
/// The canary's and the baseline's request windows as they stood at the gate's last evaluation: what a metrics
/// scrape or a chart shows beside the gate's phase and weight. Empty snapshots for a version without a series yet.
/// </summary>
[StructLayout(LayoutKind.Auto)]
public readonly record struct GateVitals(WindowSnapshot Canary, WindowSnapshot Baseline);

public sealed partial class Gate
{
    /// <summary>
    /// Reads both versions' windows without advancing them (the evaluation tick does that), so the read changes
    /// nothing and is at most one tick old. Call on the gate's shard, like every other read of its series.
    /// </summary>
    public GateVitals Vitals() => new(
        _canary is { IsLive: true } canary ? canary.Requests.Snapshot() : default,
        _baseline is { IsLive: true } baseline ? baseline.Requests.Snapshot() : default);
}
