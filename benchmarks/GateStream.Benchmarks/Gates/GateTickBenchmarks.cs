// One evaluation tick of a shard's gate book: GateBook.Tick(now) over 10,000 live gates in steady state
// (every rule passing, no decision due), as the shard loop runs it every 250 ms.
//
// Budget (issue): <= 25 ms per tick for 10,000 live gates, 0 B allocated per tick in steady state.
//
// Setup: one Shard (default IngestOptions, default window: 60 s as 12 buckets of 5 s, bucket boundaries
// staggered per series by the engine) and a GateBook with an InMemoryDecisionSink and a PolicyCatalog
// holding one policy that targets "*", so every deployment is gated; auto-start on. 10,000 deployments
// ("svc-00000".."svc-09999"), each with a baseline version ("1.41.0") and a canary ("1.42.0-rc.1"):
// 20,000 series, about 2.4 GB of windows, far beyond the CPU caches. (The stagger comes from SeriesKey's
// stable hash, so which series slide in which tick is the same in every run.)
// Traffic: 20 req/s per version (events 50 ms apart, offset per series), latencies lognormal (median
// 20 ms, sigma 0.5, fixed seed) from one cycle of 1,200 values (one window's worth) and 0.5% errors
// (every 200th request), each series starting at its own point of both cycles: canary and baseline are
// equally healthy, so no rule drifts into Pending by noise.
// Engine time runs in 250 ms ticks; before each tick the shard applies the 250 ms of traffic that ended
// 1 s before it (exporters batch, so a tick sees events up to about a second old). Baselines alone run
// 90 s (they become the stable versions), then the canaries' first batches create their series, which
// auto-starts 10,000 gates, and both run 90 s more: windows are full (about 1,100 requests in each) and
// every rule is Passing. The progression's step interval is 1 h, so no gate steps while measuring.
// Each iteration is one tick (InvocationCount 1): [IterationSetup], not timed, applies the next 250 ms
// of traffic; the timed op is GateBook.Tick(now), now 250 ms after the previous tick. So the figure
// includes what a real tick does besides reading rules: advancing both series of every gate, which
// slides the windows of the ~1/20 of series whose (staggered) bucket boundary passed since the last
// tick (re-summing their histograms), and, once per 10 s of ticks, the idle-eviction pass over 20,000
// series (nothing evicted: gates pin their series).
// Steady state is enforced, not assumed: setup throws unless there are 10,000 gates, all Progressing,
// every rule Passing and no decision published; every iteration's cleanup and the global cleanup throw
// if the sink received a decision (or a rule left Passing) while measuring.
//   Rules = Layered: the scenario tests' layered policy: error rate vs baseline (+0.25 points, hold),
//     error-rate SLO (<= 1%, rollback), p99 latency vs baseline (<= 1.5x, pause); minSamples 500.
//   Rules = SingleErrorRate: the same policy with only the error-rate SLO rule. Layered minus this is
//     the cost of the two extra rules (one of them reads two p99 latencies).
// "Mean/gate" is Mean divided by 10,000 gates. 100 one-tick iterations per case after 5 warm-up ticks.
// Anchor ([Baseline], LongHistogramRules): the same rules hand-written over HdrHistogram, per deployment a
// LongHistogram and two counters for each version holding one window's worth of the same traffic; each "tick" reads
// every gate's rules from them (min samples, error-rate SLO; for Layered also the error rate vs the baseline's and
// both p99s via GetValueAtPercentile). No window slides and there is no state machine or evidence: it is the floor
// for the same reads, so Ratio says what the engine's windows, state and bookkeeping cost on top.
//
// History: 33.2 ms (Layered, --job short) at commit 4b0e1ac, over budget; a later header claimed 22.1 ms "within
// budget" in the same commit that deleted this file's code, so that figure had nothing behind it. The code here is
// the earlier version's, restored unchanged apart from the anchor and the iteration counts, and re-run:
//
// Measured:
//   2026-12-03, commit 53c0f10, AMD EPYC (BenchmarkDotNet reports 2.10GHz; 1 CPU, 2 cores), Debian 12, .NET 10.0.12,
//   BenchmarkDotNet 0.15.8, default job, in one run of every suite:
//   dotnet run -c Release --project benchmarks/GateStream.Benchmarks -- --filter '*' --buildTimeout 1500
//   The machine was shared with other sessions building and testing: the 1-minute load average was 30 to 74
//   during the run (uptime every minute), i.e. 15-30 runnable threads per core. Absolute figures are therefore
//   several times a quiet machine's; Ratio (to the anchor, measured in the same process) is the figure to read.
//   | Method             | Rules           | Mean          | Error         | StdDev       | Median        | Ratio    | RatioSD  | Mean/gate | Allocated | Alloc Ratio |
//   |------------------- |---------------- |--------------:|--------------:|-------------:|--------------:|---------:|---------:|----------:|----------:|------------:|
//   | TickAllGates       | Layered         | 184,927.43 μs | 19,968.127 μs | 56,970.20 μs | 174,774.40 μs |     0.77 |     0.31 | 18,493 ns |         - |        0.00 |
//   | LongHistogramRules | Layered         | 256,073.07 μs | 22,352.534 μs | 65,556.12 μs | 254,344.18 μs |     1.07 |     0.39 | 25,607 ns |     336 B |        1.00 |
//   | TickAllGates       | SingleErrorRate |  98,731.59 μs | 11,423.653 μs | 33,323.34 μs |  92,046.93 μs | 4,338.55 | 2,868.71 |  9,873 ns |         - |          NA |
//   | LongHistogramRules | SingleErrorRate |      31.60 μs |      6.026 μs |     17.29 μs |      37.01 μs |     1.39 |     1.14 |      3 ns |         - |          NA |
//   Steady state held (setup and cleanup checks passed: 10,000 gates Progressing, every rule Passing, 0 decisions).
//   OVER budget at this load: Layered 184.9 ms per tick (error 20.0 ms; fastest tick 42.4 ms) against 25 ms, 0 B;
//   SingleErrorRate 98.7 ms. Whether it is within budget on a quiet machine is not shown by this run. Ratio to the
//   anchor: 0.72 for Layered (the hand-written rules over LongHistograms take 256.1 ms: their 20,000 p99 walks cost more
//   than the engine's whole tick). For SingleErrorRate the anchor only divides two counters per gate (31.6 us), so the
//   ratio (about 3,100) is the cost of everything the anchor lacks: advancing and sliding 20,000 windows, the state
//   machine and the evidence.

