using GateStream.Client;

namespace GateStream.Daemon.Tests.Framed;

/// <summary>An EventSender with nothing to send keeps its framed connection open with PINGs; without them the daemon's idle timeout closes it.</summary>
public class KeepAliveTests
{
    private const string IdleClosed = "gatestream_framed_errors_total{code=\"idle_timeout\"}";

    [Fact]
    public async Task A_quiet_sender_keeps_its_connection_past_the_idle_timeout_and_one_without_keep_alive_is_closed()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"), new Dictionary<string, string?>
        {
            ["GateStream:Framed:Endpoint"] = "127.0.0.1:0",
            ["GateStream:Framed:IdleTimeout"] = "00:00:02",
        });
        await daemon.StartAsync();

        // Without PINGs: the daemon closes the quiet connection with ERROR 12 once the idle timeout passes.
        await using (var silent = new EventSender(Options(daemon.FramedEndpoint, Timeout.InfiniteTimeSpan)))
        {
            silent.Record("checkout", "v1", DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(3), statusCode: 200);
            await silent.FlushAsync();
            await Eventually.Until(async () => Value(await daemon.MetricsTextAsync(), IdleClosed) >= 1, TimeSpan.FromSeconds(30));
        }

        // With a PING every 200 ms: three idle timeouts pass and the connection is still the same one.
        var closedBefore = Value(await daemon.MetricsTextAsync(), IdleClosed);
        await using var chatty = new EventSender(Options(daemon.FramedEndpoint, TimeSpan.FromMilliseconds(200)));
        chatty.Record("checkout", "v1", DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(3), statusCode: 200);
        await chatty.FlushAsync();
        await Task.Delay(TimeSpan.FromSeconds(6)); // three idle timeouts: a lower bound on quiet time, not a latency claim
        chatty.Record("checkout", "v1", DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(3), statusCode: 200);
        await chatty.FlushAsync();

        var metrics = await daemon.MetricsTextAsync();
        Assert.Equal(closedBefore, Value(metrics, IdleClosed));
        Assert.Equal(0, chatty.Dropped);
        Assert.Equal(3, Value(metrics, "gatestream_events_received_total{source=\"framed\"}"));
    }

    private static EventSenderOptions Options(string endpoint, TimeSpan keepAlive) => new()
    {
        Endpoint = endpoint,
        KeepAliveInterval = keepAlive,
        FlushInterval = TimeSpan.FromMilliseconds(50),
        ReconnectDelay = TimeSpan.FromMilliseconds(50),
        MaxReconnectDelay = TimeSpan.FromMilliseconds(200),
        DisposeTimeout = TimeSpan.FromSeconds(1),
    };

    /// <summary>The sample's value, 0 when absent.</summary>
    private static double Value(string exposition, string series) => MetricsText.Value(exposition, series) ?? 0;
}
