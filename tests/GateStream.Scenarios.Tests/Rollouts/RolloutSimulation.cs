using GateStream.Core.Events;
using GateStream.Core.Gates;
using GateStream.Core.Policies;

namespace GateStream.Scenarios.Tests.Rollouts;

/// <summary>
/// What the deployment's traffic does in one rollout: a total request rate split between the versions by the weight
/// the controller applies, error rates and latencies that may change for the canary at <see cref="Onset"/>.
/// </summary>
internal sealed record Traffic
{
    /// <summary>Requests per second across both versions (Poisson).</summary>
    public double TotalRps { get; init; } = 1_000;

    public double BaselineErrorRate { get; init; } = 0.001;

    public double CanaryErrorRate { get; init; } = 0.001;

    /// <summary>The canary's error rate from <see cref="Onset"/> on (null: no change).</summary>
    public double? FaultErrorRate { get; init; }

    public double MedianLatencyMs { get; init; } = 20;

    /// <summary>Multiplies the canary's latencies from <see cref="Onset"/> on (1: no change).</summary>
    public double FaultLatencyFactor { get; init; } = 1;

    /// <summary>Time from the rollout's start to the fault.</summary>
    public TimeSpan Onset { get; init; } = TimeSpan.MaxValue;

    /// <summary>p99 / median of the log-normal latency.</summary>
    public double TailFactor { get; init; } = 3;
}

/// <summary>What one rollout did, in seconds from the fault's onset (NaN when it did not happen).</summary>
internal sealed record RolloutOutcome(
    double SecondsToRollback,
    double SecondsToPause,
    double SecondsToHold,
    bool RolledBack,
    bool Paused,
    bool Held,
    GatePhase FinalPhase,
    int WeightAtOnset,
    double CanaryRpsAtOnset,
    bool LoweredWeightWithoutRollback);

/// <summary>
/// One rollout on the virtual clock: Poisson arrivals, a controller that calls StartRollout and then applies every
/// decision's weight (so the canary's traffic follows the decided weight), a fault at a chosen time. Built to be
/// cheap: counts by Poisson draw, latencies from a precomputed table, one small RNG; deterministic for a seed.
/// </summary>
internal sealed class RolloutSimulation
{
    public const long Second = 1_000_000;
    public static readonly long Start = 1_750_000_000L * Second;
    private const int LatencyTableSize = 4096;
    private static readonly long StepMicros = 250_000;

    private const int BatchCapacity = 4096;
    private readonly EventBatch _batch = new(BatchCapacity);
    private readonly InMemoryDecisionSink _sink = new();
    private readonly InlineEngine _engine;
    private readonly double[] _latencyTable;
    private readonly Traffic _traffic;
    private ulong _state;

    private RolloutSimulation(PolicyDefinition policy, Traffic traffic, int seed)
    {
        _traffic = traffic;
        _state = (ulong)seed * 0x9E3779B97F4A7C15UL + 0x632BE59BD9B4E5B9UL;
        _engine = new InlineEngine(Start, new PolicyCatalog(new PolicySet([policy])), _sink, engine: new GateEngineOptions { AutoStart = false });
        _latencyTable = LatencyTable(traffic.TailFactor);
    }

    public static RolloutOutcome Run(PolicyDefinition policy, Traffic traffic, int seed, TimeSpan duration, Func<GateDecision, bool>? stopAt = null) =>
        new RolloutSimulation(policy, traffic, seed).Run(duration, stopAt);

    /// <summary>Runs <paramref name="runs"/> rollouts in parallel (seeds seedBase..), in seed order.</summary>
    public static RolloutOutcome[] RunMany(PolicyDefinition policy, Func<int, Traffic> traffic, int runs, int seedBase, TimeSpan duration, Func<GateDecision, bool>? stopAt = null)
    {
        var outcomes = new RolloutOutcome[runs];
        Parallel.For(0, runs, i => outcomes[i] = Run(policy, traffic(seedBase + i), seedBase + i, duration, stopAt));
        return outcomes;
    }

