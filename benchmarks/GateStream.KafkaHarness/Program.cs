using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Confluent.Kafka;
using GateStream.Contracts.Otlp.Collector.Trace.V1;
using GateStream.Contracts.Otlp.Common.V1;
using GateStream.Contracts.Otlp.Resource.V1;
using GateStream.Contracts.Otlp.Trace.V1;
using GateStream.Ingest.Kafka;
using Google.Protobuf;
using V1 = GateStream.Contracts.V1;

// Kafka ingest cost of one daemon (one consumer), beside its anchor: a plain Confluent.Kafka consume loop over the same
// topic, in its own process like the daemon, with the daemon's consumer settings. This process owns librdkafka's mock
// cluster and produces every message before either consumer starts.
// Usage: dotnet run -c Release --project benchmarks/GateStream.KafkaHarness -- [--native-events N] [--json-events N] [--otlp-events N] [--partitions N] [--deployments N] [--daemon path/gatestreamd.dll] [--warm-up 0.4]
if (args.Length > 0 && args[0] == "--anchor")
{
    return Anchor.Run(args[1], args[2], long.Parse(args[3], CultureInfo.InvariantCulture), double.Parse(args[4], CultureInfo.InvariantCulture),
        Options.ParseSettings(args.Skip(5)));
}

var options = Options.Parse(args);
if (!File.Exists(options.Daemon))
{
    Console.Error.WriteLine($"{options.Daemon} not found: build it first (dotnet build src/GateStream.Daemon -c Release) or pass --daemon.");
    return 2;
}

using var cluster = MockCluster.Start();
Console.WriteLine($"mock cluster (3 brokers, {options.Partitions} partitions per topic) at {cluster.BootstrapServers}; daemon {options.Daemon}; {Environment.ProcessorCount} cores; load average {Load.Average()}");

var results = new List<Result>();
if (options.NativeEvents > 0)
{
    results.Add(await Run(cluster, options, "gatestream", options.NativeEvents, eventsPerMessage: 1_000));
}

if (options.JsonEvents > 0)
{
    results.Add(await Run(cluster, options, "json", options.JsonEvents, eventsPerMessage: 1));
}

if (options.OtlpEvents > 0)
{
    results.Add(await Run(cluster, options, "otlp", options.OtlpEvents, eventsPerMessage: 1));
}

Console.WriteLine();
Console.WriteLine($"load average at the end: {Load.Average()}");
Console.WriteLine();
Console.WriteLine("| encoding | events/message | messages | events/s | daemon CPU-µs per message | anchor: plain consume loop, CPU-µs per message | ratio | daemon messages per CPU-second | goal |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---:|---:|---|");
foreach (var r in results)
{
    var rate = r.Events / r.Seconds;
    var perMessage = r.CpuSeconds / r.MeasuredMessages * 1e6;
    var goal = r.EventsPerMessage > 1
        ? $"≥ 5,000,000 events/s: {(rate >= 5_000_000 ? "met" : "missed")}"
        : $"≤ 1.5 CPU-µs per message: {(perMessage <= 1.5 ? "met" : "missed")}";
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {r.Encoding} | {r.EventsPerMessage:N0} | {r.Messages:N0} | {rate:N0} | {perMessage:F2} | {r.AnchorMicrosPerMessage:F2} | {perMessage / r.AnchorMicrosPerMessage:F2}x | {1e6 / perMessage:N0} | {goal} |"));
}

return results.All(r => r.Complete) ? 0 : 1;

// Each scrape of /metrics costs the daemon about 2 ms of CPU, counted in its figure: 4 a second is 0.8 % of a core.
static TimeSpan PollInterval() => TimeSpan.FromMilliseconds(250);

