using GateStream.Ingest.Otlp;
using Microsoft.Extensions.Options;

namespace GateStream.Daemon.Otlp;

/// <summary>
/// The <c>GateStream:Otlp</c> configuration section: how OTLP spans and metrics map to series (docs/otlp.md).
/// Lists may be given as arrays (<c>SpanKinds:0=server</c>) or as one comma-separated value (<c>SpanKinds=server,consumer</c>).
/// </summary>
internal sealed class OtlpSettings
{
    public const string Section = "GateStream:Otlp";

    private static readonly string[] KindNames = ["unspecified", "internal", "server", "client", "producer", "consumer"];

    public string DeploymentAttribute { get; set; } = OtlpOptions.DefaultDeploymentAttribute;

    public string VersionAttribute { get; set; } = OtlpOptions.DefaultVersionAttribute;

    /// <summary>Span kinds that count as requests. Empty: server and consumer.</summary>
    public IList<string> SpanKinds { get; } = new List<string>();

    /// <summary>Span attributes holding the HTTP status, preferred first. Empty: <c>http.response.status_code</c>, <c>http.status_code</c>.</summary>
    public IList<string> StatusAttributes { get; } = new List<string>();

    public int ErrorStatusCode { get; set; } = OtlpOptions.DefaultErrorStatusCode;

    public int MaxKeyAttributeBytes { get; set; } = OtlpOptions.DefaultMaxKeyAttributeBytes;

    public bool HistogramMean { get; set; }

    /// <summary>The decoder's options, or the problems (each naming its key) that stop the daemon.</summary>
    public OtlpOptions ToOptions(List<string> problems)
    {
        ArgumentNullException.ThrowIfNull(problems);
        var kinds = OtlpSpanKinds.None;
        foreach (var name in Split(SpanKinds))
        {
            var index = Array.FindIndex(KindNames, k => string.Equals(k, name, StringComparison.OrdinalIgnoreCase));
            if (index < 0)
            {
                problems.Add($"{Section}:SpanKinds: '{name}' is not a span kind (one of {string.Join(", ", KindNames)}).");
                continue;
            }

            kinds |= (OtlpSpanKinds)(1 << index);
        }

        var statusAttributes = Split(StatusAttributes).ToArray();
        var options = new OtlpOptions
        {
            DeploymentAttribute = DeploymentAttribute,
            VersionAttribute = VersionAttribute,
            SpanKinds = kinds == OtlpSpanKinds.None ? OtlpOptions.Default.SpanKinds : kinds,
            StatusAttributes = statusAttributes.Length == 0 ? OtlpOptions.DefaultStatusAttributes : statusAttributes,
            ErrorStatusCode = ErrorStatusCode,
            MaxKeyAttributeBytes = MaxKeyAttributeBytes,
            HistogramMean = HistogramMean,
        };
        problems.AddRange(options.Validate().Select(p => $"{Section}:{p}"));
        return options;
    }

    private static IEnumerable<string> Split(IEnumerable<string> values) =>
        values.SelectMany(v => (v ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            .Distinct(StringComparer.Ordinal);
}

/// <summary>Checks the section at start, so a bad span kind stops the daemon with the key named.</summary>
internal sealed class OtlpSettingsValidator : IValidateOptions<OtlpSettings>
{
    public ValidateOptionsResult Validate(string? name, OtlpSettings options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        options.ToOptions(problems);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
