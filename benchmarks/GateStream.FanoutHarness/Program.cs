using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Grpc.Core;
using Grpc.Net.Client;
using V1 = GateStream.Contracts.V1;

namespace GateStream.FanoutHarness;

/// <summary>
/// Measures decision fan-out latency: a gatestreamd process, K subscriber processes (this executable in
/// <c>subscriber</c> mode) holding N Watch streams between them, and this driver issuing Override decisions.
/// Latency = a subscriber's wall-clock receive time minus the wall-clock time the driver sent the Override
/// (and, second, minus the time the Override call returned).
/// </summary>
internal static class Program
{
    private const string Token = "fanout-harness-token";
    private const string Gate = "checkout/v2";
    private static int Warmup = 200;

    private static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "subscriber")
        {
            return await Subscriber.RunAsync(args[1..]);
        }

        return await Driver.RunAsync(args);
    }

    internal static string? Option(string[] args, string name)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    internal static long NowMicros() => (DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks / 10;

    internal static GrpcChannel Channel(string url) => GrpcChannel.ForAddress(url, new GrpcChannelOptions
    {
        HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true },
    });

    /// <summary>One subscriber process: S Watch streams over C channels; prints "D micros sequence" per decision.</summary>
    private static class Subscriber
    {
        public static async Task<int> RunAsync(string[] args)
        {
            var url = Option(args, "--target") ?? throw new ArgumentException("--target required");
            var streams = int.Parse(Option(args, "--streams") ?? "1", CultureInfo.InvariantCulture);
            var expect = int.Parse(Option(args, "--expect") ?? "1", CultureInfo.InvariantCulture);
            var channelCount = Math.Max(1, (streams + 49) / 50); // at most 50 streams per channel
            var channels = Enumerable.Range(0, channelCount).Select(_ => Channel(url)).ToArray();
            var lines = new BlockingCollection<string>(new ConcurrentQueue<string>());
            var writer = Task.Run(() =>
            {
                using var stdout = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(false), 1 << 16);
                foreach (var line in lines.GetConsumingEnumerable())
                {
                    stdout.WriteLine(line);
                    if (lines.Count == 0)
                    {
                        stdout.Flush();
                    }
                }

                stdout.Flush();
            });

            var calls = new List<AsyncServerStreamingCall<V1.Decision>>();
            for (var i = 0; i < streams; i++)
            {
                var client = new V1.DecisionService.DecisionServiceClient(channels[i % channelCount]);
                calls.Add(client.Watch(new V1.WatchRequest { Gates = { Gate } }));
            }

            foreach (var call in calls)
            {
                await call.ResponseHeadersAsync; // the subscription is live
            }

            lines.Add("READY");
            var readers = calls.Select(call => Task.Run(async () =>
            {
                for (var n = 0; n < expect && await call.ResponseStream.MoveNext(); n++)
                {
                    var micros = NowMicros();
                    var decision = call.ResponseStream.Current;
                    var decidedMicros = (decision.Time.ToDateTimeOffset() - DateTimeOffset.UnixEpoch).Ticks / 10;
                    lines.Add(string.Create(CultureInfo.InvariantCulture, $"D {micros} {decision.Sequence} {decidedMicros}"));
                }
            })).ToArray();
            try
            {
                await Task.WhenAll(readers);
                lines.Add("DONE");
            }
            catch (RpcException e)
            {
                lines.Add($"ERROR {e.Status}");
            }

            lines.CompleteAdding();
            await writer;
            foreach (var call in calls)
            {
                call.Dispose();
            }

            foreach (var channel in channels)
            {
                channel.Dispose();
            }

            return 0;
        }
    }

    private static class Driver
    {
        public static async Task<int> RunAsync(string[] args)
        {
            var decisions = int.Parse(Option(args, "--decisions") ?? "1000", CultureInfo.InvariantCulture);
            var gapMs = int.Parse(Option(args, "--gap-ms") ?? "10", CultureInfo.InvariantCulture);
            Warmup = int.Parse(Option(args, "--warmup") ?? "200", CultureInfo.InvariantCulture);
            var counts = (Option(args, "--subscribers") ?? "1,100,1000").Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
            var daemonPath = Option(args, "--daemon") ?? LocateDaemon();
            if (daemonPath is null || !File.Exists(daemonPath))
            {
                await Console.Error.WriteLineAsync("gatestreamd.dll not found: build it (dotnet build -c Release src/GateStream.Daemon) or pass --daemon <path>");
                return 2;
            }

            var fsyncs = (Option(args, "--fsync") ?? "on,off").Split(',').Select(f => f.Trim() switch
            {
                "on" => true,
                "off" => false,
                _ => throw new ArgumentException($"--fsync takes on, off or on,off; got '{f}'"),
            }).ToArray();
            Console.WriteLine($"daemon: {daemonPath}");
            Console.WriteLine($"machine: {Environment.ProcessorCount} logical CPUs, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}; load average {LoadAverage()}");
            Console.WriteLine($"{decisions} measured decisions per row (+{Warmup} warm-up), {gapMs} ms apart, SUPPRESS_RULE overrides");
            Console.WriteLine();
            var rows = new List<string>();
            foreach (var fsync in fsyncs)
            {
                rows.AddRange(await RunDaemonAsync(daemonPath, fsync, counts, decisions, gapMs));
            }

            Console.WriteLine("| decision log | subscribers | processes | p50 from decision (ms) | p99 from decision (ms) | max from decision (ms) | p50 from send (ms) | p99 from send (ms) | max from send (ms) | p99 from return (ms) | received |");
            Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var row in rows)
            {
                Console.WriteLine(row);
            }

            Console.WriteLine();
            Console.WriteLine("from decision: subscriber receive time - the decision's own time (Decision.time, taken when the gate decided, before the log write and its fsync).");
            Console.WriteLine("from send: subscriber receive time - time the driver sent the Override call (adds the control call itself: HTTP/2, authentication, the hop to the gate's shard).");
            Console.WriteLine("from return: receive time - time the Override call returned (negative = the subscriber had it before the caller). All wall clock, across processes on one machine.");
            Console.WriteLine("decision log: fsync on = each decision flushed to disk before it is published (the default); off = GateStream:State:Fsync=false.");
            Console.WriteLine($"load average after the run: {LoadAverage()}");
            return 0;
        }

        // One daemon per fsync setting (the log's setting is read at start), every subscriber count against it.
        private static async Task<List<string>> RunDaemonAsync(string daemonPath, bool fsync, int[] counts, int decisions, int gapMs)
        {
            var root = Directory.CreateTempSubdirectory("gatestream-fanout-").FullName;
            using var daemon = StartDaemon(daemonPath, root, fsync, out var url);
            try
            {
                using var channel = Channel(url);
                await WaitReadyAsync(channel, daemon);
                var control = new V1.ControlService.ControlServiceClient(channel);
                var bearer = new Metadata { { "authorization", $"Bearer {Token}" } };
                await control.StartRolloutAsync(new V1.StartRolloutRequest { Deployment = "checkout", BaselineVersion = "v1", CanaryVersion = "v2" }, bearer);
                var rows = new List<string>();
                foreach (var n in counts)
                {
                    var row = await RoundAsync(n, url, control, bearer, decisions, gapMs);
                    Console.WriteLine($"fsync {(fsync ? "on" : "off")}: {row}");
                    rows.Add($"| fsync {(fsync ? "on" : "off")} {row}");
                }

                return rows;
            }
            finally
            {
                if (!daemon.HasExited)
                {
                    daemon.Kill(entireProcessTree: true);
                    await daemon.WaitForExitAsync();
                }

                try
                {
                    Directory.Delete(root, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        }

        private static string LoadAverage()
        {
            try
            {
                return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
            }
            catch (IOException)
            {
                return "unknown";
            }
        }

        private static async Task<string> RoundAsync(int n, string url, V1.ControlService.ControlServiceClient control, Metadata bearer, int decisions, int gapMs)
        {
            var processes = n switch { 1 => 1, <= 100 => 2, _ => 4 };
            var received = new ConcurrentQueue<(long Micros, ulong Sequence, long Decided)>();
            var subscribers = new List<(Process Process, TaskCompletionSource Ready, TaskCompletionSource Done)>();
            var self = Environment.ProcessPath!;
            var selfDll = typeof(Program).Assembly.Location;
            for (var p = 0; p < processes; p++)
            {
                var streams = (n / processes) + (p < n % processes ? 1 : 0);
                var start = new ProcessStartInfo(self)
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                    UseShellExecute = false,
                };
                if (Path.GetFileNameWithoutExtension(self) == "dotnet")
                {
                    start.ArgumentList.Add(selfDll);
                }

                foreach (var a in new[] { "subscriber", "--target", url, "--streams", streams.ToString(CultureInfo.InvariantCulture), "--expect", (decisions + Warmup).ToString(CultureInfo.InvariantCulture) })
                {
                    start.ArgumentList.Add(a);
                }

                var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var process = new Process { StartInfo = start };
                process.OutputDataReceived += (_, e) =>
                {
                    var line = e.Data;
                    if (line is null)
                    {
                        done.TrySetResult();
                        return;
                    }

                    if (line.StartsWith("D ", StringComparison.Ordinal))
                    {
                        var parts = line.Split(' ');
                        received.Enqueue((long.Parse(parts[1], CultureInfo.InvariantCulture), ulong.Parse(parts[2], CultureInfo.InvariantCulture), long.Parse(parts[3], CultureInfo.InvariantCulture)));
                    }
                    else if (line == "READY")
                    {
                        ready.TrySetResult();
                    }
                    else if (line.StartsWith("ERROR", StringComparison.Ordinal))
                    {
                        Console.Error.WriteLine($"subscriber: {line}");
                    }
                };
                process.ErrorDataReceived += (_, e) =>
                {
                    if (e.Data is not null)
                    {
                        Console.Error.WriteLine($"subscriber stderr: {e.Data}");
                    }
                };
                process.Start();
                process.BeginOutputReadLine();
                process.BeginErrorReadLine();
                subscribers.Add((process, ready, done));
            }

            try
            {
                await Task.WhenAll(subscribers.Select(s => s.Ready.Task)).WaitAsync(TimeSpan.FromSeconds(120));
                await Task.Delay(500); // let connection setup settle

                var sent = new Dictionary<ulong, (long Sent, long Returned)>();
                for (var i = 0; i < decisions + Warmup; i++)
                {
                    var request = new V1.OverrideRequest
                    {
                        Gate = Gate,
                        Kind = V1.OverrideKind.SuppressRule,
                        Rule = "errors",
                        Duration = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromMinutes(10)),
                        Reason = "fan-out harness",
                    };
                    var before = NowMicros();
                    var decision = await control.OverrideAsync(request, bearer);
                    var after = NowMicros();
                    if (i >= Warmup)
                    {
                        sent[decision.Sequence] = (before, after);
                    }

                    await Task.Delay(gapMs);
                }

                await Task.WhenAll(subscribers.Select(s => s.Process.WaitForExitAsync())).WaitAsync(TimeSpan.FromSeconds(120));
                await Task.WhenAll(subscribers.Select(s => s.Done.Task)).WaitAsync(TimeSpan.FromSeconds(10));

                var fromDecision = new List<double>();
                var fromSent = new List<double>();
                var fromReturn = new List<double>();
                foreach (var (micros, sequence, decided) in received)
                {
                    if (sent.TryGetValue(sequence, out var t))
                    {
                        fromDecision.Add((micros - decided) / 1000.0);
                        fromSent.Add((micros - t.Sent) / 1000.0);
                        fromReturn.Add((micros - t.Returned) / 1000.0);
                    }
                }

                fromDecision.Sort();
                fromSent.Sort();
                fromReturn.Sort();
                var expected = (long)n * decisions;
                return string.Create(CultureInfo.InvariantCulture,
                    $"| {n} | {processes} | {Pct(fromDecision, 0.50):F2} | {Pct(fromDecision, 0.99):F2} | {fromDecision[^1]:F2} | {Pct(fromSent, 0.50):F2} | {Pct(fromSent, 0.99):F2} | {fromSent[^1]:F2} | {Pct(fromReturn, 0.99):F2} | {fromSent.Count}/{expected} |");
            }
            finally
            {
                foreach (var (process, _, _) in subscribers)
                {
                    if (!process.HasExited)
                    {
                        process.Kill(entireProcessTree: true);
                        await process.WaitForExitAsync();
                    }

                    process.Dispose();
                }
            }
        }

        private static double Pct(List<double> sorted, double q) =>
            sorted.Count == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];

        private static string? LocateDaemon()
        {
            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "GateStream.sln")))
                {
                    return Path.Combine(dir.FullName, "src", "GateStream.Daemon", "bin", "Release", "net10.0", "gatestreamd.dll");
                }
            }

            return null;
        }

        private static Process StartDaemon(string daemonPath, string root, bool fsync, out string url)
        {
            var policies = Path.Combine(root, "policies");
            Directory.CreateDirectory(policies);
            File.WriteAllText(Path.Combine(policies, "policy.yaml"), """
                apiVersion: gatestream.io/v1
                kind: GatePolicy
                metadata:
                  name: fanout
                spec:
                  target: checkout
                  progression: { stepWeight: 25, maxWeight: 75, stepInterval: 1h }
                  rules:
                    - name: errors
                      signal: error-rate
                      max: 0.05
                      action: rollback
                      minSamples: 10
                """);
            var tokens = Path.Combine(root, "tokens");
            File.WriteAllText(tokens, $"harness {Token}\n");
            var grpcPort = FreePort();
            url = $"http://127.0.0.1:{grpcPort}";
            var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
            start.ArgumentList.Add(daemonPath);
            foreach (var (key, value) in new Dictionary<string, string>
            {
                ["GateStream:Grpc:Url"] = url,
                ["GateStream:Http:Url"] = $"http://127.0.0.1:{FreePort()}",
                ["GateStream:Framed:Endpoint"] = "",
                ["GateStream:Policies:Directory"] = policies,
                ["GateStream:State:Directory"] = Path.Combine(root, "state"),
                ["GateStream:Control:TokensFile"] = tokens,
                ["GateStream:State:Fsync"] = fsync ? "true" : "false",
                ["GateStream:Engine:SubscriberBuffer"] = "65536",
                ["GateStream:Demo:Enabled"] = "false",
                ["Logging:LogLevel:Default"] = "Warning",
            })
            {
                start.ArgumentList.Add($"--{key}={value}");
            }

            start.Environment["DOTNET_ENVIRONMENT"] = "Production";
            var process = Process.Start(start)!;
            process.OutputDataReceived += (_, e) => { };
            process.ErrorDataReceived += (_, e) =>
            {
                if (e.Data is not null)
                {
                    Console.Error.WriteLine($"daemon: {e.Data}");
                }
            };
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return process;
        }

        private static async Task WaitReadyAsync(GrpcChannel channel, Process daemon)
        {
            var client = new V1.DecisionService.DecisionServiceClient(channel);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                if (daemon.HasExited)
                {
                    throw new InvalidOperationException($"the daemon exited during start (code {daemon.ExitCode})");
                }

                try
                {
                    await client.ListGatesAsync(new V1.ListGatesRequest(), deadline: DateTime.UtcNow.AddSeconds(1));
                    return;
                }
                catch (RpcException) when (DateTime.UtcNow < deadline)
                {
                    await Task.Delay(100);
                }
            }
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
