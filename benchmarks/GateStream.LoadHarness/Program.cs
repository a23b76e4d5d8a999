using System.Diagnostics;
using System.Globalization;
using GateStream.LoadHarness;

// End-to-end load harness. The daemon runs as a child process (`dotnet gatestreamd.dll`, Release build); the
// senders run here, in this process. See README.md.
//
//   dotnet run -c Release --project benchmarks/GateStream.LoadHarness [-- --seconds 10 --warmup 2 --daemon path/to/gatestreamd.dll]

var options = HarnessOptions.Parse(args);
var daemonDll = options.DaemonDll ?? DaemonProcess.FindOrBuildDaemon();
Console.WriteLine($"daemon: {daemonDll}");
Console.WriteLine($"machine: {Environment.ProcessorCount} logical cores; warm-up {options.WarmupSeconds}s, measure {options.MeasureSeconds}s per path");

// Free ports are picked by binding port 0 and releasing it; on a busy machine another process can take one
// before the daemon binds it, so retry with fresh ports.
DaemonProcess? started = null;
for (var attempt = 1; started is null; attempt++)
{
    try
    {
        started = await DaemonProcess.StartAsync(daemonDll);
    }
    catch (InvalidOperationException e) when (attempt < 3)
    {
        Console.WriteLine($"daemon start failed (attempt {attempt}), retrying: {e.Message.Split('\n')[0]}");
    }
}
await using var daemon = started;
Console.WriteLine($"daemon pid {daemon.Pid}: grpc {daemon.GrpcUrl}, http {daemon.HttpUrl}, framed {daemon.FramedEndpoint}");

var keys = Workload.Keys(deployments: 10, versions: 2);
var results = new List<PathResult>();
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
    results.Add(await Runner.RunAsync(load, daemon, options));
    var r = results[^1];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"   {r.EventsPerSecond:N0} events/s, daemon {r.DaemonCpuSeconds:F2} CPU-s over {r.Seconds:F1}s, accepted {r.Accepted:N0} / sent {r.Sent:N0}"));
}

Console.WriteLine();
Console.WriteLine(Runner.Table(results));
Console.WriteLine("Goals (per daemon core = events per daemon CPU-second): OTLP >= 1,000,000 spans/s, framed TCP >= 10,000,000 events/s.");
foreach (var r in results)
{
    var goal = r.Name switch { "OTLP gRPC" => 1_000_000d, "framed TCP" => 10_000_000d, _ => 0d };
    if (goal > 0)
    {
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {r.Name}: {r.EventsPerCpuSecond:N0} per core vs goal {goal:N0} -> {(r.EventsPerCpuSecond >= goal ? "MET" : "NOT MET")} ({r.EventsPerCpuSecond / goal:P0})"));
    }
}

return results.All(r => r.Accepted >= r.Sent) ? 0 : 1;

internal sealed record HarnessOptions(string? DaemonDll, double WarmupSeconds, double MeasureSeconds, string[] Paths)
{
    public static HarnessOptions Parse(string[] args)
    {
        string? dll = null;
        double warmup = 2, measure = 10;
        string[] paths = ["otlp", "framed", "push"];
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--daemon": dll = Path.GetFullPath(args[++i]); break;
                case "--warmup": warmup = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--seconds": measure = double.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--paths": paths = args[++i].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
                default: throw new ArgumentException($"unknown argument '{args[i]}' (--daemon, --warmup, --seconds, --paths otlp,framed,push)");
            }
        }
        return new HarnessOptions(dll, warmup, measure, paths);
    }
}

internal sealed record PathResult(string Name, long Sent, long Accepted, double Seconds, long MeasuredEvents, double DaemonCpuSeconds)
{
    public double EventsPerSecond => MeasuredEvents / Seconds;
    public double CpuSecondsPerMillion => MeasuredEvents == 0 ? double.NaN : DaemonCpuSeconds / (MeasuredEvents / 1e6);
    public double EventsPerCpuSecond => DaemonCpuSeconds <= 0 ? double.NaN : MeasuredEvents / DaemonCpuSeconds;
}

internal static class Runner
{
    public static async Task<PathResult> RunAsync(ILoadPath load, DaemonProcess daemon, HarnessOptions options)
    {
        var acceptedBefore = await daemon.ScrapeAcceptedAsync();
        var outcomesBefore = await daemon.ScrapeOutcomesAsync();
        await load.PrepareAsync();
        using var stop = new CancellationTokenSource();
        var senders = load.StartAsync(stop.Token);

        await Task.Delay(TimeSpan.FromSeconds(options.WarmupSeconds));
        var events0 = load.Completed;
        var cpu0 = daemon.CpuTime();
        var clock = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(options.MeasureSeconds));
        var events1 = load.Completed;
        var cpu1 = daemon.CpuTime();
        var seconds = clock.Elapsed.TotalSeconds;

        await stop.CancelAsync();
        await senders;
        await load.DisposeAsync();
        var sent = load.Completed;

        // The accepted counter is filled from the shards; wait until it has caught up (or stopped moving).
        long accepted = 0, previous = -1;
        for (var i = 0; i < 40; i++)
        {
            accepted = await daemon.ScrapeAcceptedAsync() - acceptedBefore;
            if (accepted >= sent || (accepted == previous && i >= 4))
            {
                break;
            }
            previous = accepted;
            await Task.Delay(250);
        }
        var outcomes = await daemon.ScrapeOutcomesAsync();
        Console.WriteLine("   ingest outcomes this path: " + string.Join(", ", outcomes
            .Select(o => (o.Key, Delta: o.Value - outcomesBefore.GetValueOrDefault(o.Key)))
            .Where(o => o.Delta != 0)
            .Select(o => string.Create(CultureInfo.InvariantCulture, $"{o.Key}={o.Delta:N0}"))));
        return new PathResult(load.Name, sent, accepted, seconds, events1 - events0, (cpu1 - cpu0).TotalSeconds);
    }

    public static string Table(IEnumerable<PathResult> results)
    {
        var c = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            "| path | events/s | daemon CPU-s per million events | events/s per daemon core (events per CPU-s) | accepted/sent |",
            "|---|---:|---:|---:|---|",
        };
        foreach (var r in results)
        {
            lines.Add(string.Create(c,
                $"| {r.Name} | {r.EventsPerSecond:N0} | {r.CpuSecondsPerMillion:F3} | {r.EventsPerCpuSecond:N0} | {r.Accepted:N0} / {r.Sent:N0} ({(r.Sent == 0 ? 0 : (double)r.Accepted / r.Sent):P1}) |"));
        }
        return string.Join(Environment.NewLine, lines);
    }
}
