using System.CommandLine;
using System.Globalization;
using GateStream.Cli.Internal;
using GateStream.Client;
using GateStream.Core.Time;
using GateStream.Wire;
using Grpc.Core;
using Spectre.Console;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Commands;

/// <summary>
/// <c>gatestream describe GATE</c>: one gate in full (DecisionService.GetGate): versions, phase, weight, every rule with
/// its bound and current value, the latest decision's evidence, and its last decisions from the log.
/// </summary>
internal static class DescribeCommand
{
    public const string Examples = """
          gatestream describe demo-api/v2-0                 rules, bounds, current values, last decisions
          gatestream describe checkout/v2 --decisions 50    more of the gate's history
          gatestream describe checkout/v2 -o yaml           the gatestream.v1.Gate message, with its rules' evidence
        """;

    /// <summary>Reading the gate's decisions stops if nothing arrives for this long (a decision no longer retained).</summary>
    private static readonly TimeSpan IdleLimit = TimeSpan.FromSeconds(10);

    public static Command Create()
    {
        var server = CommonOptions.Server();
        var gate = new Argument<string>("gate") { Description = "The gate's id, as 'gatestream gates' lists it (deployment/canaryVersion)." };
        var count = CommonOptions.Count("--decisions", "How many of the gate's latest decisions to show. [default: 10]");
        var output = CommonOptions.Output(OutputFormat.Text, OutputFormat.Json, OutputFormat.Yaml);
        var command = new Command("describe", "Show one gate: versions, phase, weight, each rule with its bound and current value, the latest evidence and decisions.")
        {
            gate,
            server,
            count,
            output,
        };
        command.SetGuardedAction(async (parse, io, cancellationToken) =>
        {
            var format = CommonOptions.FormatOf(parse, output, null, OutputFormat.Text);
            using var connection = DaemonConnection.Open(parse.GetValue(server)!);
            var id = parse.GetValue(gate)!;
            V1.Gate state;
            try
            {
                state = await connection.Decisions.GetGateAsync(new V1.GetGateRequest { Gate = id }, deadline: DaemonConnection.Deadline, cancellationToken: cancellationToken);
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
            {
                throw new CliException($"no gate '{id}' on {connection.Server} ('gatestream gates --all' lists them) (NOT_FOUND)");
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw connection.Describe(e, "get gate");
            }

            switch (format)
            {
                case OutputFormat.Json:
                    io.Line(DecisionFormat.Json.Format(state));
                    return ExitCodes.Success;
                case OutputFormat.Yaml:
                    io.Out.Write(OutputFormats.Yaml(state));
                    return ExitCodes.Success;
            }

            var decisions = await LastDecisionsAsync(connection, state, parse.GetValue(count) ?? 10, io, cancellationToken).ConfigureAwait(false);
            Write(state, decisions, DateTimeOffset.UtcNow, io);
            return ExitCodes.Success;
        });
        return command;
    }

    internal static void Write(V1.Gate g, IReadOnlyList<V1.Decision> decisions, DateTimeOffset now, CommandIO io)
    {
        var console = io.Console;
        var fields = new Grid().AddColumn(new GridColumn().NoWrap().PadRight(2)).AddColumn();
        void Field(string name, Spectre.Console.Rendering.IRenderable value) => fields.AddRow(new Text(name + ":"), value);
        Field("Gate", new Text(g.Id));
        Field("Deployment", new Text($"{g.Deployment}: baseline {g.BaselineVersion}, canary {g.CanaryVersion}"));
        Field("Policy", new Text($"{g.Policy} (revision {(g.PolicyRevision.Length == 0 ? "-" : g.PolicyRevision)}, {(g.Mode == V1.GateMode.Shadow ? "shadow: controllers ignore its decisions" : "enforce")})"));
        Field("Phase", new Text(DecisionFormat.PhaseName(g.Phase) + (g.LastDecisionTime is null ? "" : $" since decision #{g.LastDecisionSequence}, {DecisionFormat.Ago(g.LastDecisionTime.ToDateTimeOffset(), now)}"), GatesCommand.PhaseStyle(g.Phase)));
        Field("Weight", new Text(g.Weight.ToString(CultureInfo.InvariantCulture) + (g.HasObservedShare ? string.Create(CultureInfo.InvariantCulture, $" (observed share {g.ObservedShare:0.#}%)") : " (no traffic observed)")));
        Field("Started", new Text(g.StartedTime is null ? "?" : $"{DecisionFormat.Time(g.StartedTime)} by {(g.StartedBy.Length == 0 ? "?" : g.StartedBy)}, {DecisionFormat.Ago(g.StartedTime.ToDateTimeOffset(), now)}"));
        Field("Ownership", new Text(WireNames.Label(g.Ownership)));
        if (g.Suppressions.Count > 0)
        {
            Field("Suppressed", new Text(string.Join("; ", g.Suppressions.Select(s => $"{s.Rule} until {DecisionFormat.Time(s.Until)} by {s.Actor}: {s.Reason}"))));
        }

        Tables.Write(fields, io.Out, io.Console);
        io.Line("");
        if (g.Rules.Count == 0)
        {
            io.Line("Rules: not evaluated yet.");
        }
        else
        {
            io.Line("Rules (at the latest evaluation):");
            var table = Tables.Create("RULE", "SIGNAL", "STATUS", "ACTION", "CANARY", "BOUND", "BASELINE", "WINDOW", "SAMPLES", "TEST");
            foreach (var e in g.Rules)
            {
                table.AddRow(
                    new Text(e.Rule),
                    new Text(e.Signal),
                    new Text(WireNames.Label(e.Status), StatusStyle(e.Status)),
                    new Text(WireNames.Label(e.Action)),
                    new Text(e.HasObserved ? Number(e.Observed, e.Unit) : "-"),
                    new Text(e.HasThreshold ? (e.Bound == V1.Bound.Lower ? "< " : "> ") + Number(e.Threshold, e.Unit) : "-"),
                    new Text(e.HasBaseline ? Number(e.Baseline, e.Unit) : "-"),
                    new Text(e.Window is null ? "-" : Durations.Format(e.Window.ToTimeSpan())),
                    new Text(string.Create(CultureInfo.InvariantCulture, $"{e.Samples:N0}") + (e.MinSamples > 0 ? string.Create(CultureInfo.InvariantCulture, $" (min {e.MinSamples:N0})") : "")),
                    new Text(e.HasPValue ? string.Create(CultureInfo.InvariantCulture, $"p={e.PValue:0.####}") : e.HasConfidence ? string.Create(CultureInfo.InvariantCulture, $"conf {e.Confidence:0.###}") : "-"));
            }

            Tables.Write(table, io.Out, console, indent: io.OutIsTerminal ? "" : "  ");
        }

        io.Line("");
        if (g.LastDecision is { } last)
        {
            io.Line("Latest decision:");
            io.Line("  " + DecisionFormat.Human(last));
            foreach (var e in last.Evidence.Where(e => e.Comparison.Length > 0))
            {
                io.Line($"    {e.Rule}: {e.Comparison}");
            }
        }
        else
        {
            io.Line("Latest decision: none yet.");
        }

        if (decisions.Count > 1)
        {
            io.Line("");
            io.Line($"Decisions (the last {Plural.Of(decisions.Count, "decision")}, oldest first):");
            foreach (var d in decisions)
            {
                io.Line("  " + DecisionFormat.Human(d));
            }
        }
    }

    private static Style StatusStyle(V1.RuleStatus status) => status switch
    {
        V1.RuleStatus.Firing => new Style(Color.Red),
        V1.RuleStatus.Pending => new Style(Color.Yellow),
        V1.RuleStatus.Passing => new Style(Color.Green),
        _ => Style.Plain,
    };

    private static string Number(double value, string unit) =>
        value.ToString("G4", CultureInfo.InvariantCulture) + (unit.Length == 0 || unit == "ratio" ? "" : unit == "%" ? "%" : " " + unit);

    /// <summary>The gate's last <paramref name="count"/> decisions, read from the log up to its latest one.</summary>
    private static async Task<List<V1.Decision>> LastDecisionsAsync(DaemonConnection connection, V1.Gate gate, int count, CommandIO io, CancellationToken cancellationToken)
    {
        var decisions = new Queue<V1.Decision>();
        if (gate.LastDecisionSequence == 0)
        {
            return [];
        }

        var filter = new DecisionFilter { IncludeShadow = true, FromStart = true };
        filter.Gates.Add(gate.Id);
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(IdleLimit);
        try
        {
            await foreach (var decision in connection.WatchAsync(filter, message => io.Status("gatestream describe: " + message), announceLive: false, idle.Token).ConfigureAwait(false))
            {
                idle.CancelAfter(IdleLimit);
                decisions.Enqueue(decision);
                if (decisions.Count > count)
                {
                    decisions.Dequeue();
                }

                if (decision.Sequence >= gate.LastDecisionSequence)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (idle.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            io.Status($"gatestream describe: warning: the log stopped before decision #{gate.LastDecisionSequence}; showing what was read.");
        }

        return [.. decisions];
    }
}
