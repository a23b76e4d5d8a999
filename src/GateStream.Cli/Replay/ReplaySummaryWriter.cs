using System.Globalization;
using System.Text;
using System.Text.Json;
using GateStream.Cli.Internal;
using GateStream.Core.Gates;
using GateStream.Core.Time;
using GateStream.Wire;

namespace GateStream.Cli.Replay;

/// <summary>The replay summary for people (sections of aligned text) or as one JSON object. No wall-clock time appears: same input, same bytes.</summary>
internal static class ReplaySummaryWriter
{
    public static void WriteText(ReplaySummary s, TextWriter output)
    {
        var span = EventTime.ToTimeSpan(s.LastMicros - s.FirstMicros);
        output.Write('\n');
        output.Write(Invariant($"Replayed {Plural.Of(s.Messages, "message")}: {Plural.Of(s.Events, "event")} ({s.EventsAccepted:N0} recorded, {s.EventsDropped:N0} dropped), {Plural.Of(s.Samples, "sample")} ({s.SamplesAccepted:N0} recorded, {s.SamplesDropped:N0} dropped), {Plural.Of(s.BatchesRefused, "batch", "batches")} refused.\n"));
        if (s.Messages > 0 && s.FirstMicros != 0)
        {
            output.Write(Invariant($"Event time {DecisionFormat.TimeOfMicros(s.FirstMicros)} .. {DecisionFormat.TimeOfMicros(s.LastMicros)} ({Durations.Format(span)}), ticks every {Durations.Format(s.TickInterval)}.\n"));
        }

        output.Write("Policies: " + string.Join(", ", s.Policies.Select(p => $"{p.Name} (revision {p.Revision})")) + "\n");
        output.Write(Invariant($"Decisions: {s.Decisions:N0}") + (s.Decisions == 0 ? "" : " (" + string.Join(", ", s.DecisionsByAction.Where(a => a.Value > 0).Select(a => Invariant($"{Name(a.Key)} {a.Value:N0}"))) + ")")
            + (s.DecisionsAfterTraffic == 0 ? "" : Invariant($"; {s.DecisionsAfterTraffic:N0} after the last recorded event, in the final {Durations.Format(s.FinalWindow)} with no traffic")) + ".\n");

        output.Write('\n');
        if (s.Gates.Count == 0)
        {
            output.Write("Gates: none opened (did the policy target the recorded deployments, and did a second version appear?).\n");
        }
        else
        {
            output.Write("Gates (first stop: time from the gate's start to its first HOLD, PAUSE or ROLLBACK; insufficient: time any rule was below minSamples):\n");
            var table = Tables.Create("GATE", "BASELINE", "POLICY", "STARTED", "DECISIONS", "FINAL", "FIRST STOP", "INSUFFICIENT");
            foreach (var g in s.Gates)
            {
                table.AddCells(
                    g.Id,
                    g.BaselineVersion,
                    g.Policy,
                    DecisionFormat.TimeOfMicros(g.StartedMicros),
                    g.Decisions.ToString(CultureInfo.InvariantCulture),
                    Invariant($"{g.Phase} {g.Weight}"),
                    g.FirstStopAction is { } action ? $"{Name(action)} after {Durations.Format(g.FirstStopAfter!.Value)}" : "-",
                    Durations.Format(g.InsufficientEvidence));
            }

            Tables.Write(table, output, indent: "  ");
        }

        output.Write('\n');
        if (s.FiringRules.Count == 0)
        {
            output.Write("Rules that fired: none.\n");
        }
        else
        {
            output.Write("Rules that fired (decisions whose evidence shows the rule firing):\n");
            var table = Tables.Create("POLICY", "RULE", "DECISIONS");
            foreach (var r in s.FiringRules)
            {
                table.AddCells(r.Policy, r.Rule, r.FiringDecisions.ToString(CultureInfo.InvariantCulture));
            }

            Tables.Write(table, output, indent: "  ");
        }

        if (s.Comparison is { } c)
        {
            WriteComparison(c, output);
        }
    }

    private static void WriteComparison(ReplayComparisonSummary c, TextWriter output)
    {
        output.Write('\n');
        output.Write(Invariant($"Compared with the live decisions recorded from {DecisionFormat.TimeOfMicros(c.StartMicros)}: {c.LiveDecisions:N0} live, {c.Alike:N0} replayed alike (action, weight and phase, in order per gate), {c.SameTime:N0} of them at the same time.\n"));
        foreach (var seeded in c.Seeded)
        {
            output.Write(Invariant($"  Continued gate {seeded.Deployment}/{seeded.CanaryVersion} from the recording's start: {seeded.Phase} at weight {seeded.Weight}, started {DecisionFormat.TimeOfMicros(seeded.StartedMicros)}.\n"));
        }

        foreach (var gate in c.Approximate)
        {
            output.Write($"  Approximate: {gate}.\n");
        }

        foreach (var problem in c.Problems)
        {
            output.Write($"  Not continued: {problem}.\n");
        }

        if (c.FirstDivergence is not { } d)
        {
            output.Write("No divergence: every recorded live decision was replayed alike.\n");
            return;
        }

        output.Write(Invariant($"First divergence: {d.Gate}, decision {d.Index} of the gate, at {DecisionFormat.TimeOfMicros(d.TimeMicros)}") + (d.Unexplained ? " (unexplained by the recording)" : "") + ":\n");
        output.Write("  live:     " + (d.Live is { } live ? DecisionFormat.Human(live) : "no decision") + "\n");
        output.Write("  replayed: " + (d.Replayed is { } replayed ? DecisionFormat.Human(replayed) : "no decision") + "\n");
        output.Write($"  why: {d.Why}.\n");
    }

