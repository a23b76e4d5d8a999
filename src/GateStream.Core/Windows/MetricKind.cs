namespace GateStream.Core.Windows;

/// <summary>How a metric sample's value is to be read (mirrors OTLP: gauge, delta sum, cumulative sum).</summary>
public enum MetricKind : byte
{
    /// <summary>A reading at an instant (replication lag, pool saturation).</summary>
    Gauge = 1,

    /// <summary>An increment since the previous sample of the same stream.</summary>
    SumDelta = 2,

    /// <summary>A running total since some start (pod restarts); resets are detected when it decreases.</summary>
    SumCumulative = 3,
}