static async Task<Result> Run(MockCluster cluster, Options options, string encoding, long events, int eventsPerMessage)
{
    var topic = "bench-" + encoding;
    cluster.CreateTopic(topic, options.Partitions);
    var produce = Stopwatch.StartNew();
    var messages = Producing.Produce(cluster.BootstrapServers, topic, encoding, events, eventsPerMessage, options.Deployments, options.Partitions);
    cluster.CheckRetained(topic, options.Partitions, messages);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{encoding}: produced {messages:N0} messages ({events:N0} events) in {produce.Elapsed.TotalSeconds:F1} s; starting the anchor"));
    var anchor = Anchor.Start(cluster.BootstrapServers, topic, messages, options.WarmUp, options.Consumer);
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{encoding}: anchor consumed {anchor.Messages:N0} messages in {anchor.Seconds:F2} s after the warm-up, CPU {anchor.CpuSeconds:F2} s: {anchor.MicrosPerMessage:F2} CPU-µs per message; by thread: {anchor.Threads}; starting the daemon"));

    using var daemon = Daemon.Start(options.Daemon, cluster.BootstrapServers, topic, encoding, options.Deployments, options.Consumer);
    try
    {
        var metrics = new MetricsReader(daemon.HttpPort);
        var startup = Stopwatch.StartNew();
        double accepted = 0;
        // The clock starts once the warm-up's share of the events is applied (--warm-up, 0.4 by default): start-up,
        // joining the group and the JIT's tiering (a quarter of the daemon's CPU over the first million messages, and the
        // hot loop running unoptimised code meanwhile) are paid once per process, not per message. The anchor is
        // measured after the same share of its messages.
        var warmUp = Math.Max(1, (long)(events * options.WarmUp));
        while ((accepted = await metrics.AcceptedAsync()) < warmUp)
        {
            if (daemon.Process.HasExited || startup.Elapsed > TimeSpan.FromSeconds(120))
            {
                throw new InvalidOperationException($"the daemon accepted nothing within {startup.Elapsed.TotalSeconds:F0} s (exited: {daemon.Process.HasExited})\n{daemon.Output}");
            }

            await Task.Delay(10);
        }

        var clock = Stopwatch.StartNew();
        var threadsAtStart = ThreadCpu.Read(daemon.Process.Id);
        var cpuAtStart = daemon.Process.TotalProcessorTime;
        var acceptedAtStart = accepted;
        var last = clock.Elapsed;
        var lastAccepted = accepted;
        while (accepted < events && clock.Elapsed - last < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(PollInterval());
            accepted = await metrics.AcceptedAsync();
            if (accepted > lastAccepted)
            {
                (last, lastAccepted) = (clock.Elapsed, accepted);
            }
        }

        var seconds = last.TotalSeconds;
        daemon.Process.Refresh();
        var cpu = (daemon.Process.TotalProcessorTime - cpuAtStart).TotalSeconds;
        var threads = ThreadCpu.Describe(threadsAtStart, ThreadCpu.Read(daemon.Process.Id));
        var measured = accepted - acceptedAtStart; // events accepted while the clock ran
        var other = await metrics.OtherOutcomesAsync();
        // What the daemon costs with nothing to consume (ticks, this harness's scrapes): part of the figure above, shown apart.
        var idleStart = daemon.Process.TotalProcessorTime;
        var idleThreadsAtStart = ThreadCpu.Read(daemon.Process.Id);
        var idleClock = Stopwatch.StartNew();
        while (idleClock.Elapsed < TimeSpan.FromSeconds(3))
        {
            await Task.Delay(PollInterval());
            await metrics.AcceptedAsync();
        }

        daemon.Process.Refresh();
        var idle = (daemon.Process.TotalProcessorTime - idleStart).TotalSeconds / idleClock.Elapsed.TotalSeconds;
        var idleThreads = ThreadCpu.Describe(idleThreadsAtStart, ThreadCpu.Read(daemon.Process.Id));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{encoding}: {accepted:N0} of {events:N0} events applied; {measured:N0} of them in {seconds:F2} s after the warm-up; daemon CPU {cpu:F2} s over that time (idle afterwards: {idle * 100:F1}% of a core: {idleThreads}); by thread: {threads}; ingest outcomes: {other}"));
        if (accepted < events)
        {
            Console.WriteLine($"{encoding}: INCOMPLETE, nothing more applied for 15 s. Kafka metrics: {await metrics.KafkaAsync()}\ndaemon output:\n{daemon.Output}");
        }

        return new Result(encoding, eventsPerMessage, messages, (long)measured, measured / eventsPerMessage, seconds, cpu, anchor.MicrosPerMessage, accepted >= events);
    }
    finally
    {
        daemon.Stop();
    }
}

