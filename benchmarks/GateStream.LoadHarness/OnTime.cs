using System.Diagnostics;
using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using V1 = GateStream.Contracts.V1;

namespace GateStream.LoadHarness;

/// <summary>
/// <c>--on-time</c>: are decisions on time while ingest runs flat out? Every ingest path at once at its maximum rate
/// (OTLP gRPC, framed TCP, gRPC Push, as the load harness sends them), 1,000 live gates under a policy that promotes
/// every 10 s, and a Watch subscriber in this process. Reports the distribution of the daemon's tick intervals (its
/// <c>gatestream_evaluation_tick_interval_seconds</c> histogram, 250 ms nominal; goal p99 &lt;= 300 ms) and the time
/// from the tick that made each decision (the decision's <c>time</c>) to the subscriber receiving it (goal p99 &lt;= 500 ms).
/// </summary>
internal static class OnTime
{
    public const string PolicyYaml = """
        apiVersion: gatestream.io/v1
        kind: GatePolicy
        metadata: { name: on-time }
        spec:
          target: "svc-*"
          progression: { stepWeight: 5, maxWeight: 95, stepInterval: 10s }
          rules:
            - { name: error-rate-rise, signal: error-rate, baseline: { increase: 0.0025 }, action: hold, minSamples: 500, for: 30s }
            - { name: error-rate-slo, signal: error-rate, max: 0.01, action: rollback, minSamples: 500, for: 10s }
            - { name: latency-p99, signal: latency-p99, baseline: { ratio: { max: 1.5 } }, action: pause, minSamples: 500, for: 30s }
        """;

    private static readonly double[] IntervalBounds = [0.2, 0.24, 0.25, 0.26, 0.275, 0.3, 0.35, 0.4, 0.5, 0.75, 1, 2, 5];

