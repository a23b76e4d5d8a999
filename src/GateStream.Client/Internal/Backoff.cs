namespace GateStream.Client.Internal;

/// <summary>Exponential reconnect delays with jitter (each delay is 50-100 % of the current step), reset after a success.</summary>
internal sealed class Backoff(TimeSpan initial, TimeSpan maximum)
{
    private readonly TimeSpan _initial = initial;
    private TimeSpan _next = initial;

    public int Failures { get; private set; }

    public void Reset()
    {
        _next = _initial;
        Failures = 0;
    }

    public TimeSpan Next()
    {
        Failures++;
        var step = _next;
        _next = TimeSpan.FromTicks(Math.Min(maximum.Ticks, _next.Ticks * 2));
#pragma warning disable CA5394 // Jitter spreads reconnecting clients apart; it is not security-relevant.
        return TimeSpan.FromTicks((long)(step.Ticks * (0.5 + (Random.Shared.NextDouble() / 2))));
#pragma warning restore CA5394
    }
}