    /// <summary>One line: <c>{"summary":{...}}</c>, after the decision lines of <c>replay --json</c>.</summary>
    public static void WriteJson(ReplaySummary s, TextWriter output)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("summary");
            json.WriteNumber("messages", s.Messages);
            json.WriteNumber("events", s.Events);
            json.WriteNumber("eventsRecorded", s.EventsAccepted);
            json.WriteNumber("eventsDropped", s.EventsDropped);
            json.WriteNumber("samples", s.Samples);
            json.WriteNumber("samplesRecorded", s.SamplesAccepted);
            json.WriteNumber("samplesDropped", s.SamplesDropped);
            json.WriteNumber("batchesRefused", s.BatchesRefused);
            json.WriteString("firstEventTime", s.FirstMicros == 0 ? null : DecisionFormat.TimeOfMicros(s.FirstMicros));
            json.WriteString("lastEventTime", s.LastMicros == 0 ? null : DecisionFormat.TimeOfMicros(s.LastMicros));
            json.WriteNumber("tickIntervalSeconds", s.TickInterval.TotalSeconds);
            json.WriteStartArray("policies");
            foreach (var p in s.Policies)
            {
                json.WriteStartObject();
                json.WriteString("name", p.Name);
                json.WriteString("revision", p.Revision);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteNumber("decisions", s.Decisions);
            json.WriteNumber("decisionsAfterTraffic", s.DecisionsAfterTraffic);
            json.WriteStartObject("decisionsByAction");
            foreach (var (action, count) in s.DecisionsByAction)
            {
                json.WriteNumber(WireNames.ProtoName(WireEnums.ToWire(action)), count);
            }

            json.WriteEndObject();
            json.WriteStartArray("gates");
            foreach (var g in s.Gates)
            {
                json.WriteStartObject();
                json.WriteString("gate", g.Id);
                json.WriteString("deployment", g.Deployment);
                json.WriteString("baselineVersion", g.BaselineVersion);
                json.WriteString("canaryVersion", g.CanaryVersion);
                json.WriteString("policy", g.Policy);
                json.WriteString("startedTime", DecisionFormat.TimeOfMicros(g.StartedMicros));
                json.WriteNumber("decisions", g.Decisions);
                json.WriteString("phase", WireNames.ProtoName(WireEnums.ToWire(g.Phase)));
                json.WriteNumber("weight", g.Weight);
                if (g.FirstStopAction is { } action)
                {
                    json.WriteString("firstStopAction", WireNames.ProtoName(WireEnums.ToWire(action)));
                    json.WriteNumber("firstStopAfterSeconds", g.FirstStopAfter!.Value.TotalSeconds);
                }
                else
                {
                    json.WriteNull("firstStopAction");
                    json.WriteNull("firstStopAfterSeconds");
                }

                json.WriteNumber("insufficientEvidenceSeconds", g.InsufficientEvidence.TotalSeconds);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("firingRules");
            foreach (var r in s.FiringRules)
            {
                json.WriteStartObject();
                json.WriteString("policy", r.Policy);
                json.WriteString("rule", r.Rule);
                json.WriteNumber("decisions", r.FiringDecisions);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            if (s.Comparison is { } c)
            {
                WriteComparison(c, json);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        output.Write(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        output.Write('\n');
    }

    private static void WriteComparison(ReplayComparisonSummary c, Utf8JsonWriter json)
    {
        json.WriteStartObject("comparison");
        json.WriteString("from", DecisionFormat.TimeOfMicros(c.StartMicros));
        json.WriteNumber("liveDecisions", c.LiveDecisions);
        json.WriteNumber("alike", c.Alike);
        json.WriteNumber("sameTime", c.SameTime);
        json.WriteStartArray("continuedGates");
        foreach (var seeded in c.Seeded)
        {
            json.WriteStringValue($"{seeded.Deployment}/{seeded.CanaryVersion}");
        }

        json.WriteEndArray();
        json.WriteStartArray("approximate");
        foreach (var gate in c.Approximate)
        {
            json.WriteStringValue(gate);
        }

        json.WriteEndArray();
        json.WriteStartArray("problems");
        foreach (var problem in c.Problems)
        {
            json.WriteStringValue(problem);
        }

        json.WriteEndArray();
        if (c.FirstDivergence is { } d)
        {
            json.WriteStartObject("firstDivergence");
            json.WriteString("gate", d.Gate);
            json.WriteNumber("index", d.Index);
            json.WriteString("time", DecisionFormat.TimeOfMicros(d.TimeMicros));
            json.WriteBoolean("unexplained", d.Unexplained);
            json.WriteString("exactFrom", d.ExactFromMicros is { } exact ? DecisionFormat.TimeOfMicros(exact) : null);
            json.WriteString("live", d.Live is { } live ? DecisionFormat.Human(live) : null);
            json.WriteString("replayed", d.Replayed is { } replayed ? DecisionFormat.Human(replayed) : null);
            json.WriteString("why", d.Why);
            json.WriteEndObject();
        }
        else
        {
            json.WriteNull("firstDivergence");
        }

        json.WriteEndObject();
    }

    private static string Name(DecisionAction action) => WireNames.Label(action);

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
