using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using Grpc.Net.Client;
using Metrics = GateStream.LoadHarness.DaemonProcess.Metrics;

namespace GateStream.LoadHarness;

/// <summary>
/// Soak mode (<c>--soak</c>): the Release daemon under a steady event rate for a long time (default 1 h) while canaries
/// keep arriving, being decided (healthy ones promoted, bad ones rolled back) and retiring. Every sample interval it
/// records the daemon's RSS, GC heap, tick time, gates, series and decisions; at the end it fits a line to RSS after
/// the warm-up and fails when memory grows faster than the allowed slope. See README.md.
/// </summary>
internal static class Soak
{
    public static async Task<int> RunAsync(string[] args)
    {
        var options = SoakOptions.Parse(args);
        var daemonDll = options.DaemonDll ?? DaemonProcess.FindOrBuildDaemon();
        Console.WriteLine($"soak: {string.Join(' ', args)}");
        Console.WriteLine($"daemon: {daemonDll}");
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"machine: {Environment.ProcessorCount} logical cores; load average {Machine.LoadAverage()} at start; {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC"));
        Console.WriteLine(options.Describe());

        await using var daemon = await DaemonProcess.StartWithRetryAsync(daemonDll, SoakPolicy, [
            $"--GateStream:Engine:FinishedRetention={options.FinishedRetention:c}",
            $"--GateStream:Engine:SeriesIdleTimeout={options.SeriesIdleTimeout:c}",
        ]);
        Console.WriteLine($"daemon pid {daemon.Pid}: grpc {daemon.GrpcUrl}, http {daemon.HttpUrl}, framed {daemon.FramedEndpoint}");

        await using var traffic = await SoakTraffic.ConnectAsync(daemon, options);
        using var stop = new CancellationTokenSource();
        var clock = Stopwatch.StartNew();
        var sending = traffic.RunAsync(clock, options.Duration, stop.Token);

        var samples = new List<SoakSample>();
        await using var csv = new StreamWriter(options.Csv) { AutoFlush = true };
        await csv.WriteLineAsync(SoakSample.CsvHeader);
        Console.WriteLine(SoakSample.TableHeader);
        var previous = new Snapshot(await daemon.ScrapeAsync(), daemon.CpuTime(), clock.Elapsed);
        var failure = (string?)null;
        for (var n = 1; clock.Elapsed < options.Duration; n++)
        {
            var due = options.Sample * n;
            var wait = (due < options.Duration ? due : options.Duration) - clock.Elapsed;
            var finished = await Task.WhenAny(sending, Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero));
            if (finished == sending && sending.IsFaulted)
            {
                failure = $"the senders failed: {sending.Exception!.GetBaseException().Message}";
                break;
            }
            if (daemon.HasExited)
            {
                failure = "the daemon exited";
                break;
            }
            var current = new Snapshot(await daemon.ScrapeAsync(), daemon.CpuTime(), clock.Elapsed);
            var sample = SoakSample.From(previous, current, daemon.StatusBytes("VmRSS"), Machine.LoadAverage());
            samples.Add(sample);
            previous = current;
            Console.WriteLine(sample.TableRow());
            await csv.WriteLineAsync(sample.CsvRow());
        }

        await stop.CancelAsync();
        try
        {
            await sending;
        }
        catch (Exception e) when (failure is null)
        {
            failure = $"the senders failed: {e.GetBaseException().Message}";
        }

        var end = await daemon.ScrapeAsync();
        Console.WriteLine();
        Console.WriteLine(traffic.Summary());
        Console.WriteLine("ingest outcomes: " + string.Join(", ", end.Matching("gatestream_ingest_total{")
            .Where(o => o.Value != 0)
            .Select(o => string.Create(CultureInfo.InvariantCulture, $"{o.Key["gatestream_ingest_total".Length..]}={o.Value:N0}"))));
        var verdict = SoakVerdict.Judge(samples, options, end, traffic);
        Console.WriteLine(verdict.Report);
        Console.WriteLine($"load average at the end: {Machine.LoadAverage()}; CSV: {Path.GetFullPath(options.Csv)}");
        if (failure is not null)
        {
            Console.WriteLine($"FAILED: {failure}");
            return 1;
        }
        return verdict.Passed ? 0 : 1;
    }

    /// <summary>The README's layered rules; healthy canaries step 25 -> 50 -> 100 every 20 s of passing rules.</summary>
    public const string SoakPolicy = """
        apiVersion: gatestream.io/v1
        kind: GatePolicy
        metadata: { name: soak }
        spec:
          target: "soak-*"
          progression: { stepWeight: 25, maxWeight: 50, stepInterval: 20s }
          rules:
            - { name: error-rate-rise, signal: error-rate, baseline: { increase: 0.0025 }, action: hold, minSamples: 500, for: 30s }
            - { name: error-rate-slo, signal: error-rate, max: 0.01, action: rollback, minSamples: 500, for: 10s }
            - { name: latency-p99, signal: latency-p99, baseline: { ratio: { max: 1.5 } }, action: pause, minSamples: 500, for: 30s }
        """;
}

