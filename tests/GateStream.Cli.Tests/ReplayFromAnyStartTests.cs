using GateStream.Cli.Replay;
using GateStream.Core.Gates;
using GateStream.Core.Policies;
using GateStream.Core.Time;
using GateStream.Policies;
using GateStream.Wire;
using Xunit.Abstractions;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Tests;

/// <summary>
/// Replay equals live from any starting point, or says where and why it does not. The live side is the engine on the
/// virtual clock fed the whole traffic (as <c>DeterminismTests</c> run it); a recording starting at some point holds
/// what <c>gatestream record</c> writes from there: the gates under way (their last decisions), the batches, and the
/// live decisions. Its replay continues those gates and compares.
/// </summary>
public sealed class ReplayFromAnyStartTests(ITestOutputHelper output)
{
    private const long Second = 1_000_000;
    private const long Slice = 100_000;
    private const long Origin = 1_767_225_600_000_000;
    private static readonly long LongestWindow = EventTime.FromTimeSpan(GateStream.Core.Defaults.WindowLength);

    // One gate: 10% canary traffic from 5 s, healthy, a 5% error burst 50..70 s (hold, then release), healthy again,
    // then 30% errors from 150 s (rollback).
    private const string Policy = """
        apiVersion: gatestream.io/v1
        kind: GatePolicy
        metadata: { name: layered }
        spec:
          target: api
          releaseAfter: 10s
          progression: { stepWeight: 10, maxWeight: 80, stepInterval: 15s }
          rules:
            - { name: errors-hold, signal: error-rate, max: 0.02, action: hold, minSamples: 50, window: 10s }
            - { name: errors-rollback, signal: error-rate, max: 0.10, action: rollback, minSamples: 50, window: 10s }
        """;

    private static double CanaryErrorRate(double seconds) => seconds switch
    {
        >= 50 and < 70 => 0.05,
        >= 150 => 0.30,
        _ => 0.005,
    };

    [Fact]
    public void A_recording_from_before_the_gate_opened_replays_to_the_same_decisions_at_the_same_times()
    {
        var live = Live.Run(Traffic());
        foreach (var start in new[] { 0L, 2 * Second })
        {
            var summary = ReplayFrom(live, Live.TickAtOrAfter(live, start));
            var c = summary.Comparison!;
            Assert.Empty(c.Seeded);
            Assert.Null(c.FirstDivergence);
            Assert.Equal(live.Decisions.Count, c.LiveDecisions);
            Assert.Equal((c.LiveDecisions, c.LiveDecisions), (c.Alike, c.SameTime));
        }

        Assert.Contains(live.Decisions, d => d.Action == V1.Action.Hold);
        Assert.Contains(live.Decisions, d => d.Action == V1.Action.Rollback);
    }

    [Fact]
    public void A_recording_from_mid_rollout_continues_the_gate_and_is_exact_once_its_windows_filled_or_says_why_not()
    {
        var live = Live.Run(Traffic());
        var firstPromote = live.Decisions.First(d => d.Action == V1.Action.Promote);
        var start = Live.TickAtOrAfter(live, DecisionMapper.MicrosOf(firstPromote.Time) - live.FirstMicros + (5 * Second));

        var (summary, replayed) = ReplayWithDecisions(live, start);

        var seeded = Assert.Single(summary.Comparison!.Seeded);
        Assert.Equal((GatePhase.Progressing, (int)firstPromote.Weight), (seeded.Phase, seeded.Weight));
        AssertExactOnceSynced(live, start, replayed, summary.Comparison);
    }

    [Fact]
    public void A_recording_from_after_a_hold_continues_the_held_gate_and_is_exact_once_its_windows_filled_or_says_why_not()
    {
        var live = Live.Run(Traffic());
        var hold = live.Decisions.First(d => d.Action == V1.Action.Hold);
        var start = Live.TickAtOrAfter(live, DecisionMapper.MicrosOf(hold.Time) - live.FirstMicros + Slice);

        var (summary, replayed) = ReplayWithDecisions(live, start);

        var seeded = Assert.Single(summary.Comparison!.Seeded);
        Assert.Equal((GatePhase.Holding, (int)hold.Weight), (seeded.Phase, seeded.Weight));
        Assert.Contains(replayed, d => d.Action == DecisionAction.Resume);
        AssertExactOnceSynced(live, start, replayed, summary.Comparison);
        var text = new StringWriter();
        ReplaySummaryWriter.WriteText(summary, text);
        Assert.Contains("Continued gate api/v2 from the recording's start: Holding at weight", text.ToString(), StringComparison.Ordinal);
        output.WriteLine(text.ToString());
    }

