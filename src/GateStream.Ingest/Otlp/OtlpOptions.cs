namespace GateStream.Ingest.Otlp;

/// <summary>
/// How OTLP data maps to GateStream series, requests and signals. Defaults are the documented ones
/// (docs/otlp.md). The daemon binds them from <c>GateStream:Otlp</c>.
/// </summary>
public sealed record OtlpOptions
{
    public const string DefaultDeploymentAttribute = "service.name";
    public const string DefaultVersionAttribute = "service.version";
    public const string DefaultSource = "otlp";
    public const int DefaultErrorStatusCode = 500;
    public const int DefaultMaxKeyAttributeBytes = 256;
    public const int DefaultMaxSignalNameBytes = 256;
    public const int DefaultMaxEventsPerBatch = 4096;

    /// <summary>The stable semantic-convention name first, then the one older instrumentations still send.</summary>
    public static IReadOnlyList<string> DefaultStatusAttributes { get; } = ["http.response.status_code", "http.status_code"];

    public static OtlpOptions Default { get; } = new();

    /// <summary>Resource attribute naming the deployment (a string).</summary>
    public string DeploymentAttribute { get; init; } = DefaultDeploymentAttribute;

    /// <summary>Resource attribute naming the version (a string).</summary>
    public string VersionAttribute { get; init; } = DefaultVersionAttribute;

    /// <summary>Span kinds that are one request each; other spans are ignored (not rejected).</summary>
    public OtlpSpanKinds SpanKinds { get; init; } = OtlpSpanKinds.Server | OtlpSpanKinds.Consumer;

    /// <summary>Span attributes holding an HTTP status code, in order of preference (the first present wins).</summary>
    public IReadOnlyList<string> StatusAttributes { get; init; } = DefaultStatusAttributes;

    /// <summary>A request whose status attribute is at least this is an error (as is one whose span status is ERROR).</summary>
    public int ErrorStatusCode { get; init; } = DefaultErrorStatusCode;

    /// <summary>Longest deployment or version attribute value, in UTF-8 bytes; longer ones reject their resource.</summary>
    public int MaxKeyAttributeBytes { get; init; } = DefaultMaxKeyAttributeBytes;

    /// <summary>Longest signal name (metric name plus any <c>.count</c>/<c>.sum</c>/<c>.mean</c> suffix), in UTF-8 bytes.</summary>
    public int MaxSignalNameBytes { get; init; } = DefaultMaxSignalNameBytes;

    /// <summary>Also emit <c>&lt;name&gt;.mean</c> (a gauge, sum / count) for histogram and summary data points.</summary>
    public bool HistogramMean { get; init; }

    /// <summary>A resource with more accepted spans than this is split over several batches.</summary>
    public int MaxEventsPerBatch { get; init; } = DefaultMaxEventsPerBatch;

    /// <summary>Source name put on every batch, for counters and logs.</summary>
    public string Source { get; init; } = DefaultSource;

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrEmpty(DeploymentAttribute))
        {
            problems.Add("DeploymentAttribute must not be empty.");
        }

        if (string.IsNullOrEmpty(VersionAttribute))
        {
            problems.Add("VersionAttribute must not be empty.");
        }

        if (SpanKinds == OtlpSpanKinds.None)
        {
            problems.Add("SpanKinds must name at least one span kind.");
        }

        if (StatusAttributes is null)
        {
            problems.Add("StatusAttributes must be set (it may be empty).");
        }
        else if (StatusAttributes.Any(string.IsNullOrEmpty))
        {
            problems.Add("StatusAttributes must not contain an empty name.");
        }

        if (ErrorStatusCode is < 100 or > 999)
        {
            problems.Add($"ErrorStatusCode must be between 100 and 999 (got {ErrorStatusCode}).");
        }

        if (MaxKeyAttributeBytes is < 1 or > 4096)
        {
            problems.Add($"MaxKeyAttributeBytes must be between 1 and 4096 (got {MaxKeyAttributeBytes}).");
        }

        if (MaxSignalNameBytes is < 1 or > 4096)
        {
            problems.Add($"MaxSignalNameBytes must be between 1 and 4096 (got {MaxSignalNameBytes}).");
        }

        if (MaxEventsPerBatch < 1)
        {
            problems.Add($"MaxEventsPerBatch must be at least 1 (got {MaxEventsPerBatch}).");
        }

        if (string.IsNullOrEmpty(Source))
        {
            problems.Add("Source must not be empty.");
        }

        return problems;
    }

    public void EnsureValid()
    {
        var problems = Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid OTLP options: " + string.Join(" ", problems));
        }
    }
}

/// <summary>OTLP span kinds as flags (bit n is <c>Span.kind</c> value n).</summary>
[Flags]
public enum OtlpSpanKinds
{
    None = 0,
    Unspecified = 1 << 0,
    Internal = 1 << 1,
    Server = 1 << 2,
    Client = 1 << 3,
    Producer = 1 << 4,
    Consumer = 1 << 5,
}