internal sealed record SoakOptions(
    string? DaemonDll,
    TimeSpan Duration,
    TimeSpan Sample,
    TimeSpan Warmup,
    int Deployments,
    int StableRate,
    int CanaryRate,
    TimeSpan Cycle,
    TimeSpan CanaryPhase,
    int BadEvery,
    int OtlpEvery,
    double MaxRssSlopeMiBPerMinute,
    string Csv,
    TimeSpan FinishedRetention,
    TimeSpan SeriesIdleTimeout)
{
    public static SoakOptions Parse(string[] args)
    {
        var o = new SoakOptions(null, TimeSpan.FromMinutes(60), TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(20), 200, 400, 100,
            TimeSpan.FromMinutes(5), TimeSpan.FromSeconds(150), 4, 5, 1.0, "soak.csv", TimeSpan.FromMinutes(2), TimeSpan.FromMinutes(1));
        var c = CultureInfo.InvariantCulture;
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            i++;
            o = args[i - 1] switch
            {
                "--daemon" => o with { DaemonDll = Path.GetFullPath(value) },
                "--minutes" => o with { Duration = TimeSpan.FromMinutes(double.Parse(value, c)) },
                "--sample-seconds" => o with { Sample = TimeSpan.FromSeconds(double.Parse(value, c)) },
                "--warmup-minutes" => o with { Warmup = TimeSpan.FromMinutes(double.Parse(value, c)) },
                "--deployments" => o with { Deployments = int.Parse(value, c) },
                "--stable-rate" => o with { StableRate = int.Parse(value, c) },
                "--canary-rate" => o with { CanaryRate = int.Parse(value, c) },
                "--cycle-seconds" => o with { Cycle = TimeSpan.FromSeconds(double.Parse(value, c)) },
                "--canary-seconds" => o with { CanaryPhase = TimeSpan.FromSeconds(double.Parse(value, c)) },
                "--bad-every" => o with { BadEvery = int.Parse(value, c) },
                "--otlp-every" => o with { OtlpEvery = int.Parse(value, c) },
                "--max-rss-slope" => o with { MaxRssSlopeMiBPerMinute = double.Parse(value, c) },
                "--csv" => o with { Csv = value },
                "--finished-retention-seconds" => o with { FinishedRetention = TimeSpan.FromSeconds(double.Parse(value, c)) },
                "--idle-seconds" => o with { SeriesIdleTimeout = TimeSpan.FromSeconds(double.Parse(value, c)) },
                _ => throw new ArgumentException($"unknown soak argument '{args[i - 1]}' (--minutes, --sample-seconds, --warmup-minutes, --deployments, --stable-rate, --canary-rate, --cycle-seconds, --canary-seconds, --bad-every, --otlp-every, --max-rss-slope, --csv, --finished-retention-seconds, --idle-seconds, --daemon)"),
            };
        }
        if (o.CanaryPhase >= o.Cycle || o.Warmup >= o.Duration || o.Deployments < 1 || o.BadEvery < 1 || o.OtlpEvery < 1)
        {
            throw new ArgumentException("need canary-seconds < cycle-seconds, warm-up < duration, deployments, bad-every and otlp-every >= 1");
        }
        return o;
    }

    public string Describe()
    {
        var otlp = (Deployments + OtlpEvery - 1) / OtlpEvery;
        var canariesLive = Deployments * (CanaryPhase / Cycle);
        var rate = Deployments * StableRate + canariesLive * CanaryRate;
        return string.Create(CultureInfo.InvariantCulture,
            $"""
            workload: {Deployments} deployments (every {OtlpEvery}th over OTLP gRPC, {otlp} of them; the rest over 2 framed TCP connections), one round a second;
              stable version {StableRate} events/s each; every deployment starts a new canary version every {Cycle.TotalSeconds:0} s (staggered), {CanaryRate} events/s for {CanaryPhase.TotalSeconds:0} s;
              every {BadEvery}th canary is bad (5% 503s: rolled back by error-rate-slo), the others as healthy as the stable (promoted 25 -> 50 -> 100 at 20 s steps);
              after its phase a healthy canary becomes the stable version (the old one stops), a bad one stops.
              target about {rate:N0} events/s ({Deployments * 60 / Cycle.TotalSeconds:0.#} new canaries a minute, about {canariesLive:0} canaries live).
            daemon: FinishedRetention {FinishedRetention.TotalSeconds:0} s, SeriesIdleTimeout {SeriesIdleTimeout.TotalSeconds:0} s (so gates and series retire within the run); other settings default.
            duration {Duration.TotalMinutes:0.#} min, a sample every {Sample.TotalSeconds:0} s; memory is flat when the least-squares slope of RSS over the samples after {Warmup.TotalMinutes:0.#} min is <= {MaxRssSlopeMiBPerMinute:0.##} MiB/min.
            """);
    }
}