internal sealed record Result(string Encoding, int EventsPerMessage, long Messages, long Events, double MeasuredMessages, double Seconds, double CpuSeconds,
    double AnchorMicrosPerMessage, bool Complete);

internal sealed record Options(long NativeEvents, long JsonEvents, long OtlpEvents, int Deployments, int Partitions, string Daemon, double WarmUp,
    IReadOnlyDictionary<string, string> Consumer)
{
    public static Options Parse(string[] args)
    {
        var native = 20_000_000L;
        // As many messages as the mock brokers keep: the last 5 MiB of each partition, and deployments share partitions
        // unevenly (two million OTLP messages of about 300 bytes overflow the fullest).
        var json = 2_000_000L;
        var otlp = 1_000_000L;
        var warmUp = 0.4;
        var deployments = 128;
        var partitions = 128;
        string? daemon = null;
        var consumer = new List<string>();
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--native-events": native = long.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--json-events": json = long.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--otlp-events": otlp = long.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--deployments": deployments = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--partitions": partitions = int.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--daemon": daemon = args[i + 1]; break;
                case "--warm-up": warmUp = double.Parse(args[i + 1], CultureInfo.InvariantCulture); break;
                case "--consumer": consumer.Add(args[i + 1]); break;
                default: throw new ArgumentException("unknown option " + args[i]);
            }
        }

        if (warmUp is < 0 or >= 1)
        {
            throw new ArgumentException("--warm-up is the share of the messages consumed before the clock starts, from 0 to below 1");
        }

        return new Options(native, json, otlp, deployments, partitions, daemon ?? DefaultDaemon(), warmUp, ParseSettings(consumer));
    }

    /// <summary>librdkafka settings given as <c>key=value</c> (<c>--consumer</c>), for both the daemon and its anchor.</summary>
    public static Dictionary<string, string> ParseSettings(IEnumerable<string> pairs)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in pairs)
        {
            var at = pair.IndexOf('=', StringComparison.Ordinal);
            if (at <= 0)
            {
                throw new ArgumentException($"--consumer takes key=value (a librdkafka consumer setting), not '{pair}'");
            }

            settings[pair[..at]] = pair[(at + 1)..];
        }

        return settings;
    }

    private static string DefaultDaemon()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "GateStream.sln")))
            {
                return Path.Combine(dir.FullName, "src", "GateStream.Daemon", "bin", "Release", "net10.0", "gatestreamd.dll");
            }
        }

        return "gatestreamd.dll";
    }
}

/// <summary>librdkafka's mock cluster, alive while the client that hosts it is (as in the daemon's tests).</summary>
internal sealed class MockCluster : IDisposable
{
    private const string Marker = "replaced with ";
    private readonly IProducer<Null, Null> _host;

    private MockCluster(IProducer<Null, Null> host, string bootstrapServers) => (_host, BootstrapServers) = (host, bootstrapServers);

    public string BootstrapServers { get; }

    public static MockCluster Start()
    {
        var bootstrap = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var host = new ProducerBuilder<Null, Null>(new Dictionary<string, string>
            {
                ["bootstrap.servers"] = "unused:9092",
                ["test.mock.num.brokers"] = "3",
            })
            .SetLogHandler((_, m) =>
            {
                var at = m.Message.IndexOf(Marker, StringComparison.Ordinal);
                if (at >= 0)
                {
                    bootstrap.TrySetResult(m.Message[(at + Marker.Length)..].Trim());
                }
            })
            .Build();
        return new MockCluster(host, bootstrap.Task.WaitAsync(TimeSpan.FromSeconds(10)).GetAwaiter().GetResult());
    }

