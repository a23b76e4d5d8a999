using System.Globalization;
using System.Text;
using System.Text.Json;
using GateStream.Cli.Internal;
using GateStream.Core.Time;
using GateStream.Wire;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Report;

/// <summary>A <see cref="PolicyReport"/> as tables for people, one JSON object, or CSV in long form (one value per row).</summary>
internal static class PolicyReportWriter
{
    public static void WriteText(PolicyReport r, TextWriter output)
    {
        void Line(string text = "")
        {
            output.Write(text);
            output.Write('\n');
        }

        Line(Invariant($"Decisions from {DecisionFormat.Time(r.Since)} to {DecisionFormat.Time(r.Until)}: {r.DecisionsInRange:N0} of {r.DecisionsRead:N0} in the log, {Plural.Of(r.Gates, "gate")}."));
        Line();
        var reversal = Durations.Format(r.ReversalWindow);
        if (r.Rules.Count == 0)
        {
            Line("Automatic decisions: none.");
        }
        else
        {
            Line($"Automatic decisions by rule and action (reversed: an operator resumed or promoted the gate within {reversal}, a likely false positive):");
            var table = Tables.Create("RULE", "ACTION", "DECISIONS", "REVERSED");
            foreach (var row in r.Rules)
            {
                table.AddCells(row.Rule, DecisionFormat.ActionName(row.Action), Count(row.Decisions), row.IsStop ? Reversed(row) : "-");
            }

            Tables.Write(table, output, indent: "  ");
        }

        Line();
        if (r.Overrides.Count == 0)
        {
            Line("Overrides: none.");
        }
        else
        {
            Line("Overrides by kind:");
            var table = Tables.Create("KIND", "COUNT");
            foreach (var row in r.Overrides)
            {
                table.AddCells(KindName(row.Kind), Count(row.Count));
            }

            Tables.Write(table, output, indent: "  ");
        }

        Line();
        if (r.Deployments.Count == 0)
        {
            Line("Rollouts: none.");
        }
        else
        {
            Line("Rollouts by deployment:");
            var table = Tables.Create("DEPLOYMENT", "GATES", "FULLY PROMOTED", "ROLLBACKS (AUTO/OVERRIDE)", "TIME TO FULL PROMOTION (MEDIAN/MAX)");
            foreach (var row in r.Deployments)
            {
                table.AddCells(
                    row.Deployment,
                    Count(row.Gates),
                    Count(row.FullPromotions),
                    Invariant($"{row.RollbacksAutomatic + row.RollbacksOverride} ({row.RollbacksAutomatic}/{row.RollbacksOverride})"),
                    row.MedianTimeToFullPromotion is { } median ? $"{Durations.Format(Whole(median))} / {Durations.Format(Whole(row.LongestTimeToFullPromotion!.Value))}" : "-");
            }

            Tables.Write(table, output, indent: "  ");
        }

        if (r.Promotions.Any(p => !p.StartFromGate))
        {
            Line();
            Line("Times to full promotion of gates the daemon no longer holds start at their first logged decision, not the rollout's start.");
        }
    }