using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using GateStream.Benchmarks.Internal;
using GateStream.Core.Events;
using GateStream.Core.Gates;
using GateStream.Core.Ingest;
using GateStream.Core.Policies;
using GateStream.Core.Time;
using HdrHistogram;

namespace GateStream.Benchmarks.Gates;

[MemoryDiagnoser]
[Config(typeof(PerGateColumnConfig))]
[InvocationCount(1)]
[WarmupCount(5)]
[IterationCount(100)]
public class GateTickBenchmarks
{
    public const int Deployments = 10_000;
    private const int SeriesCount = 2 * Deployments;
    private const long TickMicros = 250 * EventTime.MicrosPerMillisecond;
    private const long SpacingMicros = 50 * EventTime.MicrosPerMillisecond;
    private const int EventsPerTick = (int)(TickMicros / SpacingMicros);
    private const long ExportLagMicros = EventTime.MicrosPerSecond;
    private const int WarmUpTicks = (int)(90 * EventTime.MicrosPerSecond / TickMicros);
    private const int LatencyCycle = 1_200;
    private const int ErrorEvery = 200;

    private Shard _shard = null!;
    private GateBook _book = null!;
    private InMemoryDecisionSink _sink = null!;
    private EventBatch _batch = null!;
    private byte[][] _deployments = [];
    private byte[][] _versions = [];
    private long[] _offsets = [];
    private int[] _latencyShifts = [];
    private int[] _errorShifts = [];
    private long[] _latencies = [];
    private int _liveSeries;
    private long _lastTick;
    private long _fedFor;
    private int _measuredTicks;
    private LongHistogram[] _histograms = [];
    private long[] _histogramRequests = [];
    private long[] _histogramErrors = [];

    public enum RuleSet
    {
        Layered,
        SingleErrorRate,
    }

    [Params(RuleSet.Layered, RuleSet.SingleErrorRate)]
    public RuleSet Rules { get; set; }

