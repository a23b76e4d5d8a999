namespace GateStream.Core;

/// <summary>
/// The documented defaults that more than one part of the product relies on, each in one place: the daemon's
/// options, the engine's own options records, policy templates and the CLI's replay all read them from here.
/// </summary>
public static class Defaults
{
    /// <summary>How often every gate is evaluated (<c>GateStream:Engine:TickInterval</c>).</summary>
    public static readonly TimeSpan TickInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>How much event time a series' window covers, and a rule's window when it names none.</summary>
    public static readonly TimeSpan WindowLength = TimeSpan.FromSeconds(60);

    /// <summary>Width of one window bucket.</summary>
    public static readonly TimeSpan BucketWidth = TimeSpan.FromSeconds(5);

    /// <summary>Live series across all shards (<c>GateStream:Engine:MaxSeries</c>).</summary>
    public const int MaxSeries = 50_000;

    /// <summary>Largest message a listener accepts: a gRPC message (Push, OTLP) or a framed payload.</summary>
    public const int MaxMessageBytes = 4 * 1024 * 1024;
}
