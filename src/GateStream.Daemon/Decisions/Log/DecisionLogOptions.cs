using System.Globalization;

namespace GateStream.Daemon.Decisions.Log;

/// <summary>Where and how the decision log is kept; bound from <c>GateStream:State</c>.</summary>
public sealed class DecisionLogOptions
{
    public const string SectionName = "GateStream:State";

    public const long DefaultSegmentBytes = 64L * 1024 * 1024;
    public const long MinSegmentBytes = 4 * 1024;
    public const long MaxSegmentBytes = 1024L * 1024 * 1024;
    public const int DefaultRetentionDays = 30;
    public const long DefaultMaxTotalBytes = 1024L * 1024 * 1024;

    /// <summary>The directory holding the segment files (<c>State:Directory</c>). Created if missing.</summary>
    public string Directory { get; set; } = "";

    /// <summary>A segment is sealed and a new one started when the next record would take it past this size.</summary>
    public long SegmentBytes { get; set; } = DefaultSegmentBytes;

    /// <summary>Sealed segments whose newest record is older than this are deleted (checked at each rotation).</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(DefaultRetentionDays);

    /// <summary>Oldest sealed segments are deleted while all segments together are larger than this (checked at each rotation).</summary>
    public long MaxTotalBytes { get; set; } = DefaultMaxTotalBytes;

    /// <summary>
    /// fsync every record before <see cref="DecisionLog.Append"/> returns. Turning it off loses the guarantee
    /// that a published decision survives a power loss; it exists for tests and throwaway replays.
    /// </summary>
    public bool Fsync { get; set; } = true;

    /// <summary>Every problem with these options, each naming its configuration key; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(Directory))
        {
            problems.Add($"{SectionName}:Directory must be set to the directory that holds the decision log.");
        }

        if (SegmentBytes < MinSegmentBytes || SegmentBytes > MaxSegmentBytes)
        {
            problems.Add(Invariant(
                $"{SectionName}:SegmentBytes must be between {MinSegmentBytes} and {MaxSegmentBytes} bytes (got {SegmentBytes})."));
        }

        if (Retention <= TimeSpan.Zero)
        {
            problems.Add(Invariant($"{SectionName}:Retention must be a positive duration such as 30.00:00:00 (got {Retention})."));
        }

        if (MaxTotalBytes < SegmentBytes)
        {
            problems.Add(Invariant(
                $"{SectionName}:MaxTotalBytes must be at least {SectionName}:SegmentBytes ({SegmentBytes}) (got {MaxTotalBytes})."));
        }

        return problems;
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