    /// <summary>
    /// Creates <paramref name="name"/> with <paramref name="partitions"/> partitions through the mock's C API
    /// (rd_kafka_mock_topic_create on the cluster of the hosting client's handle): the mock has no CreateTopics, and the
    /// topics it auto-creates have 4 partitions, each keeping only its last 5 MiB, too little to pre-produce a run.
    /// </summary>
    public void CreateTopic(string name, int partitions)
    {
        var error = Native.rd_kafka_mock_topic_create(Native.Cluster(_host.Handle), name, partitions, 1);
        if (error != 0)
        {
            throw new InvalidOperationException($"rd_kafka_mock_topic_create: {(ErrorCode)error}");
        }
    }

    /// <summary>Throws unless every message produced is still in the topic (the mock drops a partition's oldest past 5 MiB).</summary>
    public void CheckRetained(string topic, int partitions, long messages)
    {
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(new ConsumerConfig { BootstrapServers = BootstrapServers, GroupId = "harness-check" }).Build();
        long retained = 0;
        for (var p = 0; p < partitions; p++)
        {
            var w = consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10));
            retained += w.High.Value - w.Low.Value;
        }

        if (retained != messages)
        {
            throw new InvalidOperationException($"{topic} retains {retained:N0} of the {messages:N0} messages produced: the mock keeps 5 MiB per partition; produce fewer events or use more partitions");
        }
    }

    public void Dispose() => _host.Dispose();

    private static class Native
    {
        private const string Library = "librdkafka";

        static Native() => NativeLibrary.SetDllImportResolver(typeof(Native).Assembly, (name, _, _) =>
        {
            if (name != Library)
            {
                return IntPtr.Zero;
            }

            // The very librdkafka Confluent.Kafka loaded (it picks, among the redist builds, one whose dependencies exist).
            var loaded = File.ReadLines("/proc/self/maps")
                .Select(line => line.IndexOf('/', StringComparison.Ordinal) is var at and >= 0 ? line[at..] : "")
                .FirstOrDefault(path => Path.GetFileName(path).EndsWith("librdkafka.so", StringComparison.Ordinal));
            return loaded is not null && NativeLibrary.TryLoad(loaded, out var handle) ? handle : IntPtr.Zero;
        });

        /// <summary>The mock cluster of a client made with test.mock.num.brokers (its rd_kafka_t is internal to Confluent.Kafka).</summary>
        public static IntPtr Cluster(Handle handle)
        {
            var property = typeof(Handle).GetProperty("LibrdkafkaHandle", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)
                ?? throw new InvalidOperationException("Confluent.Kafka.Handle.LibrdkafkaHandle not found");
            var rk = ((SafeHandle)property.GetValue(handle)!).DangerousGetHandle();
            var cluster = rd_kafka_handle_mock_cluster(rk);
            return cluster != IntPtr.Zero ? cluster : throw new InvalidOperationException("the client has no mock cluster");
        }

        [DllImport(Library)]
        private static extern IntPtr rd_kafka_handle_mock_cluster(IntPtr rk);

        [DllImport(Library)]
        public static extern int rd_kafka_mock_topic_create(IntPtr cluster, [MarshalAs(UnmanagedType.LPUTF8Str)] string topic, int partitionCount, int replicationFactor);
    }
}