    [GlobalSetup(Target = nameof(TickAllGates))]
    public void Setup()
    {
        var policy = Policy(Rules);
        _shard = new Shard(0, new IngestOptions { ShardCount = 1 }, new SeriesBudget(SeriesCount));
        _sink = new InMemoryDecisionSink();
        _book = new GateBook(_shard, new PolicyCatalog(new PolicySet([policy])), _sink);
        _batch = new EventBatch(EventsPerTick) { Source = "bench" };

        _latencies = SyntheticTraffic.Latencies(new Random(20250602), LatencyCycle, medianMicros: 20 * EventTime.MicrosPerMillisecond, sigma: 0.5);
        _deployments = new byte[SeriesCount][];
        _versions = new byte[SeriesCount][];
        _offsets = new long[SeriesCount];
        _latencyShifts = new int[SeriesCount];
        _errorShifts = new int[SeriesCount];
        for (var s = 0; s < SeriesCount; s++)
        {
            // Series s < Deployments is deployment s's baseline, s >= Deployments its canary.
            _deployments[s] = System.Text.Encoding.UTF8.GetBytes($"svc-{s % Deployments:D5}");
            _versions[s] = System.Text.Encoding.UTF8.GetBytes(s < Deployments ? "1.41.0" : "1.42.0-rc.1");
            _offsets[s] = s * 7_919L % SpacingMicros;
            _latencyShifts[s] = s * 389 % LatencyCycle;
            _errorShifts[s] = s * 37 % ErrorEvery;
        }

        _lastTick = SyntheticTraffic.Start + ExportLagMicros;
        _liveSeries = Deployments;
        RunTicks(WarmUpTicks);
        if (_shard.SeriesCount != Deployments || _book.Count != 0)
        {
            throw new InvalidOperationException($"Baseline warm-up made {_shard.SeriesCount} series and {_book.Count} gates; expected {Deployments} and none.");
        }

        _liveSeries = SeriesCount;
        RunTicks(WarmUpTicks);
        EnsureSteadyState(policy, "after setup");
        Console.WriteLine(
            $"// GateStream: {_book.Count:N0} gates ({policy.Rules.Count} rules each) over {_shard.SeriesCount:N0} series, "
            + $"all Progressing with every rule Passing, {_sink.Decisions.Count} decisions; "
            + $"canary window {CanaryWindowRequests():N0} requests.");
    }

    [IterationSetup(Target = nameof(TickAllGates))]
    public void FeedNextInterval()
    {
        // Guarded so an extra setup call without a tick in between cannot feed an interval twice.
        var next = _lastTick + TickMicros;
        if (_fedFor != next)
        {
            Feed(next);
            _fedFor = next;
        }
    }

    [Benchmark]
    public void TickAllGates()
    {
        var now = _lastTick + TickMicros;
        _book.Tick(now);
        _lastTick = now;
        _measuredTicks++;
    }

    [IterationCleanup(Target = nameof(TickAllGates))]
    public void EnsureNoDecision()
    {
        if (_sink.Decisions.Count != 0)
        {
            throw new InvalidOperationException(
                $"The gates published {_sink.Decisions.Count} decision(s) while measuring (first: {_sink.Decisions[0].Gate} {_sink.Decisions[0].Action}: "
                + $"{_sink.Decisions[0].Reason}); the figure would not be steady state.");
        }
    }

    [GlobalCleanup(Target = nameof(TickAllGates))]
    public void Cleanup()
    {
        EnsureSteadyState(Policy(Rules), "after measuring");
        Console.WriteLine(
            $"// GateStream: {_measuredTicks} ticks ({EventTime.ToTimeSpan(_measuredTicks * TickMicros).TotalSeconds:0.##} s of engine time) "
            + $"in this process, {_sink.Decisions.Count} decisions, every rule of every gate still Passing.");
    }