/// <summary>The senders: one round a second, each active series' payload sent once, and the canary lifecycle.</summary>
internal sealed class SoakTraffic : IAsyncDisposable
{
    private const int FramedConnections = 2;
    private const int BadErrorsPer1000 = 50;
    private const int GoodErrorsPer1000 = 3;

    private readonly SoakOptions _options;
    private readonly SoakDeployment[] _deployments;
    private readonly (Socket Socket, FramedPath.ReplyReader Replies)[] _framed;
    private readonly GrpcChannel _channel;
    private readonly Random _random = new(45);
    private long _sent;
    private int _canaries, _badCanaries, _badCompleted, _goodCompleted, _rounds, _lateRounds;

    private SoakTraffic(SoakOptions options, (Socket, FramedPath.ReplyReader)[] framed, GrpcChannel channel)
    {
        _options = options;
        _framed = framed;
        _channel = channel;
        _deployments = [.. Enumerable.Range(0, options.Deployments).Select(d => new SoakDeployment(
            string.Create(CultureInfo.InvariantCulture, $"soak-{d:D3}"),
            otlp: d % options.OtlpEvery == options.OtlpEvery - 1,
            firstCanaryAt: TimeSpan.FromSeconds(30) + options.Cycle * d / options.Deployments))];
        foreach (var d in _deployments)
        {
            d.Stable = Payload(d, d.NextVersion(), options.StableRate, GoodErrorsPer1000);
        }
    }

    public int BadCompleted => _badCompleted;

    public static async Task<SoakTraffic> ConnectAsync(DaemonProcess daemon, SoakOptions options)
    {
        var framed = new (Socket, FramedPath.ReplyReader)[FramedConnections];
        for (var c = 0; c < framed.Length; c++)
        {
            var socket = await FramedPath.ConnectAsync(daemon.FramedEndpoint);
            framed[c] = (socket, new FramedPath.ReplyReader(socket));
        }
        return new SoakTraffic(options, framed, RawGrpc.Channel(daemon.GrpcUrl));
    }