    public static void WriteJson(PolicyReport r, TextWriter output)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("since", DecisionFormat.Time(r.Since));
            json.WriteString("until", DecisionFormat.Time(r.Until));
            json.WriteNumber("reversalWindowSeconds", r.ReversalWindow.TotalSeconds);
            json.WriteNumber("decisionsRead", r.DecisionsRead);
            json.WriteNumber("decisionsInRange", r.DecisionsInRange);
            json.WriteNumber("gates", r.Gates);
            json.WriteStartArray("rules");
            foreach (var row in r.Rules)
            {
                json.WriteStartObject();
                json.WriteString("rule", row.Rule);
                json.WriteString("action", EnumName(row.Action));
                json.WriteNumber("decisions", row.Decisions);
                if (row.IsStop)
                {
                    json.WriteNumber("reversed", row.Reversed);
                }
                else
                {
                    json.WriteNull("reversed");
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("overrides");
            foreach (var row in r.Overrides)
            {
                json.WriteStartObject();
                json.WriteString("kind", EnumName(row.Kind));
                json.WriteNumber("count", row.Count);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("deployments");
            foreach (var row in r.Deployments)
            {
                json.WriteStartObject();
                json.WriteString("deployment", row.Deployment);
                json.WriteNumber("gates", row.Gates);
                json.WriteNumber("fullPromotions", row.FullPromotions);
                json.WriteNumber("rollbacksAutomatic", row.RollbacksAutomatic);
                json.WriteNumber("rollbacksOverride", row.RollbacksOverride);
                WriteSeconds(json, "medianSecondsToFullPromotion", row.MedianTimeToFullPromotion);
                WriteSeconds(json, "maxSecondsToFullPromotion", row.LongestTimeToFullPromotion);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteStartArray("promotions");
            foreach (var row in r.Promotions)
            {
                json.WriteStartObject();
                json.WriteString("gate", row.Gate);
                json.WriteString("deployment", row.Deployment);
                json.WriteString("startedTime", DecisionFormat.Time(row.Started));
                json.WriteString("promotedTime", DecisionFormat.Time(row.Promoted));
                json.WriteNumber("seconds", row.Duration.TotalSeconds);
                json.WriteString("startFrom", row.StartFromGate ? "gate" : "firstDecision");
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        output.Write(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
        output.Write('\n');
    }

    /// <summary>Long form: <c>metric,deployment,gate,rule,action,value</c>, one value per row, for spreadsheets and pandas.</summary>
    public static void WriteCsv(PolicyReport r, TextWriter output)
    {
        void Row(string metric, string deployment, string gate, string rule, string action, string value) =>
            output.Write(string.Join(',', new[] { metric, deployment, gate, rule, action, value }.Select(Csv)) + "\n");

        Row("metric", "deployment", "gate", "rule", "action", "value");
        Row("decisions_in_range", "", "", "", "", Number(r.DecisionsInRange));
        Row("gates", "", "", "", "", Number(r.Gates));
        foreach (var row in r.Rules)
        {
            Row("automatic_decisions", "", "", row.Rule, DecisionFormat.ActionName(row.Action), Number(row.Decisions));
            if (row.IsStop)
            {
                Row("reversed_by_override", "", "", row.Rule, DecisionFormat.ActionName(row.Action), Number(row.Reversed));
            }
        }

        foreach (var row in r.Overrides)
        {
            Row("overrides", "", "", "", KindName(row.Kind), Number(row.Count));
        }

        foreach (var row in r.Deployments)
        {
            Row("gates", row.Deployment, "", "", "", Number(row.Gates));
            Row("full_promotions", row.Deployment, "", "", "", Number(row.FullPromotions));
            Row("rollbacks_automatic", row.Deployment, "", "", "", Number(row.RollbacksAutomatic));
            Row("rollbacks_override", row.Deployment, "", "", "", Number(row.RollbacksOverride));
            if (row.MedianTimeToFullPromotion is { } median)
            {
                Row("median_seconds_to_full_promotion", row.Deployment, "", "", "", Seconds(median));
            }
        }

        foreach (var row in r.Promotions)
        {
            Row("seconds_to_full_promotion", row.Deployment, row.Gate, "", "", Seconds(row.Duration));
        }
    }

    private static void WriteSeconds(Utf8JsonWriter json, string name, TimeSpan? value)
    {
        if (value is { } span)
        {
            json.WriteNumber(name, span.TotalSeconds);
        }
        else
        {
            json.WriteNull(name);
        }
    }

    private static string Reversed(RuleActionRow row) => row.Decisions == 0
        ? Count(row.Reversed)
        : Invariant($"{row.Reversed:N0} ({100.0 * row.Reversed / row.Decisions:0}%)");

    private static TimeSpan Whole(TimeSpan span) => TimeSpan.FromSeconds(Math.Round(span.TotalSeconds));

    private static string Count(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    private static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Seconds(TimeSpan span) => span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture);

    private static string KindName(V1.OverrideKind kind) => kind switch
    {
        V1.OverrideKind.Promote => "promote",
        V1.OverrideKind.PromoteFull => "promote-full",
        V1.OverrideKind.Hold => "hold",
        V1.OverrideKind.Pause => "pause",
        V1.OverrideKind.Resume => "resume",
        V1.OverrideKind.Rollback => "rollback",
        V1.OverrideKind.SuppressRule => "suppress",
        _ => "unspecified",
    };

    /// <summary>The wire's enum value name, as protobuf JSON writes it (ACTION_HOLD, OVERRIDE_KIND_RESUME).</summary>
    private static string EnumName<T>(T value)
        where T : struct, Enum => WireNames.ProtoName(value);

    private static string Csv(string field) =>
        field.AsSpan().IndexOfAny(",\"\n\r") >= 0 ? "\"" + field.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"" : field;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
