using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http;
using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Grpc.Net.Client;
using Xunit.Abstractions;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Integration;

/// <summary>
/// Durability and fan-out under stress: a daemon process killed with SIGKILL mid-stream loses and duplicates nothing
/// a subscriber can resume from, a torn log tail is truncated on start, and 1,000 concurrent subscribers all get every
/// decision in order while one that never reads does not hold them up.
/// </summary>
public class DurabilityTests(ITestOutputHelper output)
{
    private const string Gate = "checkout/v2";

    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private static V1.OverrideRequest Suppress(string reason = "durability test") => new()
    {
        Gate = Gate,
        Kind = V1.OverrideKind.SuppressRule,
        Rule = "errors",
        Duration = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromMinutes(1)),
        Reason = reason,
    };

    [Fact]
    public async Task A_sigkilled_daemon_resumes_without_gap_or_duplicate_and_truncates_a_torn_tail()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var root = Directory.CreateTempSubdirectory("gatestream-durability-").FullName;
        var policies = Path.Combine(root, "policies");
        var state = Path.Combine(root, "state");
        var tokens = Path.Combine(root, "tokens");
        Directory.CreateDirectory(policies);
        await File.WriteAllTextAsync(Path.Combine(policies, "p.yaml"), TestPolicies.Fast(stepInterval: "1h"));
        await File.WriteAllTextAsync(tokens, $"alice {TestDaemon.Token}\n");

        DaemonProcess? daemon = null;
        try
        {
            // 1. First process: a rollout, a continuous stream of decisions, SIGKILL mid-stream.
            daemon = await DaemonProcess.StartAsync(Settings(policies, state, tokens));
            await new V1.ControlService.ControlServiceClient(daemon.Channel).StartRolloutAsync(
                new V1.StartRolloutRequest { Deployment = "checkout", BaselineVersion = "v1", CanaryVersion = "v2" }, TestDaemon.Bearer());

            var decisions = new V1.DecisionService.DecisionServiceClient(daemon.Channel);
            using var watch = decisions.Watch(new V1.WatchRequest { FromStart = true });
            await watch.ResponseHeadersAsync;
            var seen = new ConcurrentQueue<ulong>();
            var watcher = Task.Run(async () =>
            {
                try
                {
                    while (await watch.ResponseStream.MoveNext())
                    {
                        seen.Enqueue(watch.ResponseStream.Current.Sequence);
                    }
                }
                catch (RpcException)
                {
                    // The daemon dies under it.
                }
            });

            using var stopProducing = new CancellationTokenSource();
            long acknowledged = 0; // highest sequence an Override call returned (durable by contract)
            var control = new V1.ControlService.ControlServiceClient(daemon.Channel);
            // Four concurrent producers, so that decisions are in flight (logged or not, published or not) at the kill.
            var producers = Enumerable.Range(0, 4).Select(_ => Task.Run(async () =>
            {
                while (!stopProducing.IsCancellationRequested)
                {
                    try
                    {
                        var decision = await control.OverrideAsync(Suppress(), TestDaemon.Bearer());
                        var sequence = (long)decision.Sequence;
                        long current;
                        while ((current = Interlocked.Read(ref acknowledged)) < sequence && Interlocked.CompareExchange(ref acknowledged, sequence, current) != current)
                        {
                        }
                    }
                    catch (RpcException)
                    {
                        return; // the daemon died mid-call
                    }
                }
            })).ToArray();

            using (var timeout = new CancellationTokenSource(Timeout))
            {
                while (seen.Count < 100)
                {
                    await Task.Delay(1, timeout.Token);
                }
            }

            daemon.Process.Kill(); // SIGKILL, mid-stream: the producer is still calling
            await daemon.Process.WaitForExitAsync();
            await stopProducing.CancelAsync();
            await Task.WhenAll(producers);
            await watcher;
            var watched = seen.ToArray();
            var lastAcknowledged = (ulong)Interlocked.Read(ref acknowledged);
            await daemon.DisposeAsync();
            daemon = null;

            Assert.Equal(watched.Select((_, i) => (ulong)(i + 1)), watched); // the live stream itself was consecutive
            var lastWatched = watched[^1];

            // 2. Second process on the same state directory: resume from the last sequence the watcher saw.
            daemon = await DaemonProcess.StartAsync(Settings(policies, state, tokens));
            decisions = new V1.DecisionService.DecisionServiceClient(daemon.Channel);
            var lastLogged = (await decisions.ListGatesAsync(new V1.ListGatesRequest { IncludeFinished = true })).LastSequence;
            Assert.True(lastLogged >= lastWatched, $"last logged {lastLogged} < last watched {lastWatched}: a published decision was lost");
            Assert.True(lastLogged >= lastAcknowledged, $"last logged {lastLogged} < last acknowledged {lastAcknowledged}: a durable decision was lost");

            using var resumed = decisions.Watch(new V1.WatchRequest { FromSequence = lastWatched });
            await resumed.ResponseHeadersAsync;
            var replayed = new List<ulong>();
            using (var timeout = new CancellationTokenSource(Timeout))
            {
                while (replayed.Count < (int)(lastLogged - lastWatched) && await resumed.ResponseStream.MoveNext(timeout.Token))
                {
                    replayed.Add(resumed.ResponseStream.Current.Sequence);
                }
            }

            var afterRestart = await new V1.ControlService.ControlServiceClient(daemon.Channel).OverrideAsync(Suppress("after the crash"), TestDaemon.Bearer());
            Assert.Equal(lastLogged + 1, afterRestart.Sequence);
            using (var timeout = new CancellationTokenSource(Timeout))
            {
                Assert.True(await resumed.ResponseStream.MoveNext(timeout.Token));
                replayed.Add(resumed.ResponseStream.Current.Sequence);
            }

            // Strictly consecutive from lastWatched + 1 through the new decision: no gap, no duplicate, no reordering.
            Assert.Equal(Enumerable.Range(0, replayed.Count).Select(i => lastWatched + 1 + (ulong)i), replayed);
            Assert.Equal(afterRestart.Sequence, replayed[^1]);
            var total = afterRestart.Sequence;

            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"crash: watcher saw {watched.Length} decisions before SIGKILL (last acknowledged override {lastAcknowledged}); " +
                $"log held {lastLogged} after restart; resumed subscriber got {replayed.Count - 1} logged + 1 new (seq {afterRestart.Sequence})"));

            // 3. Stop it, tear the newest segment's tail, start a third process: the tail is truncated, 1..N survive.
            await daemon.StopAsync();
            await daemon.DisposeAsync();
            daemon = null;
            var newest = Directory.GetFiles(state, "decisions-*.log", SearchOption.AllDirectories).Order(StringComparer.Ordinal).Last();
            var lengthBefore = new FileInfo(newest).Length;
            await using (var file = new FileStream(newest, FileMode.Append, FileAccess.Write))
            {
                await file.WriteAsync(RandomNumberGenerator.GetBytes(13));
            }

            daemon = await DaemonProcess.StartAsync(Settings(policies, state, tokens));
            decisions = new V1.DecisionService.DecisionServiceClient(daemon.Channel);
            Assert.Equal(total, (await decisions.ListGatesAsync(new V1.ListGatesRequest { IncludeFinished = true })).LastSequence);
            using var all = decisions.Watch(new V1.WatchRequest { FromStart = true });
            var everything = new List<ulong>();
            using (var timeout = new CancellationTokenSource(Timeout))
            {
                while (everything.Count < (int)total && await all.ResponseStream.MoveNext(timeout.Token))
                {
                    everything.Add(all.ResponseStream.Current.Sequence);
                }
            }

            Assert.Equal(Enumerable.Range(1, (int)total).Select(i => (ulong)i), everything);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"torn tail: 13 garbage bytes appended to {Path.GetFileName(newest)} ({lengthBefore} bytes); third start read back 1..{total}, " +
                $"segment now {new FileInfo(newest).Length} bytes"));
        }
        finally
        {
            if (daemon is not null)
            {
                await daemon.DisposeAsync();
            }

            Directory.Delete(root, recursive: true);
        }
    }

    [Fact]
    public async Task A_thousand_subscribers_each_get_every_decision_in_order_and_a_stalled_one_delays_nobody()
    {
        const int subscribers = 1_000;
        const int perChannel = 50; // well under Kestrel's 100 concurrent streams per connection
        const int decisionCount = 200;
        var total = Stopwatch.StartNew();

        await using var daemon = new TestDaemon(TestPolicies.Fast(stepInterval: "1h"), new Dictionary<string, string?>
        {
            ["GateStream:Engine:SubscriberBuffer"] = "16",
            ["GateStream:State:Fsync"] = "false",
        });
        await daemon.StartAsync();
        await daemon.Control.StartRolloutAsync(new V1.StartRolloutRequest { Deployment = "checkout", BaselineVersion = "v1", CanaryVersion = "v2" }, TestDaemon.Bearer());

        var channels = new List<GrpcChannel>();
        var calls = new List<AsyncServerStreamingCall<V1.Decision>>();
        try
        {
            for (var c = 0; c < subscribers / perChannel; c++)
            {
                channels.Add(GrpcChannel.ForAddress($"http://127.0.0.1:{daemon.GrpcPort}", new GrpcChannelOptions
                {
                    HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
                }));
            }

            for (var s = 0; s < subscribers; s++)
            {
                calls.Add(new V1.DecisionService.DecisionServiceClient(channels[s / perChannel]).Watch(new V1.WatchRequest()));
            }

            await Task.WhenAll(calls.Select(c => c.ResponseHeadersAsync)).WaitAsync(Timeout);

            // The stalled subscriber: its own connection, never read until the end.
            using var stalledChannel = GrpcChannel.ForAddress($"http://127.0.0.1:{daemon.GrpcPort}", new GrpcChannelOptions { HttpHandler = new SocketsHttpHandler() });
            using var stalled = new V1.DecisionService.DecisionServiceClient(stalledChannel).Watch(new V1.WatchRequest());
            await stalled.ResponseHeadersAsync.WaitAsync(Timeout);
            var subscribed = total.Elapsed;

            // received[s][i]: when subscriber s received its i-th decision; order checked against the overrides' sequences.
            var received = new long[subscribers][];
            var sequences = new ulong[subscribers][];
            using var readTimeout = new CancellationTokenSource(TimeSpan.FromSeconds(180)); // a deadline for a loaded 2-core CI machine, not a latency claim
            var readers = Enumerable.Range(0, subscribers).Select(s => Task.Run(async () =>
            {
                received[s] = new long[decisionCount];
                sequences[s] = new ulong[decisionCount];
                var stream = calls[s].ResponseStream;
                for (var i = 0; i < decisionCount; i++)
                {
                    Assert.True(await stream.MoveNext(readTimeout.Token), $"subscriber {s} ended after {i} decisions");
                    received[s][i] = Stopwatch.GetTimestamp();
                    sequences[s][i] = stream.Current.Sequence;
                }
            })).ToArray();

            var acknowledged = new long[decisionCount];
            var expected = new ulong[decisionCount];
            var control = daemon.Control;
            var reason = new string('x', 1_500); // big enough that the stalled stream overflows its HTTP/2 window and buffer
            var produce = Stopwatch.StartNew();
            for (var i = 0; i < decisionCount; i++)
            {
                var decision = await control.OverrideAsync(Suppress(reason), TestDaemon.Bearer());
                acknowledged[i] = Stopwatch.GetTimestamp();
                expected[i] = decision.Sequence;
            }

            var produced = produce.Elapsed;
            await Task.WhenAll(readers);
            var delivered = produce.Elapsed;

            for (var s = 0; s < subscribers; s++)
            {
                Assert.Equal(expected, sequences[s]);
            }

            Assert.Equal(Enumerable.Range(0, decisionCount).Select(i => expected[0] + (ulong)i), expected);

            var latencies = new double[decisionCount];
            for (var i = 0; i < decisionCount; i++)
            {
                var last = long.MinValue;
                for (var s = 0; s < subscribers; s++)
                {
                    last = Math.Max(last, received[s][i]);
                }

                latencies[i] = Stopwatch.GetElapsedTime(acknowledged[i], last).TotalMilliseconds;
                if (last < acknowledged[i])
                {
                    latencies[i] = -Stopwatch.GetElapsedTime(last, acknowledged[i]).TotalMilliseconds;
                }
            }

            Array.Sort(latencies);
            double Percentile(double p) => latencies[Math.Min(decisionCount - 1, (int)Math.Ceiling(p * decisionCount) - 1)];

            // Now read the stalled subscriber: cut off with RESOURCE_EXHAUSTED if it overflowed, else complete and in order.
            var stalledSeen = new List<ulong>();
            string stalledOutcome;
            try
            {
                using var stalledTimeout = new CancellationTokenSource(Timeout);
                while (stalledSeen.Count < decisionCount && await stalled.ResponseStream.MoveNext(stalledTimeout.Token))
                {
                    stalledSeen.Add(stalled.ResponseStream.Current.Sequence);
                }

                Assert.Equal(expected, stalledSeen);
                stalledOutcome = $"stalled subscriber was not cut off (all {decisionCount} fit in its buffers); read all in order afterwards";
            }
            catch (RpcException e)
            {
                Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);
                Assert.Equal(expected.Take(stalledSeen.Count), stalledSeen);
                stalledOutcome = $"stalled subscriber got RESOURCE_EXHAUSTED after {stalledSeen.Count} buffered decisions";
            }

            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{subscribers} subscribers over {channels.Count} channels (+1 stalled), {decisionCount} decisions: " +
                $"subscribed in {subscribed.TotalMilliseconds:F0} ms; overrides took {produced.TotalMilliseconds:F0} ms; " +
                $"all delivered {delivered.TotalMilliseconds:F0} ms after the first override; total {total.Elapsed.TotalMilliseconds:F0} ms"));
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"fan-out latency (Override returned -> last of {subscribers} received): p50 {Percentile(0.50):F1} ms, p99 {Percentile(0.99):F1} ms, " +
                $"min {latencies[0]:F1} ms, max {latencies[^1]:F1} ms"));
            output.WriteLine(stalledOutcome);
        }
        finally
        {
            foreach (var call in calls)
            {
                call.Dispose();
            }

            foreach (var channel in channels)
            {
                channel.Dispose();
            }
        }
    }

    [Fact]
    public async Task An_unusable_state_directory_stops_the_daemon_with_one_line_and_exit_code_1()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var root = Directory.CreateTempSubdirectory("gatestream-badstate-").FullName;
        try
        {
            var policies = Path.Combine(root, "policies");
            var tokens = Path.Combine(root, "tokens");
            Directory.CreateDirectory(policies);
            await File.WriteAllTextAsync(Path.Combine(policies, "p.yaml"), TestPolicies.Fast());
            await File.WriteAllTextAsync(tokens, $"alice {TestDaemon.Token}\n");

            // Unusable as root too (chmod would not stop root): the state "directory" is a regular file.
            var state = Path.Combine(root, "state");
            await File.WriteAllTextAsync(state, "not a directory");

            var (exitCode, stdout, error) = await DaemonProcess.RunToExitAsync(Settings(policies, state, tokens));

            Assert.Equal(1, exitCode);
            var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith($"gatestreamd: Cannot open the decision log in '{state}' (GateStream:State:Directory): ", line, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stdout + error, StringComparison.Ordinal);
            output.WriteLine(line);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Theory]
    [InlineData("invalid-option")]
    [InlineData("port-in-use")]
    public async Task A_configuration_the_daemon_cannot_start_with_is_one_line_and_exit_code_1(string fault)
    {
        var root = Directory.CreateTempSubdirectory("gatestream-badstart-").FullName;
        using var squatter = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        squatter.Start();
        try
        {
            var policies = Path.Combine(root, "policies");
            var tokens = Path.Combine(root, "tokens");
            Directory.CreateDirectory(policies);
            await File.WriteAllTextAsync(Path.Combine(policies, "p.yaml"), TestPolicies.Fast());
            await File.WriteAllTextAsync(tokens, $"alice {TestDaemon.Token}\n");
            var busyPort = ((System.Net.IPEndPoint)squatter.LocalEndpoint).Port;
            string[] extra = fault == "port-in-use"
                ? [$"--GateStream:Http:Url=http://127.0.0.1:{busyPort}"]
                : ["--GateStream:Engine:Shards=-1"];

            var (exitCode, stdout, error) = await DaemonProcess.RunToExitAsync(Settings(policies, Path.Combine(root, "state"), tokens), extra);

            Assert.Equal(1, exitCode);
            var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.StartsWith("gatestreamd: ", line, StringComparison.Ordinal);
            Assert.Contains(fault == "port-in-use" ? busyPort.ToString(System.Globalization.CultureInfo.InvariantCulture) : "GateStream:Engine:Shards must", line, StringComparison.Ordinal);
            Assert.DoesNotContain("   at ", stdout + error, StringComparison.Ordinal);
            output.WriteLine(line);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>The configuration the daemon runs with here, as its own process (<see cref="DaemonProcess"/>).</summary>
    private static Dictionary<string, string?> Settings(string policies, string state, string tokens) => new()
    {
        ["GateStream:Framed:Endpoint"] = "",
        ["GateStream:Policies:Directory"] = policies,
        ["GateStream:State:Directory"] = state,
        ["GateStream:Control:TokensFile"] = tokens,
        ["GateStream:Engine:TickInterval"] = "00:00:00.100",
        ["GateStream:Demo:Enabled"] = "false",
        ["Logging:LogLevel:Default"] = "Warning",
    };
}