internal static class Producing
{
    /// <summary>Produces <paramref name="events"/> events, keyed by deployment, each deployment on one partition (index mod partitions).</summary>
    public static long Produce(string bootstrap, string topic, string encoding, long events, int eventsPerMessage, int deployments, int partitions)
    {
        using var producer = new ProducerBuilder<string, byte[]>(new ProducerConfig
        {
            BootstrapServers = bootstrap,
            LingerMs = 20,
            BatchSize = 1_000_000,
            QueueBufferingMaxMessages = 1_000_000,
            QueueBufferingMaxKbytes = 1_048_576,
            CompressionType = CompressionType.None,
        }).Build();
        long failed = 0;
        void Report(DeliveryReport<string, byte[]> r)
        {
            if (r.Error.IsError)
            {
                Interlocked.Increment(ref failed);
            }
        }

        var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        long messages = 0;
        for (long produced = 0; produced < events; produced += eventsPerMessage, messages++)
        {
            var index = messages % deployments;
            var deployment = "svc-" + index.ToString(CultureInfo.InvariantCulture);
            var version = messages / deployments % 2 == 0 ? "v1" : "v2";
            var count = (int)Math.Min(eventsPerMessage, events - produced);
            var value = encoding switch
            {
                "json" => Json(deployment, version, now, messages),
                "otlp" => Otlp(deployment, version, now, messages),
                _ => Native(deployment, version, now, count, messages),
            };
            while (true)
            {
                try
                {
                    producer.Produce(new TopicPartition(topic, (int)(index % partitions)), new Message<string, byte[]> { Key = deployment, Value = value }, Report);
                    break;
                }
                catch (ProduceException<string, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                {
                    producer.Poll(TimeSpan.FromMilliseconds(50));
                }
            }
        }

        producer.Flush(TimeSpan.FromMinutes(5));
        return failed == 0 ? messages : throw new InvalidOperationException($"{failed} messages failed to be delivered");
    }

    /// <summary>A native batch of <paramref name="count"/> events spread over the last ~2 s, 1 in 100 an error.</summary>
    private static byte[] Native(string deployment, string version, long nowMillis, int count, long seed)
    {
        var batch = new V1.EventBatch { Deployment = deployment, Version = version, BaseTimeUnixMicros = (nowMillis - 2_000) * 1_000 };
        for (var i = 0; i < count; i++)
        {
            batch.TimeDeltasMicros.Add(i == 0 ? 0 : 2);
            batch.LatencyMicros.Add((uint)(1_000 + ((seed + i) % 50 * 100)));
            batch.StatusCodes.Add((seed + i) % 100 == 0 ? 503u : 200u);
        }

        return batch.ToByteArray();
    }

    /// <summary>
    /// One server span per message, as an OpenTelemetry Collector with a batch size of one (or a sidecar exporting each
    /// request) writes with <c>otlp_proto</c>: a resource with service name, version and host, five span attributes.
    /// </summary>
    private static byte[] Otlp(string deployment, string version, long nowMillis, long seq)
    {
        var start = (ulong)(nowMillis - 2_000 + (seq % 2_000)) * 1_000_000UL;
        var span = new Span
        {
            TraceId = ByteString.CopyFrom(BitConverter.GetBytes(seq).Concat(BitConverter.GetBytes(~seq)).ToArray()),
            SpanId = ByteString.CopyFrom(BitConverter.GetBytes(seq * 31)),
            Name = "GET /api/orders/{id}",
            Kind = Span.Types.SpanKind.Server,
            StartTimeUnixNano = start,
            EndTimeUnixNano = start + (ulong)(2_500_000 + (seq % 7) * 1_000_000),
            Status = new Status { Code = seq % 100 == 0 ? Status.Types.StatusCode.Error : Status.Types.StatusCode.Unset },
        };
        span.Attributes.Add(Attribute("http.request.method", "GET"));
        span.Attributes.Add(Attribute("http.route", "/api/orders/{id}"));
        span.Attributes.Add(new KeyValue { Key = "http.response.status_code", Value = new AnyValue { IntValue = seq % 100 == 0 ? 503 : 200 } });
        span.Attributes.Add(Attribute("server.address", "checkout.internal"));
        span.Attributes.Add(Attribute("url.scheme", "http"));
        var scope = new ScopeSpans { Scope = new InstrumentationScope { Name = "Microsoft.AspNetCore" } };
        scope.Spans.Add(span);
        var resource = new ResourceSpans { Resource = new Resource() };
        resource.Resource.Attributes.Add(Attribute("service.name", deployment));
        resource.Resource.Attributes.Add(Attribute("service.version", version));
        resource.Resource.Attributes.Add(Attribute("host.name", "node-1"));
        resource.ScopeSpans.Add(scope);
        var request = new ExportTraceServiceRequest();
        request.ResourceSpans.Add(resource);
        return request.ToByteArray();

        static KeyValue Attribute(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };
    }

    /// <summary>One event per message in the form docs/kafka.md gives, with the extra properties shippers add.</summary>
    private static byte[] Json(string deployment, string version, long nowMillis, long seq)
    {
        var time = nowMillis - 2_000 + (seq % 2_000);
        var timestamp = seq % 2 == 0
            ? "\"" + DateTimeOffset.FromUnixTimeMilliseconds(time).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture) + "\""
            : time.ToString(CultureInfo.InvariantCulture);
        var latency = (2.5 + (seq % 7)).ToString(CultureInfo.InvariantCulture);
        var status = seq % 100 == 0 ? 503 : 200;
        return Encoding.UTF8.GetBytes(
            $$$"""{"deployment":"{{{deployment}}}","version":"{{{version}}}","timestamp":{{{timestamp}}},"latencyMs":{{{latency}}},"status":{{{status}}},"host":{"name":"node-1"}}""");
    }
}