    [Fact]
    public void One_altered_message_after_the_windows_filled_is_reported_as_the_divergence_with_its_window_and_rule()
    {
        var traffic = Traffic();
        var live = Live.Run(traffic);
        // Past the first minute (the replay is exact by then), in the healthy stretch between the hold's release and the
        // final fault: one message's canary batch replaced by 25 failed requests.
        var alteredAt = live.FirstMicros + (90 * Second);
        var index = traffic.FindIndex(m => BatchMapper.NewestTime(m) >= alteredAt);
        var altered = traffic.Select(m => m.Clone()).ToList();
        var batch = altered[index].Events.Single(b => b.Version == "v2");
        batch.StatusCodes.Clear();
        batch.TimeDeltasMicros.Clear();
        batch.LatencyMicros.Clear();
        for (var i = 0; i < 25; i++)
        {
            batch.TimeDeltasMicros.Add(Slice / 25);
            batch.LatencyMicros.Add(20_000);
            batch.StatusCodes.Add(503);
        }

        var summary = ReplayFrom(live with { Messages = altered }, live.FirstMicros);

        var divergence = summary.Comparison!.FirstDivergence;
        Assert.NotNull(divergence);
        output.WriteLine($"{divergence.Gate} #{divergence.Index} at {divergence.TimeMicros}: {divergence.Why}");
        Assert.True(divergence.Unexplained);
        Assert.Equal("api/v2", divergence.Gate);
        Assert.InRange(divergence.TimeMicros, alteredAt, alteredAt + (10 * Second));
        Assert.True(divergence.Replayed!.Action is V1.Action.Hold or V1.Action.Rollback, divergence.Replayed.ToString());
        Assert.NotEqual(divergence.Replayed.Action, divergence.Live?.Action);
        Assert.Contains("differ from what the live gate saw", divergence.Why, StringComparison.Ordinal);
        Assert.Contains("rule 'errors-hold' was RULE_STATUS_PASSING live", divergence.Why, StringComparison.Ordinal);

        // The unaltered recording replays alike.
        Assert.Null(ReplayFrom(live, live.FirstMicros).Comparison!.FirstDivergence);
    }

    /// <summary>
    /// Either the replay took every live decision alike, or its first divergence is explained by the recording's start
    /// (and says from when it is exact); and from the first decision that lines up exactly after the windows filled, every
    /// later live decision is replayed at the same time with the same action and weight.
    /// </summary>
    private void AssertExactOnceSynced(Live live, long start, List<GateDecision> replayed, ReplayComparisonSummary c)
    {
        if (c.FirstDivergence is { } d)
        {
            output.WriteLine($"first divergence {d.Gate} #{d.Index}: live {d.Live?.Action} {d.Live?.Weight}, replayed {d.Replayed?.Action} {d.Replayed?.Weight}: {d.Why}");
            Assert.False(d.Unexplained);
            Assert.Equal(start + LongestWindow, d.ExactFromMicros);
            Assert.Contains("under way when the recording started", d.Why, StringComparison.Ordinal);
        }

        var liveAfter = live.Decisions.Where(x => DecisionMapper.MicrosOf(x.Time) > start).Select(Key).ToList();
        var replayedKeys = replayed.Select(x => (x.TimeMicros, WireEnums.ToWire(x.Action), (uint)x.Weight)).ToList();
        var sync = liveAfter.FindIndex(k => k.Item1 >= start + LongestWindow && replayedKeys.Contains(k));
        Assert.True(sync >= 0, "no live decision after the windows filled lined up with the replay");
        var from = replayedKeys.IndexOf(liveAfter[sync]);
        Assert.Equal(liveAfter[sync..], replayedKeys[from..].Where(k => k.Item1 <= live.LastMicros));
        output.WriteLine($"exact from decision {sync + 1} of {liveAfter.Count} after the start ({liveAfter[sync]})");
    }

    private static (long, V1.Action, uint) Key(V1.Decision d) => (DecisionMapper.MicrosOf(d.Time), d.Action, d.Weight);

    private static ReplaySummary ReplayFrom(Live live, long start) => ReplayWithDecisions(live, start).Summary;

    private static (ReplaySummary Summary, List<GateDecision> Decisions) ReplayWithDecisions(Live live, long start)
    {
        var decisions = new List<GateDecision>();
        var engine = new ReplayEngine(Policies()) { Decided = decisions.Add };
        foreach (var entry in live.RecordingFrom(start))
        {
            engine.Apply(entry);
        }

        return (engine.Finish(), decisions);
    }

    private static PolicySet Policies()
    {
        var result = PolicyLoader.LoadText(Policy, "layered.yaml");
        Assert.True(result.Success, result.ToString());
        return result.Policies!;
    }