    [GlobalSetup(Target = nameof(LongHistogramRules))]
    public void SetupAnchor()
    {
        var window = new IngestOptions().Window;
        var latencies = SyntheticTraffic.Latencies(new Random(20250602), LatencyCycle, medianMicros: 20 * EventTime.MicrosPerMillisecond, sigma: 0.5);
        _histograms = new LongHistogram[SeriesCount];
        _histogramRequests = new long[SeriesCount];
        _histogramErrors = new long[SeriesCount];
        for (var s = 0; s < SeriesCount; s++)
        {
            var histogram = new LongHistogram(window.HistogramLowestMicros, window.HistogramHighestMicros, window.HistogramSignificantDigits);
            var latencyShift = s * 389 % LatencyCycle;
            var errorShift = s * 37 % ErrorEvery;
            for (var n = 0; n < LatencyCycle; n++)
            {
                histogram.RecordValue(latencies[(n + latencyShift) % LatencyCycle]);
                _histogramErrors[s] += (n + errorShift) % ErrorEvery == 0 ? 1 : 0;
            }

            _histogramRequests[s] = LatencyCycle;
            _histograms[s] = histogram;
        }
    }

    /// <summary>
    /// The anchor: the same rules hand-written over HdrHistogram, what a user would build instead: per deployment a
    /// LongHistogram and two counters for the baseline and for the canary (one window's worth of the same traffic,
    /// same range and precision), and per tick each gate's rules read from them: minimum samples, the error-rate SLO
    /// and, for Layered, the error rate vs the baseline's and the two p99s (GetValueAtPercentile) vs 1.5x. No window
    /// slides, no state machine, no evidence, no `for:` durations: a floor for the same reads, not a gate engine.
    /// </summary>
    [Benchmark(Baseline = true)]
    public int LongHistogramRules()
    {
        var layered = Rules == RuleSet.Layered;
        var firing = 0;
        for (var d = 0; d < Deployments; d++)
        {
            var baseline = d;
            var canary = Deployments + d;
            long requests = _histogramRequests[canary], baselineRequests = _histogramRequests[baseline];
            if (requests < 500 || baselineRequests < 500)
            {
                continue;
            }

            var errorRate = (double)_histogramErrors[canary] / requests;
            firing += errorRate > 0.01 ? 1 : 0;
            if (layered)
            {
                var baselineErrorRate = (double)_histogramErrors[baseline] / baselineRequests;
                firing += errorRate - baselineErrorRate > 0.0025 ? 1 : 0;
                var p99 = _histograms[canary].GetValueAtPercentile(99);
                var baselineP99 = _histograms[baseline].GetValueAtPercentile(99);
                firing += p99 > 1.5 * baselineP99 ? 1 : 0;
            }
        }

        return firing;
    }

    private static PolicyDefinition Policy(RuleSet rules)
    {
        // The scenario tests' layered policy (tests/GateStream.Scenarios.Tests/Policies.cs), targeting every deployment.
        var errorRateRise = new RuleSpec
        {
            Name = "error-rate-rise",
            Signal = SignalSpec.ErrorRate,
            Threshold = new ThresholdSpec(ComparisonKind.BaselineDifference, null, 0.0025),
            Action = GateAction.Hold,
            MinSamples = 500,
            For = TimeSpan.FromSeconds(30),
        };
        var errorRateSlo = new RuleSpec
        {
            Name = "error-rate-slo",
            Signal = SignalSpec.ErrorRate,
            Threshold = new ThresholdSpec(ComparisonKind.Absolute, null, 0.01),
            Action = GateAction.Rollback,
            MinSamples = 500,
            For = TimeSpan.FromSeconds(10),
        };
        var latencyP99 = new RuleSpec
        {
            Name = "latency-p99",
            Signal = SignalSpec.LatencyAt(0.99),
            Threshold = new ThresholdSpec(ComparisonKind.BaselineRatio, null, 1.5),
            Action = GateAction.Pause,
            MinSamples = 500,
            For = TimeSpan.FromSeconds(30),
        };

        return new PolicyDefinition
        {
            Name = "bench-layered",
            Revision = "bench",
            Target = "*",
            ReleaseAfter = TimeSpan.FromMinutes(2),
            // Slow enough that no gate steps while measuring: steady state.
            Progression = new ProgressionSpec { StepWeight = 10, MaxWeight = 50, StepInterval = TimeSpan.FromHours(1) },
            Rules = rules == RuleSet.Layered ? [errorRateRise, errorRateSlo, latencyP99] : [errorRateSlo],
        };
    }

