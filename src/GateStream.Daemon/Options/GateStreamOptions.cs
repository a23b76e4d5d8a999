using GateStream.Core;
using GateStream.Core.Gates;
using GateStream.Core.Ingest;
using GateStream.Core.Windows;
using GateStream.Daemon.Decisions.Log;

namespace GateStream.Daemon.Options;

/// <summary>The <c>GateStream</c> configuration section. Names and defaults are the documented ones (README, "Configuration").</summary>
public sealed class GateStreamOptions
{
    public const string Section = "GateStream";

    public ListenerOptions Grpc { get; set; } = new() { Url = "http://127.0.0.1:4317" };

    public ListenerOptions Http { get; set; } = new() { Url = "http://127.0.0.1:9317" };

    public FramedOptions Framed { get; set; } = new();

    public PoliciesOptions Policies { get; set; } = new();

    public StateOptions State { get; set; } = new();

    public ControlOptions Control { get; set; } = new();

    public IngestAuthOptions Ingest { get; set; } = new();

    public EngineOptions Engine { get; set; } = new();

    public DemoOptions Demo { get; set; } = new();

    public GateStream.Daemon.Queries.MetricQueryOptions MetricQueries { get; set; } = new();

    public DashboardOptions Dashboard { get; set; } = new();
}

public sealed class ListenerOptions
{
    public string Url { get; set; } = "";

    /// <summary>PEM certificate for TLS (with <see cref="KeyPath"/>); the URL must then be https.</summary>
    public string? CertificatePath { get; set; }

    public string? KeyPath { get; set; }

    /// <summary>When set, clients must present a certificate issued by this CA (PEM).</summary>
    public string? ClientCaPath { get; set; }
}

public sealed class FramedOptions
{
    /// <summary><c>host:port</c> or <c>unix:/path</c>; empty turns the framed listener off.</summary>
    public string Endpoint { get; set; } = "127.0.0.1:7317";
}

public sealed class PoliciesOptions
{
    /// <summary>Directory of policy YAML files. Default <c>policies</c> beside the daemon.</summary>
    public string Directory { get; set; } = "policies";

    /// <summary>A policy file larger than this is refused unread. Default 1 MiB (<see cref="GateStream.Policies.PolicyLoadOptions.DefaultMaxFileBytes"/>).</summary>
    public long MaxFileBytes { get; set; } = GateStream.Policies.PolicyLoadOptions.DefaultMaxFileBytes;
}

public sealed class StateOptions
{
    /// <summary>Decision log directory. Default <c>state</c>; under systemd, <c>$STATE_DIRECTORY</c>.</summary>
    public string Directory { get; set; } = "state";

    public long SegmentBytes { get; set; } = 64L * 1024 * 1024;

    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);

    public long MaxTotalBytes { get; set; } = 1024L * 1024 * 1024;

    /// <summary>Flush every decision to disk before publishing it. Turning this off loses durability.</summary>
    public bool Fsync { get; set; } = true;
}

public sealed class ControlOptions
{
    /// <summary>File of bearer tokens allowed to call the control API: one <c>actor token</c> per line.</summary>
    public string? TokensFile { get; set; }
}

public sealed class IngestAuthOptions
{
    /// <summary>
    /// File of bearer tokens senders must present on the ingest listeners (OTLP/gRPC, Push, framed): one
    /// <c>name token</c> per line. Unset (the default): senders need no token.
    /// </summary>
    public string? TokensFile { get; set; }
}

public sealed class EngineOptions
{
    public TimeSpan TickInterval { get; set; } = Defaults.TickInterval;

    public int Shards { get; set; } = Environment.ProcessorCount;

    public int MaxSeries { get; set; } = Defaults.MaxSeries;

    /// <summary>Live series one deployment may have (see <see cref="IngestOptions.MaxSeriesPerDeployment"/>).</summary>
    public int MaxSeriesPerDeployment { get; set; } = new IngestOptions().MaxSeriesPerDeployment;

    /// <summary>Live series one source may create (see <see cref="IngestOptions.MaxSeriesPerSource"/>).</summary>
    public int MaxSeriesPerSource { get; set; } = new IngestOptions().MaxSeriesPerSource;

    public TimeSpan WindowLength { get; set; } = Defaults.WindowLength;

    public TimeSpan BucketWidth { get; set; } = Defaults.BucketWidth;

    public TimeSpan AllowedLateness { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A series without events for this long is evicted, unless a gate still holds it. Default 10 min.</summary>
    public TimeSpan SeriesIdleTimeout { get; set; } = new IngestOptions().SeriesIdleTimeout;

    /// <summary>Finished gates stay listed (and keep their series) this long. Default 1 h.</summary>
    public TimeSpan FinishedRetention { get; set; } = new GateEngineOptions().FinishedRetention;

    /// <summary>Decisions a subscriber may have queued before it is cut off with RESOURCE_EXHAUSTED.</summary>
    public int SubscriberBuffer { get; set; } = 1024;

    /// <summary>Largest gRPC message accepted (Push batches, OTLP exports).</summary>
    public int MaxReceiveMessageBytes { get; set; } = Defaults.MaxMessageBytes;

    public IngestOptions ToIngestOptions() => new()
    {
        ShardCount = Shards,
        MaxSeries = MaxSeries,
        MaxSeriesPerDeployment = MaxSeriesPerDeployment,
        MaxSeriesPerSource = MaxSeriesPerSource,
        Window = new WindowOptions { Length = WindowLength, BucketWidth = BucketWidth, AllowedLateness = AllowedLateness },
        SeriesIdleTimeout = SeriesIdleTimeout,
    };

    /// <summary>The configuration key an operator sets for an option of <see cref="ToIngestOptions"/>'s result.</summary>
    public static string KeyOf(string ingestOption) => "GateStream:Engine:" + ingestOption switch
    {
        nameof(IngestOptions.ShardCount) => nameof(Shards),
        "Window." + nameof(WindowOptions.Length) => nameof(WindowLength),
        "Window." + nameof(WindowOptions.BucketWidth) => nameof(BucketWidth),
        "Window." + nameof(WindowOptions.AllowedLateness) => nameof(AllowedLateness),
        _ => ingestOption,
    };

    public GateEngineOptions ToGateEngineOptions() => new() { TickInterval = TickInterval, FinishedRetention = FinishedRetention };
}

public sealed class DemoOptions
{
    /// <summary>Generate traffic for a demo deployment so decisions can be watched without any sender.</summary>
    public bool Enabled { get; set; }
}

public sealed class DashboardOptions
{
    /// <summary>Serve the dashboard at <c>/</c> on the HTTP listener (<c>GateStream:Dashboard:Enabled</c>). Default on.</summary>
    public bool Enabled { get; set; } = true;
}

internal static class GateStreamOptionsExtensions
{
    public static DecisionLogOptions ToLogOptions(this StateOptions state) => new()
    {
        Directory = state.Directory,
        SegmentBytes = state.SegmentBytes,
        Retention = state.Retention,
        MaxTotalBytes = state.MaxTotalBytes,
        Fsync = state.Fsync,
    };
}