    /// <summary>Three minutes: one message per 100 ms with the baseline's and (from 5 s) the canary's batch, random arrivals and errors.</summary>
    private static List<V1.PushRequest> Traffic()
    {
        var random = new Random(11);
        var messages = new List<V1.PushRequest>();
        for (var end = Origin + Slice; end <= Origin + (200 * Second); end += Slice)
        {
            var message = new V1.PushRequest();
            message.Events.Add(Batch("v1", 180, 0.005, end, random));
            var seconds = (end - Origin) / (double)Second;
            if (seconds > 5)
            {
                message.Events.Add(Batch("v2", 20, CanaryErrorRate(seconds), end, random));
            }

            messages.Add(message);
        }

        return messages;
    }

    private static V1.EventBatch Batch(string version, double perSecond, double errorRate, long end, Random random)
    {
        var expected = perSecond * Slice / Second;
        var count = Math.Max(1, (int)expected + (random.NextDouble() < expected - (int)expected ? 1 : 0));
        var times = Enumerable.Range(0, count).Select(_ => end - 1 - (long)(random.NextDouble() * (Slice - 1))).Order().ToList();
        times[^1] = end; // the message's newest time is the slice's end, so the clock moves on a fixed grid
        var batch = new V1.EventBatch { Deployment = "api", Version = version, BaseTimeUnixMicros = end - Slice };
        var previous = batch.BaseTimeUnixMicros;
        foreach (var time in times)
        {
            batch.TimeDeltasMicros.Add(time - previous);
            previous = time;
            batch.LatencyMicros.Add((uint)(10_000 + random.Next(20_000)));
            batch.StatusCodes.Add(random.NextDouble() < errorRate ? 503u : 200u);
        }

        return batch;
    }

    /// <summary>The live run: every message through the engine, its decisions, and the gates at any tick (what record would write then).</summary>
    private sealed record Live(List<V1.PushRequest> Messages, List<V1.Decision> Decisions, long FirstMicros, long LastMicros)
    {
        private readonly Dictionary<long, V1.RecordingStart> _starts = [];

        public static Live Run(List<V1.PushRequest> messages)
        {
            var decisions = new List<V1.Decision>();
            var engine = new ReplayEngine(Policies());
            engine.Decided = d => decisions.Add(DecisionMapper.ToProto(d));
            var first = BatchMapper.NewestTime(messages[0])!.Value;
            var live = new Live(messages, decisions, first, BatchMapper.NewestTime(messages[^1])!.Value);
            live._starts[first] = RecordingMapper.ToStart(first, [], 0); // before anything: the recording holds every message
            foreach (var message in messages)
            {
                var newest = BatchMapper.NewestTime(message)!.Value;
                // What a recording starting at each tick before this message would hold: the tick has run, the message not.
                for (var tick = TickAtOrAfter(first, Math.Max(first, engine.NowMicros)); engine.NowMicros != 0 && tick < newest; tick += TickMicros)
                {
                    engine.AdvanceClockTo(tick);
                    live._starts.TryAdd(tick, RecordingMapper.ToStart(tick, engine.Gates!.Gates, decisions.Count == 0 ? 0 : decisions[^1].Sequence));
                }

                engine.Apply(message);
            }

            engine.Finish();
            decisions.RemoveAll(d => DecisionMapper.MicrosOf(d.Time) > live.LastMicros);
            return live;
        }

        private const long TickMicros = 250_000;

        public static long TickAtOrAfter(Live live, long sinceFirst) => TickAtOrAfter(live.FirstMicros, live.FirstMicros + sinceFirst);

        private static long TickAtOrAfter(long first, long micros) => first + (((micros - first + TickMicros - 1) / TickMicros) * TickMicros);

        /// <summary>The entries <c>gatestream record</c> would write from <paramref name="start"/>: the gates, then batches and live decisions in time order.</summary>
        public IEnumerable<V1.RecordingEntry> RecordingFrom(long start)
        {
            yield return new V1.RecordingEntry { Start = _starts[start] };
            var decisions = Decisions.Where(d => DecisionMapper.MicrosOf(d.Time) > start).ToList();
            var next = 0;
            foreach (var message in Messages.Where(m => start == FirstMicros || BatchMapper.NewestTime(m) > start))
            {
                var newest = BatchMapper.NewestTime(message)!.Value;
                for (; next < decisions.Count && DecisionMapper.MicrosOf(decisions[next].Time) < newest; next++)
                {
                    yield return new V1.RecordingEntry { LiveDecision = decisions[next] };
                }

                var entry = new V1.RecordingEntry();
                entry.Events.Add(message.Events);
                entry.Metrics.Add(message.Metrics);
                yield return entry;
            }

            for (; next < decisions.Count; next++)
            {
                yield return new V1.RecordingEntry { LiveDecision = decisions[next] };
            }
        }
    }
}