    private RolloutOutcome Run(TimeSpan duration, Func<GateDecision, bool>? stopAt)
    {
        // A minute of baseline alone: it is the stable version the canary replaces.
        Warm(TimeSpan.FromMinutes(1));

        var started = _engine.Start(new StartRolloutCommand("api", "v1", "v2", null, null, "controller"));
        if (!started.Succeeded)
        {
            throw new InvalidOperationException(started.Message);
        }

        var gate = started.Gate!;
        var weight = gate.Weight;
        var rolloutStart = _engine.NowMicros;
        var onset = _traffic.Onset == TimeSpan.MaxValue ? long.MaxValue : rolloutStart + (_traffic.Onset.Ticks / 10);
        var weightAtOnset = -1;
        var end = rolloutStart + (duration.Ticks / 10);
        var seen = 0;
        var lowered = false;
        while (_engine.NowMicros < end && !gate.IsFinished)
        {
            if (weightAtOnset < 0 && _engine.NowMicros >= onset)
            {
                weightAtOnset = weight;
            }

            Emit(weight, onset);
            _engine.AdvanceTo(_engine.NowMicros + StepMicros);
            var stop = false;
            for (; seen < _sink.Decisions.Count; seen++)
            {
                var decision = _sink.Decisions[seen];
                lowered |= decision.Weight < weight && decision.Action != DecisionAction.Rollback;
                weight = decision.Weight; // the controller follows the decided weight
                stop |= stopAt?.Invoke(decision) == true;
            }

            if (stop)
            {
                break;
            }
        }

        double Since(DecisionAction action) =>
            _sink.Decisions.FirstOrDefault(d => d.Action == action && d.TimeMicros >= onset) is { } d ? (d.TimeMicros - onset) / (double)Second : double.NaN;

        var rollback = Since(DecisionAction.Rollback);
        var pause = Since(DecisionAction.Pause);
        var hold = Since(DecisionAction.Hold);
        var anyRollback = _sink.Decisions.Any(d => d.Action == DecisionAction.Rollback);
        return new RolloutOutcome(
            rollback, pause, hold, anyRollback,
            _sink.Decisions.Any(d => d.Action == DecisionAction.Pause),
            _sink.Decisions.Any(d => d.Action == DecisionAction.Hold),
            gate.Phase, weightAtOnset, weightAtOnset < 0 ? 0 : _traffic.TotalRps * weightAtOnset / 100, lowered);
    }

    private void Warm(TimeSpan span)
    {
        var end = _engine.NowMicros + (span.Ticks / 10);
        while (_engine.NowMicros < end)
        {
            Emit(0, long.MaxValue);
            _engine.AdvanceTo(_engine.NowMicros + StepMicros);
        }
    }

    private void Emit(int weight, long onset)
    {
        var from = _engine.NowMicros;
        var seconds = StepMicros / (double)Second;
        var faulty = from >= onset;
        var canaryRate = faulty && _traffic.FaultErrorRate is { } f ? f : _traffic.CanaryErrorRate;
        var canaryLatency = _traffic.MedianLatencyMs * (faulty ? _traffic.FaultLatencyFactor : 1);
        EmitVersion("v1", Poisson(_traffic.TotalRps * (100 - weight) / 100 * seconds), _traffic.BaselineErrorRate, _traffic.MedianLatencyMs, from);
        EmitVersion("v2", Poisson(_traffic.TotalRps * weight / 100 * seconds), canaryRate, canaryLatency, from);
    }

    private void EmitVersion(string version, int count, double errorRate, double medianMs, long from)
    {
        if (count == 0)
        {
            return;
        }

        _batch.Clear();
        _batch.Key.Set("api", version);
        _batch.Source = "simulation";
        var medianMicros = medianMs * 1_000;
        for (var i = 0; i < count; i++)
        {
            // Poisson arrivals: given the count, the times are uniform over the step.
            var time = from + (long)(NextDouble() * StepMicros);
            var latency = (long)(medianMicros * _latencyTable[(int)(Next() >> 52)]);
            _batch.Add(time, Math.Max(1, latency), NextDouble() < errorRate);
            if (_batch.Count == BatchCapacity)
            {
                _engine.Apply(_batch);
                _batch.Clear();
                _batch.Key.Set("api", version);
                _batch.Source = "simulation";
            }
        }

        _engine.Apply(_batch);
    }

    private int Poisson(double mean)
    {
        if (mean <= 0)
        {
            return 0;
        }

        if (mean < 30)
        {
            // Knuth: multiply uniforms until below e^-mean.
            var limit = Math.Exp(-mean);
            var product = NextDouble();
            var count = 0;
            while (product > limit)
            {
                count++;
                product *= NextDouble();
            }

            return count;
        }

        // Normal approximation with continuity correction; exact enough above 30 per step.
        return Math.Max(0, (int)Math.Round(mean + (Math.Sqrt(mean) * Normal())));
    }

    private double Normal()
    {
        var u1 = 1.0 - NextDouble();
        var u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    // SplitMix64: small, fast, good enough for traffic.
    private ulong Next()
    {
        var z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Log-normal multipliers of the median at evenly spaced quantiles: median 1, p99 = tail factor.</summary>
    private static double[] LatencyTable(double tailFactor)
    {
        var table = new double[LatencyTableSize];
        for (var i = 0; i < table.Length; i++)
        {
            var z = InverseNormal((i + 0.5) / table.Length);
            table[i] = Math.Pow(tailFactor, z / 2.326);
        }

        return table;
    }

    // Acklam's rational approximation of the normal quantile (relative error below 1.2e-9).
    private static double InverseNormal(double p)
    {
        double[] a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
        double[] b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
        double[] c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
        double[] d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
        const double low = 0.02425;
        if (p < low)
        {
            var q = Math.Sqrt(-2 * Math.Log(p));
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }

        if (p > 1 - low)
        {
            var q = Math.Sqrt(-2 * Math.Log(1 - p));
            return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }

        var r = p - 0.5;
        var s = r * r;
        return (((((a[0] * s + a[1]) * s + a[2]) * s + a[3]) * s + a[4]) * s + a[5]) * r / (((((b[0] * s + b[1]) * s + b[2]) * s + b[3]) * s + b[4]) * s + 1);
    }
}