/// <summary>The daemon as a child process: its own temporary policy, state and token files, Kafka on one topic.</summary>
internal sealed class Daemon : IDisposable
{
    private readonly StringBuilder _output = new();
    private readonly string _root;

    private Daemon(Process process, int httpPort, string root) => (Process, HttpPort, _root) = (process, httpPort, root);

    public Process Process { get; }

    public int HttpPort { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public static Daemon Start(string dll, string bootstrap, string topic, string encoding, int deployments, IReadOnlyDictionary<string, string> consumer)
    {
        var root = Directory.CreateTempSubdirectory("gatestream-harness-").FullName;
        var policies = Directory.CreateDirectory(Path.Combine(root, "policies")).FullName;
        File.WriteAllText(Path.Combine(policies, "policy.yaml"), """
            apiVersion: gatestream.io/v1
            kind: GatePolicy
            metadata:
              name: bench
            spec:
              target: svc-*
              progression: { stepWeight: 10, maxWeight: 90, stepInterval: 10s }
              rules:
                - name: errors
                  signal: error-rate
                  max: 0.05
                  action: rollback
                  minSamples: 100
            """);
        File.WriteAllText(Path.Combine(root, "tokens"), "# actor token\nbench bench-token-0123456789\n");
        var httpPort = FreePort();
        var settings = new Dictionary<string, string>
        {
            ["GateStream:Grpc:Url"] = $"http://127.0.0.1:{FreePort()}",
            ["GateStream:Http:Url"] = $"http://127.0.0.1:{httpPort}",
            ["GateStream:Framed:Endpoint"] = "",
            ["GateStream:Policies:Directory"] = policies,
            ["GateStream:State:Directory"] = Path.Combine(root, "state"),
            ["GateStream:Control:TokensFile"] = Path.Combine(root, "tokens"),
            ["GateStream:Demo:Enabled"] = "false",
            // Events are stamped when produced, before the anchor's run: a 5-minute window keeps them inside it, so
            // every event is recorded, as live traffic would be (rather than dropped as late, which costs less).
            ["GateStream:Engine:WindowLength"] = "00:05:00",
            ["GateStream:Engine:AllowedLateness"] = "00:05:00",
            ["GateStream:Kafka:BootstrapServers"] = bootstrap,
            ["GateStream:Kafka:GroupId"] = "harness-" + encoding,
            ["GateStream:Kafka:Topics:0:Name"] = topic,
            ["GateStream:Kafka:Topics:0:Encoding"] = encoding,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in consumer)
        {
            settings["GateStream:Kafka:Consumer:" + key] = value;
        }

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(dll);
        foreach (var (key, value) in settings)
        {
            start.ArgumentList.Add($"--{key}={value}");
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start dotnet " + dll);
        var daemon = new Daemon(process, httpPort, root);
        process.OutputDataReceived += (_, e) => daemon.Append(e.Data);
        process.ErrorDataReceived += (_, e) => daemon.Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return daemon;
    }

    public void Stop()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
            Process.WaitForExit(10_000);
        }
    }

