namespace GateStream.Core.Time;

/// <summary>
/// A clock that only moves when told to. Replay drives it from event time, tests drive it by hand,
/// and the live daemon uses <see cref="TimeProvider.System"/>: the same Core code runs under all three.
/// </summary>
/// <remarks>
/// Timers are not supported: the engine is driven by explicit ticks, never by timer callbacks,
/// which is what keeps replay deterministic.
/// </remarks>
public sealed class VirtualTimeProvider : TimeProvider
{
    private long _utcTicks;

    public VirtualTimeProvider(DateTimeOffset start) => _utcTicks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _utcTicks), TimeSpan.Zero);

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <summary>Moves the clock forward. Time never goes backwards: an earlier instant is ignored.</summary>
    public void AdvanceTo(DateTimeOffset instant)
    {
        var target = instant.UtcTicks;
        long current;
        do
        {
            current = Interlocked.Read(ref _utcTicks);
            if (target <= current)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref _utcTicks, target, current) != current);
    }

    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        Interlocked.Add(ref _utcTicks, by.Ticks);
    }

    public void AdvanceToMicros(long unixMicros) => AdvanceTo(EventTime.ToDateTimeOffset(unixMicros));
}
