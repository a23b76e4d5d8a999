using System.Collections.Concurrent;
using System.Diagnostics;
using GateStream.Daemon.Kafka;
using GateStream.Daemon.Tests.Integration;
using Grpc.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Otlp;

/// <summary>
/// Floods of bad input (issue: 20,000 malformed OTLP requests wrote 40,000 lines; one Push of 50,000 bad samples
/// wrote 150,002; a name with "\n" forged a "warn:" line) cost about a line a second per ingest path, the rest is
/// counted in /metrics, and what a sender wrote is escaped before it reaches the log.
/// </summary>
public class BadInputFloodTests
{
    private const int BadInput = 1031;

    [Fact]
    public async Task Twenty_thousand_malformed_otlp_requests_write_about_a_line_a_second_and_count_the_rest()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast());
        await daemon.StartAsync();
        var logs = Capture(daemon);
        var before = SuppressedLogLines.Count("otlp");
        var export = new Method<byte[], byte[]>(MethodType.Unary, "opentelemetry.proto.collector.trace.v1.TraceService", "Export",
            Marshallers.Create(static b => b, static b => b), Marshallers.Create(static b => b, static b => b));
        var invoker = daemon.Channel!.CreateCallInvoker();
        const int Requests = 20_000;
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) < Requests)
            {
                var e = await Assert.ThrowsAsync<RpcException>(async () => await invoker.AsyncUnaryCall(export, null, default, [0x0A, 0x80]));
                Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
            }
        }));
        var seconds = clock.Elapsed.TotalSeconds;

        var lines = logs.Count(e => e.EventId == BadInput);
        Assert.True(lines <= seconds + 2, $"{lines} lines in {seconds:0.0} s");
        Assert.True(SuppressedLogLines.Count("otlp") - before >= Requests - lines - 1);
        var metrics = await new HttpClient().GetStringAsync(new Uri($"http://127.0.0.1:{daemon.HttpPort}/metrics"));
        Assert.Contains("gatestream_log_lines_suppressed_total{source=\"otlp\"}", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_push_of_fifty_thousand_bad_samples_writes_a_few_lines_with_the_forged_name_escaped()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast());
        await daemon.StartAsync();
        var logs = Capture(daemon);
        var batch = new V1.MetricBatch { Deployment = "checkout", Version = "v1" };
        for (var i = 0; i < 50_000; i++)
        {
            batch.Samples.Add(new V1.MetricSample { Name = "lag\nwarn: GateStream.Daemon[1031] forged", Value = double.NaN, Kind = V1.MetricKind.Gauge });
        }

        var clock = Stopwatch.StartNew();
        using var call = daemon.Ingest.Push();
        await call.RequestStream.WriteAsync(new V1.PushRequest { Metrics = { batch } });
        await call.RequestStream.CompleteAsync();
        var response = await call;
        var seconds = clock.Elapsed.TotalSeconds;

        Assert.Equal(50_000ul, response.RejectedSamples);
        var lines = logs.Where(e => e.EventId == BadInput).ToList();
        Assert.True(lines.Count <= seconds + 2, $"{lines.Count} lines in {seconds:0.0} s");
        Assert.NotEmpty(lines); // the problem is reported...
        Assert.All(lines, e => Assert.DoesNotContain('\n', e.Message)); // ...with the forged name escaped
        // Push reports one problem per message (the first), so the 50,000 refusals cost one line, not 150,002.
        Assert.Single(lines);
    }

    private static ConcurrentQueue<Entry> Capture(TestDaemon daemon)
    {
        var entries = new ConcurrentQueue<Entry>();
        daemon.Services.GetRequiredService<ILoggerFactory>().AddProvider(new Provider(entries));
        return entries;
    }

    internal sealed record Entry(int EventId, string Message);

    private sealed class Provider(ConcurrentQueue<Entry> entries) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(entries);

        public void Dispose()
        {
        }
    }

    private sealed class Logger(ConcurrentQueue<Entry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                entries.Enqueue(new Entry(eventId.Id, formatter(state, exception)));
            }
        }
    }
}
