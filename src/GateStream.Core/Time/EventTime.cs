namespace GateStream.Core.Time;

/// <summary>
/// Event time in GateStream is an <see cref="long"/> count of microseconds since the Unix epoch (UTC).
/// Windows, buckets and the clock all use that one unit, so the hot path never converts.
/// </summary>
public static class EventTime
{
    public const long MicrosPerMillisecond = 1_000;
    public const long MicrosPerSecond = 1_000_000;

    public static long FromDateTimeOffset(DateTimeOffset value) =>
        (value.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerMicrosecond;

    public static DateTimeOffset ToDateTimeOffset(long unixMicros) =>
        DateTimeOffset.UnixEpoch.AddTicks(unixMicros * TimeSpan.TicksPerMicrosecond);

    public static long FromTimeSpan(TimeSpan value) => value.Ticks / TimeSpan.TicksPerMicrosecond;

    public static TimeSpan ToTimeSpan(long micros) => TimeSpan.FromTicks(micros * TimeSpan.TicksPerMicrosecond);

    /// <summary>The clock's current time in event-time units.</summary>
    public static long Now(TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(clock);
        return FromDateTimeOffset(clock.GetUtcNow());
    }
}