    // Setup only: the engine as the shard loop runs it, traffic then a tick, every 250 ms.
    private void RunTicks(int ticks)
    {
        for (var i = 0; i < ticks; i++)
        {
            var now = _lastTick + TickMicros;
            Feed(now);
            _book.Tick(now);
            _lastTick = now;
        }
    }

    // One batch per live series with its events in [tick - lag - 250 ms, tick - lag), applied at the tick's clock.
    private void Feed(long tickMicros)
    {
        var from = tickMicros - ExportLagMicros - TickMicros;
        var firstEvent = (from - SyntheticTraffic.Start) / SpacingMicros;
        var batch = _batch;
        for (var s = 0; s < _liveSeries; s++)
        {
            batch.Key.Set(_deployments[s], _versions[s]);
            batch.Resize(EventsPerTick);
            var times = batch.WritableTimes;
            var latencies = batch.WritableLatencies;
            var errors = batch.WritableErrors;
            for (var i = 0; i < times.Length; i++)
            {
                var n = firstEvent + i;
                times[i] = from + (i * SpacingMicros) + _offsets[s];
                latencies[i] = _latencies[(n + _latencyShifts[s]) % LatencyCycle];
                errors[i] = (n + _errorShifts[s]) % ErrorEvery == 0;
            }

            _shard.Apply(batch, tickMicros);
        }
    }

    private long CanaryWindowRequests() =>
        _shard.Find(System.Text.Encoding.UTF8.GetString(_deployments[Deployments]), System.Text.Encoding.UTF8.GetString(_versions[Deployments]))?.Requests.Requests ?? 0;

    private void EnsureSteadyState(PolicyDefinition policy, string when)
    {
        var decisions = _sink.Decisions;
        if (decisions.Count != 0)
        {
            throw new InvalidOperationException(
                $"{when}: the gates published {decisions.Count} decision(s) (first: {decisions[0].Gate} {decisions[0].Action}: {decisions[0].Reason}).");
        }

        if (_book.Count != Deployments || _shard.SeriesCount != SeriesCount)
        {
            throw new InvalidOperationException($"{when}: {_book.Count} gates over {_shard.SeriesCount} series; expected {Deployments} over {SeriesCount}.");
        }

        foreach (var gate in _book.Gates)
        {
            if (gate.Phase != GatePhase.Progressing)
            {
                throw new InvalidOperationException($"{when}: gate {gate.Id} is {gate.Phase}, not Progressing.");
            }

            var evidence = gate.CurrentEvidence(_lastTick);
            if (evidence.Count != policy.Rules.Count)
            {
                throw new InvalidOperationException($"{when}: gate {gate.Id} has {evidence.Count} rules; the policy has {policy.Rules.Count}.");
            }

            foreach (var rule in evidence)
            {
                if (rule.Status != RuleStatus.Passing)
                {
                    throw new InvalidOperationException(
                        $"{when}: gate {gate.Id} rule {rule.Rule} is {rule.Status} (observed {rule.Observed}, threshold {rule.Threshold}, "
                        + $"baseline {rule.Baseline}, samples {rule.Samples}/{rule.BaselineSamples}); the ticks would not be steady state.");
                }
            }
        }
    }

    public class PerGateColumnConfig : ManualConfig
    {
        public PerGateColumnConfig() => AddColumn(new PerGateColumn());
    }

    /// <summary>"Mean/gate": the tick's mean divided by the live gates it evaluated.</summary>
    private sealed class PerGateColumn : IColumn
    {
        public string Id => nameof(PerGateColumn);

        public string ColumnName => "Mean/gate";

        public bool AlwaysShow => true;

        public ColumnCategory Category => ColumnCategory.Custom;

        public int PriorityInCategory => 0;

        public bool IsNumeric => true;

        public UnitType UnitType => UnitType.Dimensionless;

        public string Legend => $"Mean per tick divided by the {Deployments:N0} live gates it evaluates";

        public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

        public bool IsAvailable(Summary summary) => true;

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

        public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
        {
            ArgumentNullException.ThrowIfNull(summary);
            return summary[benchmarkCase]?.ResultStatistics?.Mean is { } meanNanoseconds
                ? $"{meanNanoseconds / Deployments:N0} ns"
                : "-";
        }
    }
}