    public void Dispose()
    {
        Stop();
        Process.Dispose();
        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
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

/// <summary>Reads gatestream_ingest_total from the daemon's /metrics.</summary>
internal sealed class MetricsReader(int port)
{
    // Events the shards applied, whatever became of each: recorded, or dropped as late (pre-produced events age while the
    // anchor runs first), or refused for their time or latency.
    private static readonly string[] Applied = [.. new[] { "events_accepted", "events_dropped_late", "events_refused_future", "events_refused_invalid" }
        .Select(o => "gatestream_ingest_total{outcome=\"" + o + "\"}")];
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private readonly Uri _uri = new($"http://127.0.0.1:{port}/metrics");

    public async Task<double> AcceptedAsync() => (await ReadAsync()).Where(s => Applied.Contains(s.Series)).Sum(s => s.Value);

    /// <summary>Every non-zero gatestream_ingest_total outcome, for the record.</summary>
    public async Task<string> OtherOutcomesAsync()
    {
        var other = (await ReadAsync())
            .Where(s => s.Series.StartsWith("gatestream_ingest_total{", StringComparison.Ordinal) && s.Value != 0)
            .Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Series}={s.Value:N0}"));
        return string.Join(", ", other) is { Length: > 0 } text ? text : "none";
    }

    public async Task<string> KafkaAsync() =>
        string.Join(", ", (await ReadAsync()).Where(s => s.Series.StartsWith("gatestream_kafka", StringComparison.Ordinal) || s.Series.StartsWith("gatestream_events_received", StringComparison.Ordinal))
            .Select(s => string.Create(CultureInfo.InvariantCulture, $"{s.Series}={s.Value:N0}")));

    private async Task<List<(string Series, double Value)>> ReadAsync()
    {
        string text;
        try
        {
            text = await Http.GetStringAsync(_uri);
        }
        catch (HttpRequestException)
        {
            return []; // not listening yet
        }

        var samples = new List<(string, double)>();
        foreach (var line in text.Split('\n'))
        {
            var space = line.LastIndexOf(' ');
            if (line.StartsWith("gatestream_", StringComparison.Ordinal) && space > 0
                && double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
            {
                samples.Add((line[..space], value));
            }
        }

        return samples;
    }
}

/// <summary>
/// The anchor: a plain Confluent.Kafka consume loop (values ignored, offsets committed every 5 s like the daemon's) with
/// the daemon's consumer settings, in its own process so its CPU is measured the same way as the daemon's.
/// </summary>
internal static class Anchor
{
    public sealed record Measured(long Messages, double Seconds, double CpuSeconds, string Threads)
    {
        public double MicrosPerMessage => CpuSeconds / Messages * 1e6;
    }

    public static Measured Start(string bootstrap, string topic, long messages, double warmUp, IReadOnlyDictionary<string, string> consumer)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
        start.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        start.ArgumentList.Add("--anchor");
        start.ArgumentList.Add(bootstrap);
        start.ArgumentList.Add(topic);
        start.ArgumentList.Add(messages.ToString(CultureInfo.InvariantCulture));
        start.ArgumentList.Add(warmUp.ToString(CultureInfo.InvariantCulture));
        foreach (var (key, value) in consumer)
        {
            start.ArgumentList.Add(key + "=" + value);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the anchor");
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        var line = output.Split('\n').FirstOrDefault(l => l.StartsWith("RESULT ", StringComparison.Ordinal))
            ?? throw new InvalidOperationException("the anchor failed:\n" + output);
        var parts = line.Split(' ');
        var threads = output.Split('\n').FirstOrDefault(l => l.StartsWith("THREADS ", StringComparison.Ordinal))?["THREADS ".Length..] ?? "";
        return new Measured(long.Parse(parts[1], CultureInfo.InvariantCulture), double.Parse(parts[2], CultureInfo.InvariantCulture),
            double.Parse(parts[3], CultureInfo.InvariantCulture), threads);
    }

    /// <summary>In the child process: consumes until <paramref name="expected"/> messages (or 15 s without one); prints RESULT.</summary>
    public static int Run(string bootstrap, string topic, long expected, double warmUp, IReadOnlyDictionary<string, string> settings)
    {
        var config = KafkaConsumerDefaults.Build(bootstrap, "anchor-" + topic, settings, oneTopic: true);
        using var consumer = new ConsumerBuilder<Ignore, Ignore>(config).Build();
        consumer.Subscribe(topic);
        var self = Process.GetCurrentProcess();
        // The loop runs on the main thread, "dotnet" in the by-thread figures.
        Dictionary<string, long>? threadsAtFirst = null;
        long consumed = 0;
        var warmUpMessages = Math.Max(1, (long)(expected * warmUp));
        TimeSpan cpuAtFirst = default, cpuAtLast = default;
        Stopwatch? clock = null;
        var last = TimeSpan.Zero;
        var commit = Stopwatch.StartNew();
        ConsumeResult<Ignore, Ignore>? latest = null;
        var idle = Stopwatch.StartNew();
        while (consumed < expected && idle.Elapsed < TimeSpan.FromSeconds(clock is null ? 60 : 15))
        {
            var result = consumer.Consume(100);
            if (result?.Message is null)
            {
                continue;
            }

            idle.Restart();
            consumed++;
            // Measured after the same warm-up as the daemon.
            if (clock is null && consumed >= warmUpMessages)
            {
                self.Refresh();
                cpuAtFirst = self.TotalProcessorTime;
                threadsAtFirst = ThreadCpu.Read(Environment.ProcessId);
                clock = Stopwatch.StartNew();
            }

            latest = result;
            if (commit.Elapsed >= TimeSpan.FromSeconds(5))
            {
                // Its results carry no topic name (one topic: KafkaConsumerDefaults.Build's oneTopic), so the offset names it.
                consumer.Commit([new TopicPartitionOffset(topic, latest.Partition, latest.Offset + 1)]);
                commit.Restart();
            }
        }

        if (clock is not null)
        {
            last = clock.Elapsed;
            self.Refresh();
            cpuAtLast = self.TotalProcessorTime;
            Console.WriteLine("THREADS " + ThreadCpu.Describe(threadsAtFirst!, ThreadCpu.Read(Environment.ProcessId)));
        }

        consumer.Close();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"RESULT {Math.Max(1, consumed - warmUpMessages)} {last.TotalSeconds:R} {(cpuAtLast - cpuAtFirst).TotalSeconds:R}"));
        return consumed >= expected ? 0 : 1;
    }
}