    public static async Task<int> RunAsync(string[] args)
    {
        string? dll = null;
        var deployments = 1_000;
        double warmup = 5, measure = 30;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--daemon": dll = Path.GetFullPath(args[++i]); break;
                case "--deployments": deployments = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--warmup": warmup = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--seconds": measure = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"unknown argument '{args[i]}' (--on-time [--daemon path] [--deployments 1000] [--warmup 5] [--seconds 30])");
            }
        }

        dll ??= DaemonProcess.FindOrBuildDaemon();
        var loadAtStart = Machine.LoadAverage();
        Console.WriteLine($"daemon: {dll}; {Environment.ProcessorCount} cores; load average {loadAtStart}; {deployments} deployments, warm-up {warmup}s, measure {measure}s");
        await using var daemon = await DaemonProcess.StartWithRetryAsync(dll, PolicyYaml);
        var keys = Workload.Keys(deployments);
        // Gates open on traffic: the baselines' series first, then the canaries'.
        await using (var opener = new FramedPath(daemon.FramedEndpoint, keys, eventsPerFrame: 1000, connections: 1, inFlightPerConnection: 8))
        {
            await opener.PrepareAsync();
            await opener.SendOnceAsync([.. Enumerable.Range(0, deployments)]);
            await daemon.WaitForAsync(m => m.Value("gatestream_series") >= deployments, $"{deployments} baseline series");
            await opener.SendOnceAsync([.. Enumerable.Range(deployments, deployments)]);
            await daemon.WaitForAsync(m => m.Sum("gatestream_gates{") >= deployments, $"{deployments} gates");
        }

        Console.WriteLine($"{deployments} gates open; starting every ingest path");
        ILoadPath[] paths =
        [
            new FramedPath(daemon.FramedEndpoint, keys, eventsPerFrame: 1000, connections: 2, inFlightPerConnection: 8),
            new OtlpPath(daemon.GrpcUrl, keys, spansPerRequest: 1000, concurrency: 8),
            new PushPath(daemon.GrpcUrl, keys, eventsPerMessage: 1000, streams: 4),
        ];
        foreach (var path in paths)
        {
            await path.PrepareAsync();
        }

        using var channel = GrpcChannel.ForAddress(daemon.GrpcUrl);
        using var stopWatch = new CancellationTokenSource();
        var latencies = new List<double>();
        var measuring = false;
        var watch = Task.Run(async () =>
        {
            using var call = new V1.DecisionService.DecisionServiceClient(channel).Watch(new V1.WatchRequest(), cancellationToken: stopWatch.Token);
            try
            {
                await foreach (var decision in call.ResponseStream.ReadAllAsync(stopWatch.Token))
                {
                    var received = DateTimeOffset.UtcNow;
                    if (Volatile.Read(ref measuring) && decision.Time is not null)
                    {
                        lock (latencies)
                        {
                            latencies.Add((received - decision.Time.ToDateTimeOffset()).TotalMilliseconds);
                        }
                    }
                }
            }
            catch (Exception e) when (e is OperationCanceledException || (e is RpcException r && r.StatusCode == StatusCode.Cancelled))
            {
            }
        });

        using var stopLoad = new CancellationTokenSource();
        var senders = paths.Select(p => p.StartAsync(stopLoad.Token)).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(warmup));
        var m0 = await daemon.ScrapeAsync();
        var cpu0 = daemon.CpuTime();
        Volatile.Write(ref measuring, true);
        var clock = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(measure));
        Volatile.Write(ref measuring, false);
        var m1 = await daemon.ScrapeAsync();
        var cpu1 = daemon.CpuTime();
        var seconds = clock.Elapsed.TotalSeconds;
        await stopLoad.CancelAsync();
        await Task.WhenAll(senders);
        await stopWatch.CancelAsync();
        await watch;
        foreach (var path in paths)
        {
            await path.DisposeAsync();
        }

        const string Accepted = "gatestream_ingest_total{outcome=\"events_accepted\"}";
        var events = m1.Value(Accepted) - m0.Value(Accepted);
        var intervals = IntervalBounds.Select(b => (Bound: b, Count: Bucket(m1, b) - Bucket(m0, b))).ToArray();
        var ticks = m1.Value("gatestream_evaluation_tick_interval_seconds_count") - m0.Value("gatestream_evaluation_tick_interval_seconds_count");
        var tickSum = m1.Value("gatestream_evaluation_tick_interval_seconds_sum") - m0.Value("gatestream_evaluation_tick_interval_seconds_sum");
        var evalCount = m1.Value("gatestream_evaluation_tick_seconds_count") - m0.Value("gatestream_evaluation_tick_seconds_count");
        var evalSum = m1.Value("gatestream_evaluation_tick_seconds_sum") - m0.Value("gatestream_evaluation_tick_seconds_sum");
        var fsyncs = m1.Value("gatestream_decision_log_fsyncs_total") - m0.Value("gatestream_decision_log_fsyncs_total");
        latencies.Sort();
        var loadAtEnd = Machine.LoadAverage();

        Console.WriteLine();
        Console.WriteLine("Tick intervals (daemon histogram, cumulative counts over the measured time):");
        Console.WriteLine(string.Join(", ", intervals.Select(i => string.Create(CultureInfo.InvariantCulture, $"<= {i.Bound * 1000:F0} ms: {i.Count:N0}"))) +
            string.Create(CultureInfo.InvariantCulture, $", all: {ticks:N0}"));
        Console.WriteLine();
        Console.WriteLine($"Run on {Environment.ProcessorCount} cores, load average {loadAtStart} at the start and {loadAtEnd} at the end; decision log fsync on (the default).");
        Console.WriteLine();
        Console.WriteLine("| ingest (all paths at once) | gates | ticks | tick interval mean | tick interval p50 / p99 (<= bucket) | evaluation time per tick, mean | decisions | fsyncs | decision → subscriber p50 / p99 / max |");
        Console.WriteLine("|---:|---:|---:|---:|---|---:|---:|---:|---|");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"| {events / seconds:N0} events/s ({(cpu1 - cpu0).TotalSeconds / seconds:F2} daemon cores) | {m1.Sum("gatestream_gates{"):N0} | {ticks:N0} | {tickSum / Math.Max(1, ticks) * 1000:F1} ms | {Quantile(intervals, ticks, 0.5)} / {Quantile(intervals, ticks, 0.99)} | {evalSum / Math.Max(1, evalCount) * 1000:F1} ms | {latencies.Count:N0} | {fsyncs:N0} | {Percentile(latencies, 0.5)} / {Percentile(latencies, 0.99)} / {(latencies.Count == 0 ? "-" : latencies[^1].ToString("F1", CultureInfo.InvariantCulture) + " ms")} |"));
        Console.WriteLine();
        var tickP99 = Bound(intervals, ticks, 0.99);
        var decisionP99 = latencies.Count == 0 ? double.NaN : latencies[(int)Math.Min(latencies.Count - 1, Math.Ceiling(latencies.Count * 0.99) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Goals: tick interval p99 <= 300 ms: {(tickP99 <= 0.3 ? "met" : "NOT met")}; decision -> subscriber p99 <= 500 ms: {(decisionP99 <= 500 ? "met" : latencies.Count == 0 ? "no decisions" : "NOT met")}."));
        return 0;
    }

    private static double Bucket(DaemonProcess.Metrics m, double bound) =>
        m.Value("gatestream_evaluation_tick_interval_seconds_bucket{le=\"" + bound.ToString(CultureInfo.InvariantCulture) + "\"}");

    /// <summary>The smallest bucket bound holding the quantile (+Inf when beyond the last).</summary>
    private static double Bound((double Bound, double Count)[] buckets, double total, double q)
    {
        foreach (var (bound, count) in buckets)
        {
            if (count >= q * total)
            {
                return bound;
            }
        }

        return double.PositiveInfinity;
    }

    private static string Quantile((double Bound, double Count)[] buckets, double total, double q) =>
        Bound(buckets, total, q) is var b && double.IsPositiveInfinity(b) ? "> 5 s" : string.Create(CultureInfo.InvariantCulture, $"<= {b * 1000:F0} ms");

    private static string Percentile(List<double> sorted, double q) => sorted.Count == 0
        ? "-"
        : string.Create(CultureInfo.InvariantCulture, $"{sorted[(int)Math.Min(sorted.Count - 1, Math.Ceiling(sorted.Count * q) - 1)]:F1} ms");
}
