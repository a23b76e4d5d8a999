using System.Runtime.InteropServices;

namespace GateStream.Ingest.Otlp;

/// <summary>
/// What one OTLP export request came to. Counts are spans (traces) or data points (metrics).
/// </summary>
/// <param name="Accepted">Items that became request events or metric samples, posted to the sink.</param>
/// <param name="Rejected">Items refused (missing or oversized resource attributes, bad times or values); OTLP's partial success.</param>
/// <param name="Ignored">Items GateStream does not use (span kinds not configured, data points with no recorded value); not errors.</param>
/// <param name="ErrorMessage">The first problem, naming where it was; null when there was none.</param>
/// <param name="Malformed">The bytes are not a valid request: nothing was posted, and <paramref name="ErrorMessage"/> says what and at which byte.</param>
[StructLayout(LayoutKind.Auto)]
public readonly record struct OtlpDecodeResult(long Accepted, long Rejected, long Ignored, string? ErrorMessage, bool Malformed = false);
