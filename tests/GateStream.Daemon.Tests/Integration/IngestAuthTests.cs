using System.Net.Sockets;
using GateStream.Client;
using GateStream.Daemon.Tests.Otlp;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Integration;

/// <summary>
/// Optional ingest tokens (<c>GateStream:Ingest:TokensFile</c>) over real sockets: the real OpenTelemetry exporter,
/// gRPC Push and the framed protocol through the client library and raw sockets, with the right token, none, and a
/// wrong one; refusals counted by listener and reason; the file reloaded while running; and no token in any log line.
/// </summary>
[Collection(OtlpSerialTests.Name)]
public class IngestAuthTests
{
    private const int AuthRefusedEvent = 1042;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private static string NewToken() => "ingest-" + Guid.NewGuid().ToString("N");

    /// <summary>A daemon requiring ingest tokens (the file holds one, <paramref name="token"/>), with its framed listener on, logging everything.</summary>
    private static TestDaemon Daemon(string token, out string tokensFile)
    {
        var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"), new Dictionary<string, string?>
        {
            ["GateStream:Framed:Endpoint"] = "127.0.0.1:0",
            ["Logging:LogLevel:Default"] = "Trace",
        });
        tokensFile = Path.Combine(daemon.Root, "ingest-tokens");
        File.WriteAllText(tokensFile, $"# sender token\nsidecar {token}\n");
        daemon.Settings["GateStream:Ingest:TokensFile"] = tokensFile;
        return daemon;
    }

    private static IReadOnlyCollection<(int EventId, string Message)> CaptureLogs(TestDaemon daemon)
    {
        var capture = new LogCapture();
        daemon.Services.GetRequiredService<ILoggerFactory>().AddProvider(capture);
        return capture.Entries;
    }

    private static async Task<string> MetricsAsync(TestDaemon daemon)
    {
        using var http = new HttpClient();
        return await http.GetStringAsync(new Uri($"http://127.0.0.1:{daemon.HttpPort}/metrics"));
    }

    private static string Refused(string listener, string reason) => $"gatestream_auth_refused_total{{listener=\"{listener}\",reason=\"{reason}\"}}";

    private static async Task<string> WaitForAsync(TestDaemon daemon, string series, double atLeast)
    {
        var deadline = DateTime.UtcNow + Timeout;
        string metrics;
        do
        {
            metrics = await MetricsAsync(daemon);
            if (Value(metrics, series) >= atLeast)
            {
                return metrics;
            }

            await Task.Delay(50);
        }
        while (DateTime.UtcNow < deadline);

        Assert.Fail($"{series} did not reach {atLeast}:\n{metrics}");
        return metrics;
    }

    private static void AssertNoTokenLogged(IEnumerable<(int EventId, string Message)> logs, params string[] tokens)
    {
        foreach (var (id, message) in logs)
        {
            foreach (var token in tokens)
            {
                Assert.False(message.Contains(token, StringComparison.Ordinal), $"log event {id} contains a token: {message}");
            }
        }
    }

    /// <summary>
    /// Refusal lines are limited to one a second across the process (other tests refuse too), so refuse again until a
    /// line matching <paramref name="match"/> gets through.
    /// </summary>
    private static async Task AssertLoggedAsync(IReadOnlyCollection<(int EventId, string Message)> logs, Func<string, bool> match, Func<Task> refuseOnce)
    {
        var deadline = DateTime.UtcNow + Timeout;
        while (!logs.Any(e => e.EventId == AuthRefusedEvent && match(e.Message)))
        {
            Assert.True(DateTime.UtcNow < deadline, "no matching refusal line was logged:\n" + string.Join("\n", logs.Select(e => e.Message)));
            await refuseOnce();
            await Task.Delay(50);
        }
    }

    /// <summary>One Push call with <paramref name="headers"/>: its status, and the response when it succeeded.</summary>
    private static async Task<(StatusCode Status, string Detail, V1.PushResponse? Response)> PushAsync(TestDaemon daemon, Metadata? headers, int events = 5)
    {
        using var call = daemon.Ingest.Push(headers);
        try
        {
            await call.RequestStream.WriteAsync(new V1.PushRequest { Events = { EventBatches.Batch("checkout", "v1", events) } });
            await call.RequestStream.CompleteAsync();
        }
        catch (Exception e) when (e is RpcException or InvalidOperationException)
        {
            // The server may answer before the request is written; the call's status says why.
        }

        try
        {
            return (StatusCode.OK, "", await call);
        }
        catch (RpcException e)
        {
            return (e.StatusCode, e.Status.Detail, null);
        }
    }

    private static EventSenderOptions Sender(string endpoint, string? token) => new()
    {
        Endpoint = endpoint,
        Token = token,
        FlushInterval = TimeSpan.FromMilliseconds(50),
        ReconnectDelay = TimeSpan.FromMilliseconds(50),
        MaxReconnectDelay = TimeSpan.FromMilliseconds(200),
        DisposeTimeout = TimeSpan.FromSeconds(1),
    };

    private static void Send(OtelService service, int spans)
    {
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < spans; i++)
        {
            service.Span(now.AddMilliseconds(-i), TimeSpan.FromMilliseconds(3), httpStatus: 200);
        }

        service.Flush();
    }

    [Fact]
    public async Task The_OpenTelemetry_exporter_is_accepted_with_the_token_and_refused_and_counted_without_it()
    {
        var token = NewToken();
        var wrong = NewToken();
        await using var daemon = Daemon(token, out _);
        await daemon.StartAsync();
        var logs = CaptureLogs(daemon);
        var endpoint = new Uri($"http://127.0.0.1:{daemon.GrpcPort}");

        using (var authorized = new OtelService(endpoint, "checkout", "v1", headers: $"authorization=Bearer {token}"))
        {
            Send(authorized, 25);
        }

        await WaitForAsync(daemon, "gatestream_events_received_total{source=\"otlp\"}", 25);

        using (var anonymous = new OtelService(endpoint, "checkout", "v2"))
        {
            Send(anonymous, 40);
        }

        using (var impostor = new OtelService(endpoint, "checkout", "v3", headers: $"authorization=Bearer {wrong}"))
        {
            Send(impostor, 40);
        }

        await WaitForAsync(daemon, Refused("otlp", "missing_token"), 1);
        var metrics = await WaitForAsync(daemon, Refused("otlp", "invalid_token"), 1);

        // Only the authorized service's spans reached the engine; the refused ones were not even decoded.
        Assert.Equal(25, Value(metrics, "gatestream_events_received_total{source=\"otlp\"}"));
        Assert.Equal(0, Value(metrics, "gatestream_decode_errors_total{source=\"otlp\"}"));
        Assert.Equal(0, Value(metrics, Refused("push", "missing_token")));
        await AssertLoggedAsync(logs, m => m.Contains("otlp (127.0.0.1:", StringComparison.Ordinal) && m.Contains("missing_token", StringComparison.Ordinal), () =>
        {
            using var again = new OtelService(endpoint, "checkout", "v2");
            Send(again, 1);
            return Task.CompletedTask;
        });
        AssertNoTokenLogged(logs, token, wrong);
    }

    [Fact]
    public async Task Push_needs_an_ingest_token_and_the_control_and_ingest_tokens_are_not_interchangeable()
    {
        var token = NewToken();
        await using var daemon = Daemon(token, out _);
        await daemon.StartAsync();
        var logs = CaptureLogs(daemon);
        var missing = await PushAsync(daemon, null);
        Assert.Equal(StatusCode.Unauthenticated, missing.Status);
        Assert.Contains("authorization: Bearer", missing.Detail, StringComparison.Ordinal);
        var controlToken = await PushAsync(daemon, TestDaemon.Bearer());
        Assert.Equal((StatusCode.Unauthenticated, "the token is not valid"), (controlToken.Status, controlToken.Detail));

        var accepted = await PushAsync(daemon, TestDaemon.Bearer(token), events: 30);
        Assert.Equal(30ul, accepted.Response!.AcceptedEvents);

        // The ingest token opens nothing on the control API; the control token still does.
        var start = new V1.StartRolloutRequest { Deployment = "checkout", BaselineVersion = "v1", CanaryVersion = "v2" };
        var control = await Assert.ThrowsAsync<RpcException>(async () => await daemon.Control.StartRolloutAsync(start, TestDaemon.Bearer(token)));
        Assert.Equal(StatusCode.Unauthenticated, control.StatusCode);
        Assert.Equal("alice", (await daemon.Control.StartRolloutAsync(start, TestDaemon.Bearer())).StartedBy);

        // The client library's gRPC sender with the token.
        await using (var sender = new EventSender(Sender($"http://127.0.0.1:{daemon.GrpcPort}", token)))
        {
            sender.Record("checkout", "v1", DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(2), 200);
            await sender.FlushAsync().WaitAsync(Timeout);
            Assert.Equal(1, sender.Stats.Acknowledged);
        }

        var metrics = await MetricsAsync(daemon);
        Assert.Equal(1, Value(metrics, Refused("push", "missing_token")));
        Assert.Equal(1, Value(metrics, Refused("push", "invalid_token")));
        Assert.Equal(31, Value(metrics, "gatestream_events_received_total{source=\"grpc\"}"));
        await AssertLoggedAsync(logs, m => m.Contains("push (127.0.0.1:", StringComparison.Ordinal), () => PushAsync(daemon, null));
        AssertNoTokenLogged(logs, token, TestDaemon.Token);
    }

    [Fact]
    public async Task Framed_senders_need_the_token_in_their_hello_with_a_missing_or_wrong_one_refused_with_error_14()
    {
        var token = NewToken();
        var wrong = NewToken();
        await using var daemon = Daemon(token, out _);
        await daemon.StartAsync();
        var framed = daemon.FramedEndpoint;
        var logs = CaptureLogs(daemon);

        await using (var sender = new EventSender(Sender(framed, token)))
        {
            sender.Record("checkout", "v1", DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(2), 200);
            await sender.FlushAsync().WaitAsync(Timeout);
            Assert.Equal(1, sender.Stats.Acknowledged);
        }

        foreach (var (presented, reason) in new[] { ((string?)null, "missing_token"), (wrong, "invalid_token") })
        {
            await using var refused = new EventSender(Sender(framed, presented));
            refused.Record("checkout", "v1", DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(2), 200);
            await WaitForAsync(daemon, Refused("framed", reason), 1);
            var deadline = DateTime.UtcNow + Timeout;
            while (refused.LastError is null && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }

            Assert.Contains("ERROR 14", refused.LastError, StringComparison.Ordinal);
            Assert.Equal(0, refused.Stats.Acknowledged);
        }

        // A sender written before tokens existed: the 8-byte hello of version 1, flags 0.
        using (var old = new TcpClient())
        {
            var address = System.Net.IPEndPoint.Parse(framed);
            await old.ConnectAsync(address.Address, address.Port);
            var stream = old.GetStream();
            await stream.WriteAsync("GSF1\u0001\0\0\0"u8.ToArray());
            var header = new byte[5];
            await stream.ReadExactlyAsync(header);
            Assert.Equal(3, header[0]); // ERROR, not the server hello's 'G'
            var payload = new byte[BitConverter.ToUInt32(header, 1)];
            await stream.ReadExactlyAsync(payload);
            Assert.Equal(14u, BitConverter.ToUInt32(payload, 0));
            Assert.Contains("requires a token", System.Text.Encoding.UTF8.GetString(payload, 4, payload.Length - 4), StringComparison.Ordinal);
        }

        var metrics = await WaitForAsync(daemon, "gatestream_framed_errors_total{code=\"unauthenticated\"}", 3);
        Assert.Equal(1, Value(metrics, "gatestream_events_received_total{source=\"framed\"}"));
        Assert.Equal(0, Value(metrics, "gatestream_decode_errors_total{source=\"framed\"}"));
        await AssertLoggedAsync(logs, m => m.Contains("framed (127.0.0.1:", StringComparison.Ordinal) && m.Contains("invalid_token", StringComparison.Ordinal), async () =>
        {
            await using var again = new EventSender(Sender(framed, wrong));
            again.Record("checkout", "v1", DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(2), 200);
            while (again.LastError is null)
            {
                await Task.Delay(20);
            }
        });
        AssertNoTokenLogged(logs, token, wrong);
    }

    [Fact]
    public async Task A_rewritten_ingest_tokens_file_takes_effect_at_the_next_call_or_connection_and_a_missing_one_fails_closed()
    {
        var first = NewToken();
        var second = NewToken() + "-rotated"; // another length: two writes in one tick of the file system's clock share a write time
        await using var daemon = Daemon(first, out var tokensFile);
        await daemon.StartAsync();
        var framed = daemon.FramedEndpoint;
        var logs = CaptureLogs(daemon);

        async Task<StatusCode> PushWithAsync(string presented) => (await PushAsync(daemon, TestDaemon.Bearer(presented))).Status;

        async Task<long> FramedAcknowledgedAsync(string presented)
        {
            await using var sender = new EventSender(Sender(framed, presented));
            sender.Record("checkout", "v1", DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(2), 200);
            await sender.FlushAsync().WaitAsync(Timeout);
            return sender.Stats.Acknowledged;
        }

        Assert.Equal(StatusCode.OK, await PushWithAsync(first));

        await File.WriteAllTextAsync(tokensFile, $"sidecar {second}\n");
        Assert.Equal(StatusCode.Unauthenticated, await PushWithAsync(first));
        Assert.Equal(StatusCode.OK, await PushWithAsync(second));
        Assert.Equal(1, await FramedAcknowledgedAsync(second));

        File.Delete(tokensFile);
        Assert.Equal(StatusCode.Unauthenticated, await PushWithAsync(second));
        await WaitForAsync(daemon, Refused("push", "tokens_file_unusable"), 1);
        Assert.Contains(logs, e => e.Message.Contains("ingest tokens file", StringComparison.Ordinal) && e.Message.Contains("does not exist", StringComparison.Ordinal));

        await File.WriteAllTextAsync(tokensFile, $"sidecar {second}\n");
        Assert.Equal(StatusCode.OK, await PushWithAsync(second));
        AssertNoTokenLogged(logs, first, second);
    }

    [Fact]
    public async Task Without_an_ingest_tokens_file_senders_need_no_token_and_one_sent_anyway_is_ignored()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"), new Dictionary<string, string?> { ["GateStream:Framed:Endpoint"] = "127.0.0.1:0" });
        await daemon.StartAsync();
        var framed = daemon.FramedEndpoint;

        Assert.Equal(3ul, (await daemon.PushAsync(EventBatches.Batch("checkout", "v1", 3))).AcceptedEvents);
        foreach (var token in new[] { null, NewToken() })
        {
            await using var sender = new EventSender(Sender(framed, token));
            sender.Record("checkout", "v1", DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(2), 200);
            await sender.FlushAsync().WaitAsync(Timeout);
            Assert.Equal(1, sender.Stats.Acknowledged);
        }

        Assert.DoesNotContain("gatestream_auth_refused_total{", await MetricsAsync(daemon), StringComparison.Ordinal);
    }

    /// <summary>The sample's value, 0 when absent.</summary>
    private static double Value(string exposition, string series) => MetricsText.Value(exposition, series) ?? 0;
}
