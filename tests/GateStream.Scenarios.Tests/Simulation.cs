using GateStream.Core.Events;
using GateStream.Core.Gates;
using GateStream.Core.Policies;

namespace GateStream.Scenarios.Tests;

/// <summary>How one version behaves over time: request rate, error rate and latency, each possibly changing at a given minute.</summary>
internal sealed record Behaviour(double RequestsPerSecond, Func<double, double> ErrorRateAt, Func<double, double> MedianLatencyMsAt, double TailFactor = 3)
{
    public static Behaviour Steady(double rps, double errorRate, double medianMs) => new(rps, _ => errorRate, _ => medianMs);
}

/// <summary>
/// Drives an <see cref="InlineEngine"/> on the virtual clock with generated traffic for a baseline and a canary.
/// Deterministic for a seed.
/// </summary>
internal sealed class Simulation
{
    public const long Second = 1_000_000;
    public static readonly long Start = 1_750_000_000L * Second;

    private readonly Random _random;
    private readonly EventBatch _batch = new(4096);
    private readonly long _step;

    public Simulation(PolicyDefinition policy, int seed, TimeSpan? step = null, GateEngineOptions? options = null)
        : this(new PolicySet([policy]), seed, step, options)
    {
    }

    public Simulation(PolicySet policies, int seed, TimeSpan? step = null, GateEngineOptions? options = null)
    {
        _random = new Random(seed);
        Sink = new InMemoryDecisionSink();
        Engine = new InlineEngine(Start, new PolicyCatalog(policies), Sink, engine: options);
        _step = (step ?? TimeSpan.FromMilliseconds(250)).Ticks / 10;
    }

    public InlineEngine Engine { get; }

    public InMemoryDecisionSink Sink { get; }

    public string Deployment { get; init; } = "api";

    public string BaselineVersion { get; init; } = "v1";

    public string CanaryVersion { get; init; } = "v2";

    public string GateId => Gate.IdFor(Deployment, CanaryVersion);

    public Gate? Gate => Engine.Gates.Find(GateId);

    public double Minutes => (Engine.NowMicros - Start) / (60.0 * Second);

    /// <summary>Baseline traffic alone for a while: it becomes the stable version.</summary>
    public void Warm(Behaviour baseline, TimeSpan duration) => Run(baseline, null, duration);

    /// <summary>Runs both versions for <paramref name="duration"/>, or until <paramref name="until"/> says stop.</summary>
    public void Run(Behaviour baseline, Behaviour? canary, TimeSpan duration, Func<Simulation, bool>? until = null)
    {
        var end = Engine.NowMicros + (duration.Ticks / 10);
        var gateStartMinutes = Gate is { } g ? (g.StartedMicros - Start) / (60.0 * Second) : Minutes;
        while (Engine.NowMicros < end)
        {
            var from = Engine.NowMicros;
            var to = from + _step;
            Emit(BaselineVersion, baseline, from, to, Minutes);
            if (canary is not null)
            {
                Emit(CanaryVersion, canary, from, to, Minutes - gateStartMinutes);
            }

            Engine.AdvanceTo(to);
            if (until?.Invoke(this) == true)
            {
                return;
            }
        }
    }

    private void Emit(string version, Behaviour behaviour, long from, long to, double minute)
    {
        var expected = behaviour.RequestsPerSecond * (to - from) / Second;
        var count = (int)expected + (_random.NextDouble() < expected - (int)expected ? 1 : 0);
        if (count == 0)
        {
            return;
        }

        var errorRate = behaviour.ErrorRateAt(minute);
        var medianMicros = behaviour.MedianLatencyMsAt(minute) * 1_000;
        _batch.Clear();
        _batch.Key.Set(Deployment, version);
        _batch.Source = "simulation";
        for (var i = 0; i < count; i++)
        {
            var time = from + (long)((to - from) * (i + _random.NextDouble()) / count);
            // Log-normal latency: median m, p99 about m * tail factor.
            var z = NormalSample();
            var latency = (long)(medianMicros * Math.Pow(behaviour.TailFactor, z / 2.326));
            _batch.Add(Math.Min(time, to - 1), Math.Max(1, latency), _random.NextDouble() < errorRate);
        }

        Engine.Apply(_batch);
    }

    private double NormalSample()
    {
        var u1 = 1.0 - _random.NextDouble();
        var u2 = _random.NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    public IReadOnlyList<GateDecision> Decisions => Sink.Decisions;

    public GateDecision? FirstDecision(DecisionAction action) => Sink.Decisions.FirstOrDefault(d => d.Action == action);

    public static double MinutesOf(GateDecision decision) => (decision.TimeMicros - Start) / (60.0 * Second);
}
