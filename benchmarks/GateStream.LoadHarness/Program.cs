using System.Diagnostics;
using System.Globalization;
using GateStream.LoadHarness;
using Metrics = GateStream.LoadHarness.DaemonProcess.Metrics;

// End-to-end load harness. The daemon runs as a child process (`dotnet gatestreamd.dll`, Release build) with a
// policy gating every deployment; the senders run here, in this process. See README.md.
//
//   dotnet run -c Release --project benchmarks/GateStream.LoadHarness [-- --seconds 10 --warmup 2 --deployments 200 --daemon path/to/gatestreamd.dll]

if (args.Contains("--soak"))
{
    return await Soak.RunAsync([.. args.Where(a => a != "--soak")]);
}

if (args.Contains("--on-time"))
{
    return await OnTime.RunAsync([.. args.Where(a => a != "--on-time")]);
}

var options = HarnessOptions.Parse(args);
var daemonDll = options.DaemonDll ?? DaemonProcess.FindOrBuildDaemon();
Console.WriteLine($"daemon: {daemonDll}");
Console.WriteLine($"machine: {Environment.ProcessorCount} logical cores; load average {Machine.LoadAverage()} (uptime); warm-up {options.WarmupSeconds}s, measure {options.MeasureSeconds}s per path");

var started = await DaemonProcess.StartWithRetryAsync(daemonDll, Workload.PolicyYaml);
await using var daemon = started;
Console.WriteLine($"daemon pid {daemon.Pid}: grpc {daemon.GrpcUrl}, http {daemon.HttpUrl}, framed {daemon.FramedEndpoint}");

var keys = Workload.Keys(options.Deployments);
var results = new List<PathResult>();
var gatesOpen = false;
foreach (var path in options.Paths)
{
    ILoadPath load = path switch
    {
        "otlp" => new OtlpPath(daemon.GrpcUrl, keys, spansPerRequest: 1000, concurrency: 8),
        "framed" => new FramedPath(daemon.FramedEndpoint, keys, eventsPerFrame: 1000, connections: 2, inFlightPerConnection: 8),
        "push" => new PushPath(daemon.GrpcUrl, keys, eventsPerMessage: 1000, streams: 4),
        _ => throw new ArgumentException($"unknown path '{path}' (otlp, framed, push)"),
    };
    Console.WriteLine($"-- {load.Name}: {load.Description}");
    var before = await daemon.ScrapeAsync();
    await load.PrepareAsync();
    if (!gatesOpen)
    {
        await OpenGatesAsync(load, daemon, options.Deployments);
        gatesOpen = true;
    }
    results.Add(await Runner.RunAsync(load, daemon, options, before));
    var r = results[^1];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"   {r.EventsPerSecond:N0} events/s applied, daemon {r.DaemonCpuSeconds:F2} CPU-s over {r.Seconds:F1}s, {r.Ticks} ticks of {r.Gates} gates (mean {r.MeanTickMs:F2} ms), {r.Decisions} decisions; accepted {r.Accepted:N0} / sent {r.Sent:N0}"));
}

Console.WriteLine();
Console.WriteLine(Runner.Table(results));
Console.WriteLine($"load average after the run: {Machine.LoadAverage()}");
Console.WriteLine("Goals (per daemon core = events applied per daemon CPU-second): OTLP >= 1,000,000 spans/s, framed TCP >= 10,000,000 events/s.");
foreach (var r in results)
{
    var goal = r.Name switch { "OTLP gRPC" => 1_000_000d, "framed TCP" => 10_000_000d, _ => 0d };
    if (goal > 0)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {r.Name}: {r.EventsPerCpuSecond:N0} per core vs goal {goal:N0} -> {(r.EventsPerCpuSecond >= goal ? "MET" : "NOT MET")} ({r.EventsPerCpuSecond / goal:P0})"));
    }
}

return results.All(r => r.Accepted >= r.Sent && r.Gates >= options.Deployments) ? 0 : 1;

// Gates open on traffic: the baselines' series must exist before the canaries' first events arrive.
static async Task OpenGatesAsync(ILoadPath load, DaemonProcess daemon, int deployments)
{
    await load.SendOnceAsync([.. Enumerable.Range(0, deployments)]);
    await daemon.WaitForAsync(m => m.Value("gatestream_series") >= deployments, $"{deployments} baseline series");
    await load.SendOnceAsync([.. Enumerable.Range(deployments, deployments)]);
    await daemon.WaitForAsync(m => m.Sum("gatestream_gates{") >= deployments, $"{deployments} gates");
    var metrics = await daemon.ScrapeAsync();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"   {metrics.Value("gatestream_series"):N0} series, {metrics.Sum("gatestream_gates{"):N0} gates open (policy load-layered: 3 rules each)"));
}