    /// <summary>One round a second until <paramref name="duration"/>; a round that overruns its second makes the next one late (counted), never doubled.</summary>
    public async Task RunAsync(Stopwatch clock, TimeSpan duration, CancellationToken stop)
    {
        var invoker = _channel.CreateCallInvoker();
        var framed = _framed.Select(_ => new List<TimedPayload>()).ToArray();
        var otlp = new List<TimedPayload>();
        var next = TimeSpan.Zero;
        while (!stop.IsCancellationRequested && clock.Elapsed < duration)
        {
            var now = clock.Elapsed;
            foreach (var list in framed)
            {
                list.Clear();
            }
            otlp.Clear();
            var events = 0L;
            for (var i = 0; i < _deployments.Length; i++)
            {
                var d = _deployments[i];
                Advance(d, now);
                var target = d.Otlp ? otlp : framed[i % framed.Length];
                target.Add(d.Stable!);
                events += _options.StableRate;
                if (d.Canary is { } canary)
                {
                    target.Add(canary);
                    events += _options.CanaryRate;
                }
            }

            var sends = new List<Task>(framed.Length + otlp.Count);
            for (var c = 0; c < framed.Length; c++)
            {
                sends.Add(FramedPath.SendRoundAsync(_framed[c].Socket, _framed[c].Replies, framed[c], window: 8));
            }
            foreach (var payload in otlp)
            {
                payload.Restamp();
                sends.Add(invoker.AsyncUnaryCall(RawGrpc.OtlpExport, null, default, payload.Bytes).ResponseAsync);
            }
            await Task.WhenAll(sends);
            Interlocked.Add(ref _sent, events);
            _rounds++;

            next += TimeSpan.FromSeconds(1);
            var wait = next - clock.Elapsed;
            if (wait <= TimeSpan.Zero)
            {
                _lateRounds++;
                next = clock.Elapsed;
                continue;
            }
            try
            {
                await Task.Delay(wait, stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    // The lifecycle of one deployment: a canary starts every cycle and runs for the canary phase; then a healthy canary
    // takes over as the stable version (the old one stops) and a bad one stops.
    private void Advance(SoakDeployment d, TimeSpan now)
    {
        if (d.Canary is not null && now >= d.CanaryEndsAt)
        {
            if (d.CanaryBad)
            {
                _badCompleted++;
            }
            else
            {
                _goodCompleted++;
                d.Stable = Payload(d, d.CanaryVersion!, _options.StableRate, GoodErrorsPer1000);
            }
            d.Canary = null;
        }
        if (d.Canary is null && now >= d.NextCanaryAt)
        {
            var bad = _canaries++ % _options.BadEvery == _options.BadEvery - 1;
            _badCanaries += bad ? 1 : 0;
            d.CanaryBad = bad;
            d.CanaryVersion = d.NextVersion();
            d.Canary = Payload(d, d.CanaryVersion, _options.CanaryRate, bad ? BadErrorsPer1000 : GoodErrorsPer1000);
            d.CanaryEndsAt = now + _options.CanaryPhase;
            d.NextCanaryAt += _options.Cycle;
        }
    }

    private TimedPayload Payload(SoakDeployment d, string version, int events, int errorsPer1000) => d.Otlp
        ? Workload.OtlpPayload((d.Name, version), events, _random, errorsPer1000)
        : FramedPath.Frame((d.Name, version), events, _random, sequence: 0, errorsPer1000);

    public string Summary() => string.Create(CultureInfo.InvariantCulture,
        $"harness: {Interlocked.Read(ref _sent):N0} events sent in {_rounds:N0} rounds ({_lateRounds:N0} rounds overran their second); " +
        $"{_canaries:N0} canaries started ({_badCanaries:N0} bad); phases completed: {_goodCompleted:N0} healthy (took over as stable), {_badCompleted:N0} bad (stopped)");

    public async ValueTask DisposeAsync()
    {
        foreach (var (socket, _) in _framed)
        {
            socket.Dispose();
        }
        _channel.Dispose();
        await Task.CompletedTask;
    }
}

internal sealed class SoakDeployment(string name, bool otlp, TimeSpan firstCanaryAt)
{
    private int _version = 1;

    public string Name { get; } = name;

    public bool Otlp { get; } = otlp;

    public TimedPayload? Stable { get; set; }

    public TimedPayload? Canary { get; set; }

    public string? CanaryVersion { get; set; }

    public bool CanaryBad { get; set; }

    public TimeSpan CanaryEndsAt { get; set; }

    public TimeSpan NextCanaryAt { get; set; } = firstCanaryAt;

    /// <summary>A fresh version name, fixed width ("v00001").</summary>
    public string NextVersion() => string.Create(CultureInfo.InvariantCulture, $"v{_version++:D5}");
}

/// <summary>A scrape with the daemon's CPU time and the harness clock at that moment.</summary>
internal sealed record Snapshot(Metrics Metrics, TimeSpan Cpu, TimeSpan At);

/// <summary>One sample interval.</summary>
internal sealed record SoakSample(
    double Minute,
    double EventsPerSecond,
    double RssMiB,
    double GcHeapMiB,
    double DaemonCpuPercent,
    long Ticks,
    double TickMeanMs,
    double TickP99Ms,
    double TickMaxMs,
    long OpenGates,
    long FinishedGates,
    long Series,
    long Promotes,
    long Holds,
    long Pauses,
    long Rollbacks,
    string LoadAverage)
{
    private const string Accepted = "gatestream_ingest_total{outcome=\"events_accepted\"}";
    private const string Tick = "gatestream_evaluation_tick_seconds";

    public const string TableHeader =
        "| min | events/s | RSS MiB | GC heap MiB | daemon CPU % | ticks | tick mean ms | tick p99 ms (<=) | tick max ms (<=) | open gates | finished gates | series | promote/hold/pause/rollback | load avg |\n" +
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|";

    public const string CsvHeader = "minute,events_per_second,rss_mib,gc_heap_mib,daemon_cpu_percent,ticks,tick_mean_ms,tick_p99_ms_le,tick_max_ms_le,open_gates,finished_gates,series,promotes,holds,pauses,rollbacks,load1,load5,load15";

    public static SoakSample From(Snapshot before, Snapshot after, long rssBytes, string loadAverage)
    {
        var seconds = (after.At - before.At).TotalSeconds;
        Metrics a = after.Metrics, b = before.Metrics;
        var ticks = (long)(a.Value(Tick + "_count") - b.Value(Tick + "_count"));
        return new SoakSample(
            after.At.TotalMinutes,
            (a.Value(Accepted) - b.Value(Accepted)) / seconds,
            rssBytes / 1048576.0,
            a.Value("gatestream_gc_heap_bytes") / 1048576.0,
            (after.Cpu - before.Cpu).TotalSeconds / seconds * 100,
            ticks,
            ticks == 0 ? double.NaN : (a.Value(Tick + "_sum") - b.Value(Tick + "_sum")) / ticks * 1000,
            TickQuantileBound(b, a, 0.99) * 1000,
            TickQuantileBound(b, a, 1.0) * 1000,
            (long)(a.Value("gatestream_gates{phase=\"progressing\"}") + a.Value("gatestream_gates{phase=\"holding\"}") + a.Value("gatestream_gates{phase=\"paused\"}")),
            (long)(a.Value("gatestream_gates{phase=\"succeeded\"}") + a.Value("gatestream_gates{phase=\"rolled_back\"}")),
            (long)a.Value("gatestream_series"),
            Decisions(b, a, "promote"),
            Decisions(b, a, "hold"),
            Decisions(b, a, "pause"),
            Decisions(b, a, "rollback"),
            loadAverage);
    }

    /// <summary>
    /// The upper bound of the histogram bucket holding quantile <paramref name="q"/> of the ticks between two scrapes
    /// (the histogram's buckets double from 0.1 ms, so this is within a factor of 2 above the true value); NaN without ticks.
    /// </summary>
    public static double TickQuantileBound(Metrics before, Metrics after, double q)
    {
        var buckets = after.Matching(Tick + "_bucket{le=\"")
            .Select(s => (Le: ParseLe(s.Key), Count: s.Value - before.Value(s.Key)))
            .OrderBy(s => s.Le)
            .ToList();
        var total = buckets.Count == 0 ? 0 : buckets[^1].Count;
        if (total <= 0)
        {
            return double.NaN;
        }
        foreach (var (le, count) in buckets)
        {
            if (count >= q * total)
            {
                return le;
            }
        }
        return double.PositiveInfinity;
    }

    private static double ParseLe(string key)
    {
        var value = key[(key.IndexOf("le=\"", StringComparison.Ordinal) + 4)..key.LastIndexOf('"')];
        return value == "+Inf" ? double.PositiveInfinity : double.Parse(value, CultureInfo.InvariantCulture);
    }

    private static long Decisions(Metrics before, Metrics after, string action)
    {
        var prefix = $"gatestream_decisions_total{{action=\"{action}\"";
        return (long)(after.Sum(prefix) - before.Sum(prefix));
    }

    public string TableRow() => string.Create(CultureInfo.InvariantCulture,
        $"| {Minute:0} | {EventsPerSecond:N0} | {RssMiB:0.0} | {GcHeapMiB:0.0} | {DaemonCpuPercent:0} | {Ticks} | {TickMeanMs:0.00} | {TickP99Ms:0.#} | {TickMaxMs:0.#} | {OpenGates} | {FinishedGates} | {Series} | {Promotes}/{Holds}/{Pauses}/{Rollbacks} | {LoadAverage} |");

    public string CsvRow() => string.Create(CultureInfo.InvariantCulture,
        $"{Minute:0.00},{EventsPerSecond:0},{RssMiB:0.0},{GcHeapMiB:0.0},{DaemonCpuPercent:0.0},{Ticks},{TickMeanMs:0.000},{TickP99Ms:0.###},{TickMaxMs:0.###},{OpenGates},{FinishedGates},{Series},{Promotes},{Holds},{Pauses},{Rollbacks},{LoadAverage.Replace(' ', ',')}");
}

/// <summary>The end-of-run checks.</summary>
internal sealed record SoakVerdict(bool Passed, string Report)
{
    public static SoakVerdict Judge(IReadOnlyList<SoakSample> samples, SoakOptions options, Metrics end, SoakTraffic traffic)
    {
        var c = CultureInfo.InvariantCulture;
        var lines = new List<string>();
        var passed = true;
        var steady = samples.Where(s => s.Minute > options.Warmup.TotalMinutes + 1e-9).ToList();
        if (steady.Count < 3)
        {
            lines.Add($"FAIL memory: only {steady.Count} samples after the {options.Warmup.TotalMinutes:0.#} min warm-up (need 3)");
            passed = false;
        }
        else
        {
            var rssSlope = Slope(steady.Select(s => (s.Minute, s.RssMiB)).ToList());
            var heapSlope = Slope(steady.Select(s => (s.Minute, s.GcHeapMiB)).ToList());
            var flat = rssSlope <= options.MaxRssSlopeMiBPerMinute;
            passed &= flat;
            lines.Add(string.Create(c,
                $"{(flat ? "PASS" : "FAIL")} memory flat after warm-up: RSS slope {rssSlope:+0.000;-0.000} MiB/min over minutes {steady[0].Minute:0}-{steady[^1].Minute:0} ({steady.Count} samples; limit {options.MaxRssSlopeMiBPerMinute:0.##}); " +
                $"RSS {steady.Min(s => s.RssMiB):0.0}-{steady.Max(s => s.RssMiB):0.0} MiB; GC heap {steady.Min(s => s.GcHeapMiB):0.0}-{steady.Max(s => s.GcHeapMiB):0.0} MiB (slope {heapSlope:+0.000;-0.000} MiB/min, reported only: it depends on when the last GC ran)"));
            lines.Add(string.Create(c,
                $"after warm-up: events/s {steady.Min(s => s.EventsPerSecond):N0}-{steady.Max(s => s.EventsPerSecond):N0}; tick mean {steady.Min(s => s.TickMeanMs):0.00}-{steady.Max(s => s.TickMeanMs):0.00} ms, p99 <= {steady.Max(s => s.TickP99Ms):0.#} ms, max <= {steady.Max(s => s.TickMaxMs):0.#} ms; " +
                $"open gates {steady.Min(s => s.OpenGates)}-{steady.Max(s => s.OpenGates)}, series {steady.Min(s => s.Series)}-{steady.Max(s => s.Series)}; daemon CPU {steady.Average(s => s.DaemonCpuPercent):0}% of one core on average"));
        }

        long Total(string action) => (long)end.Sum($"gatestream_decisions_total{{action=\"{action}\"");
        var rollbacks = Total("rollback");
        var promotes = Total("promote");
        var decided = rollbacks >= traffic.BadCompleted && promotes > 0;
        passed &= decided;
        lines.Add(string.Create(c,
            $"{(decided ? "PASS" : "FAIL")} gates decided: {rollbacks:N0} rollbacks for {traffic.BadCompleted:N0} bad canaries that ran their phase (need at least as many), {promotes:N0} promote decisions (need some); holds {Total("hold"):N0}, pauses {Total("pause"):N0}"));
        return new SoakVerdict(passed, string.Join(Environment.NewLine, lines));
    }

    /// <summary>Least-squares slope of y over x.</summary>
    public static double Slope(IReadOnlyList<(double X, double Y)> points)
    {
        var mx = points.Average(p => p.X);
        var my = points.Average(p => p.Y);
        var sxy = points.Sum(p => (p.X - mx) * (p.Y - my));
        var sxx = points.Sum(p => (p.X - mx) * (p.X - mx));
        return sxx == 0 ? double.NaN : sxy / sxx;
    }
}

internal static class Machine
{
    /// <summary>The 1, 5 and 15-minute load averages from /proc/loadavg.</summary>
    public static string LoadAverage()
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
}