internal static class Load
{
    public static string Average() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
}

/// <summary>CPU time per thread name of a process, from /proc (Linux): where the daemon's CPU goes.</summary>
internal static class ThreadCpu
{
    public static Dictionary<string, long> Read(int pid)
    {
        var ticks = new Dictionary<string, long>(StringComparer.Ordinal);
        if (!Directory.Exists($"/proc/{pid}/task"))
        {
            return ticks;
        }

        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            try
            {
                var stat = File.ReadAllText(Path.Combine(task, "stat"));
                var open = stat.IndexOf('(', StringComparison.Ordinal);
                var close = stat.LastIndexOf(')');
                // Thread names without their number: ".NET TP Worker", "rdk:broker", "gatestream-kafka"...
                var name = stat[(open + 1)..close].TrimEnd('0', '1', '2', '3', '4', '5', '6', '7', '8', '9', ' ', '-');
                var fields = stat[(close + 2)..].Split(' ');
                ticks[name] = ticks.GetValueOrDefault(name) + long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            }
            catch (Exception e) when (e is IOException or FormatException or ArgumentOutOfRangeException)
            {
                // The thread ended meanwhile.
            }
        }

        return ticks;
    }

    /// <summary>"name 1.23 s, ..." for the threads that used CPU between the two readings, busiest first (ticks of 10 ms).</summary>
    public static string Describe(Dictionary<string, long> before, Dictionary<string, long> after) =>
        string.Join(", ", after.Select(t => (t.Key, Ticks: t.Value - before.GetValueOrDefault(t.Key)))
            .Where(t => t.Ticks > 0)
            .OrderByDescending(t => t.Ticks)
            .Select(t => string.Create(CultureInfo.InvariantCulture, $"{t.Key} {t.Ticks / 100.0:F2} s")));
}
