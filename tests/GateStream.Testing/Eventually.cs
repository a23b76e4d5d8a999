namespace GateStream.Testing;

/// <summary>Waits on a condition, never a fixed sleep: polls it until it holds, and fails the test past a deadline.</summary>
public static class Eventually
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(20);

    /// <summary>Polls <paramref name="condition"/> every <paramref name="poll"/> (20 ms by default) until it holds.</summary>
    public static Task Until(Func<bool> condition, TimeSpan? timeout = null, Func<string>? explain = null, TimeSpan? poll = null) =>
        Until(() => Task.FromResult(condition()), timeout, explain, poll);

    /// <summary>Polls <paramref name="condition"/> every <paramref name="poll"/> (20 ms by default) until it holds.</summary>
    public static async Task Until(Func<Task<bool>> condition, TimeSpan? timeout = null, Func<string>? explain = null, TimeSpan? poll = null)
    {
        ArgumentNullException.ThrowIfNull(condition);
        var limit = timeout ?? DefaultTimeout;
        var deadline = DateTime.UtcNow + limit;
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"condition not met within {limit.TotalSeconds:F0} s. {explain?.Invoke()}");
            }

            await Task.Delay(poll ?? TimeSpan.FromMilliseconds(20));
        }
    }
}