internal sealed record HarnessOptions(string? DaemonDll, double WarmupSeconds, double MeasureSeconds, string[] Paths, int Deployments)
{
    public static HarnessOptions Parse(string[] args)
    {
        string? dll = null;
        double warmup = 2, measure = 10;
        var deployments = 200;
        string[] paths = ["otlp", "framed", "push"];
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--daemon": dll = Path.GetFullPath(args[++i]); break;
                case "--warmup": warmup = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--seconds": measure = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--deployments": deployments = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--paths": paths = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
                default: throw new ArgumentException($"unknown argument '{args[i]}' (--daemon, --warmup, --seconds, --deployments, --paths otlp,framed,push)");
            }
        }
        return new HarnessOptions(dll, warmup, measure, paths, deployments);
    }
}

internal sealed record PathResult(
    string Name, long Sent, long Accepted, double Seconds, long AppliedEvents, double DaemonCpuSeconds, long Gates, long Ticks, double MeanTickMs, long Decisions)
{
    public double EventsPerSecond => AppliedEvents / Seconds;
    public double CpuSecondsPerMillion => AppliedEvents == 0 ? double.NaN : DaemonCpuSeconds / (AppliedEvents / 1e6);
    public double EventsPerCpuSecond => DaemonCpuSeconds <= 0 ? double.NaN : AppliedEvents / DaemonCpuSeconds;
}

internal static class Runner
{
    private const string Accepted = "gatestream_ingest_total{outcome=\"events_accepted\"}";
    private const string TickCount = "gatestream_evaluation_tick_seconds_count";
    private const string TickSum = "gatestream_evaluation_tick_seconds_sum";

    public static async Task<PathResult> RunAsync(ILoadPath load, DaemonProcess daemon, HarnessOptions options, Metrics before)
    {
        using var stop = new CancellationTokenSource();
        var senders = load.StartAsync(stop.Token);

        await Task.Delay(TimeSpan.FromSeconds(options.WarmupSeconds));
        var m0 = await daemon.ScrapeAsync();
        var cpu0 = daemon.CpuTime();
        var clock = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(options.MeasureSeconds));
        var m1 = await daemon.ScrapeAsync();
        var cpu1 = daemon.CpuTime();
        var seconds = clock.Elapsed.TotalSeconds;

        await stop.CancelAsync();
        await senders;
        await load.DisposeAsync();
        var sent = load.Sent;

        // The shards publish their counters on their own loop; wait until the accepted count has caught up (or stopped moving).
        long accepted = 0, previous = -1;
        for (var i = 0; i < 40; i++)
        {
            accepted = (long)((await daemon.ScrapeAsync()).Value(Accepted) - before.Value(Accepted));
            if (accepted >= sent || (accepted == previous && i >= 4))
            {
                break;
            }
            previous = accepted;
            await Task.Delay(250);
        }
        var after = await daemon.ScrapeAsync();
        Console.WriteLine("   ingest outcomes this path: " + string.Join(", ", after.Matching("gatestream_ingest_total{")
            .Select(o => (o.Key, Delta: o.Value - before.Value(o.Key)))
            .Where(o => o.Delta != 0)
            .Select(o => string.Create(CultureInfo.InvariantCulture, $"{o.Key["gatestream_ingest_total".Length..]}={o.Delta:N0}"))));
        var ticks = (long)(m1.Value(TickCount) - m0.Value(TickCount));
        var meanTickMs = ticks == 0 ? double.NaN : (m1.Value(TickSum) - m0.Value(TickSum)) / ticks * 1000;
        return new PathResult(
            load.Name,
            sent,
            accepted,
            seconds,
            (long)(m1.Value(Accepted) - m0.Value(Accepted)),
            (cpu1 - cpu0).TotalSeconds,
            (long)m1.Sum("gatestream_gates{"),
            ticks,
            meanTickMs,
            (long)(m1.Sum("gatestream_decisions_total{") - m0.Sum("gatestream_decisions_total{")));
    }

    public static string Table(IEnumerable<PathResult> results)
    {
        var c = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            "| path | events/s applied | daemon CPU-s per million events | events applied per daemon CPU-second | gates evaluated (ticks, mean tick) | accepted/sent |",
            "|---|---:|---:|---:|---|---|",
        };
        foreach (var r in results)
        {
            lines.Add(string.Create(c,
                $"| {r.Name} | {r.EventsPerSecond:N0} | {r.CpuSecondsPerMillion:F3} | {r.EventsPerCpuSecond:N0} | {r.Gates:N0} ({r.Ticks} ticks, {r.MeanTickMs:F2} ms) | {r.Accepted:N0} / {r.Sent:N0} ({(r.Sent == 0 ? 0 : (double)r.Accepted / r.Sent):P1}) |"));
        }
        return string.Join(Environment.NewLine, lines);
    }
}
