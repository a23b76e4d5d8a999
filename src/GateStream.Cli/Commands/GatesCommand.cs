using GateStream.Core.Time;
using System.CommandLine;
using System.Globalization;
using GateStream.Cli.Internal;
using GateStream.Client;
using Grpc.Core;
using Spectre.Console;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Commands;

/// <summary><c>gatestream gates</c>: the daemon's gates (DecisionService.ListGates) as a table, JSON or YAML; redrawn with <c>--watch</c>.</summary>
internal static class GatesCommand
{
    public const string Examples = """
          gatestream gates                               gates whose rollout is under way
          gatestream gates --all -o wide                 also those that succeeded or were rolled back, with more columns
          gatestream gates --deployment checkout -o json one deployment's gates as a JSON array
          gatestream gates --watch                       the table redrawn as decisions arrive (Ctrl+C to stop)
        """;

    /// <summary>How often <c>--watch</c> redraws when no decision arrives (ages and observed shares move on their own).</summary>
    private static readonly TimeSpan WatchRefresh = TimeSpan.FromSeconds(2);

    public static Command Create()
    {
        var server = CommonOptions.Server();
        var json = CommonOptions.Json("Print a JSON array of gatestream.v1.Gate objects (protobuf JSON) instead of a table.");
        var output = CommonOptions.Output(OutputFormat.Table, OutputFormat.Wide, OutputFormat.Json, OutputFormat.Yaml);
        var all = new Option<bool>("--all") { Description = "Include finished gates (succeeded or rolled back) the daemon still holds." };
        var deployments = new Option<string[]>("--deployment") { Description = "Only gates of this deployment (repeatable).", HelpName = "name" };
        var watch = new Option<bool>("--watch", "-w") { Description = "Keep the table up to date: redrawn in place on a terminal as decisions arrive, else printed again after each change." };
        var command = new Command("gates", "List gates: deployment, versions, phase, weight, last decision and firing rules.")
        {
            server,
            output,
            json,
            all,
            deployments,
            watch,
        };
        command.SetGuardedAction(async (parse, io, cancellationToken) =>
        {
            var format = CommonOptions.FormatOf(parse, output, json, OutputFormat.Table);
            var watching = parse.GetValue(watch);
            if (watching && format is OutputFormat.Json or OutputFormat.Yaml)
            {
                throw new UsageException("--watch draws a table: use it with -o table or -o wide ('gatestream watch -o json' streams decisions)");
            }

            using var connection = DaemonConnection.Open(parse.GetValue(server)!);
            var request = new V1.ListGatesRequest { IncludeFinished = parse.GetValue(all) };
            request.Deployments.Add(parse.GetValue(deployments) ?? []);
            if (watching)
            {
                await WatchAsync(connection, request, format == OutputFormat.Wide, io, cancellationToken).ConfigureAwait(false);
                return ExitCodes.Success;
            }

            var response = await ListAsync(connection, request, cancellationToken).ConfigureAwait(false);
            switch (format)
            {
                case OutputFormat.Json:
                    WriteJson(response.Gates, io);
                    break;
                case OutputFormat.Yaml:
                    io.Out.Write(response.Gates.Count == 0 ? "[]\n" : OutputFormats.Yaml(response.Gates));
                    break;
                default:
                    WriteTable(response, parse.GetValue(all), format == OutputFormat.Wide, DateTimeOffset.UtcNow, io);
                    break;
            }

            return ExitCodes.Success;
        });
        return command;
    }

    private static async Task<V1.ListGatesResponse> ListAsync(DaemonConnection connection, V1.ListGatesRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await connection.Decisions.ListGatesAsync(request, deadline: DaemonConnection.Deadline, cancellationToken: cancellationToken);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw connection.Describe(e, "list gates");
        }
    }

    internal static void WriteJson(IReadOnlyList<V1.Gate> gates, CommandIO io)
    {
        if (gates.Count == 0)
        {
            io.Line("[]");
            return;
        }

        io.Line("[");
        for (var i = 0; i < gates.Count; i++)
        {
            io.Line("  " + DecisionFormat.Json.Format(gates[i]) + (i < gates.Count - 1 ? "," : ""));
        }

        io.Line("]");
    }

    internal static void WriteTable(V1.ListGatesResponse response, bool all, bool wide, DateTimeOffset now, CommandIO io)
    {
        if (response.Gates.Count == 0)
        {
            io.Line(Empty(all));
            return;
        }

        Tables.Write(Table(response, wide, now), io.Out, io.Console);
    }

    private static string Empty(bool all) => all ? "No gates." : "No gate is under way (--all lists finished ones too).";

    internal static Table Table(V1.ListGatesResponse response, bool wide, DateTimeOffset now)
    {
        string[] headers = ["GATE", "DEPLOYMENT", "BASELINE", "CANARY", "POLICY", "PHASE", "WEIGHT", "LAST DECISION", "FIRING"];
        var table = Tables.Create(wide ? [.. headers, "MODE", "AGE", "STARTED BY", "OWNERSHIP", "REVISION"] : headers);
        foreach (var g in response.Gates)
        {
            var phase = DecisionFormat.PhaseName(g.Phase) + (g.Mode == V1.GateMode.Shadow ? " (shadow)" : "");
            var last = g.LastDecisionSequence == 0
                ? "-"
                : string.Create(CultureInfo.InvariantCulture, $"#{g.LastDecisionSequence}, {Ago(g.LastDecisionTime, now)}");
            var firing = g.FiringRules.Count == 0 ? "-" : string.Join(",", g.FiringRules);
            if (g.Suppressions.Count > 0)
            {
                firing += " (suppressed: " + string.Join(",", g.Suppressions.Select(s => s.Rule)) + ")";
            }

            var weight = g.Weight.ToString(CultureInfo.InvariantCulture) + (g.HasObservedShare ? string.Create(CultureInfo.InvariantCulture, $" (observed {g.ObservedShare:0.#}%)") : "");
            var cells = new List<Spectre.Console.Rendering.IRenderable>
            {
                new Text(g.Id), new Text(g.Deployment), new Text(g.BaselineVersion), new Text(g.CanaryVersion), new Text(g.Policy),
                new Text(phase, PhaseStyle(g.Phase)), new Text(weight), new Text(last), new Text(firing, g.FiringRules.Count > 0 ? new Style(Color.Yellow) : Style.Plain),
            };
            if (wide)
            {
                cells.Add(new Text(g.Mode == V1.GateMode.Shadow ? "shadow" : "enforce"));
                cells.Add(new Text(g.StartedTime is null ? "?" : Durations.Format(TimeSpan.FromSeconds(Math.Max(0, Math.Floor((now - g.StartedTime.ToDateTimeOffset()).TotalSeconds))))));
                cells.Add(new Text(g.StartedBy.Length == 0 ? "-" : g.StartedBy));
                cells.Add(new Text(GateStream.Wire.WireNames.Label(g.Ownership)));
                cells.Add(new Text(g.PolicyRevision.Length == 0 ? "-" : g.PolicyRevision));
            }

            table.AddRow(cells);
        }

        return table;
    }

    /// <summary>Colour by phase, as people read a rollout: moving on, waiting on something, stopped, done, undone.</summary>
    internal static Style PhaseStyle(V1.Phase phase) => phase switch
    {
        V1.Phase.Progressing => new Style(Color.Blue),
        V1.Phase.Holding => new Style(Color.Yellow),
        V1.Phase.Paused => new Style(Color.Orange1),
        V1.Phase.Succeeded => new Style(Color.Green),
        V1.Phase.RolledBack => new Style(Color.Red),
        _ => Style.Plain,
    };

    /// <summary>
    /// <c>--watch</c>: the table again each time a decision arrives (the decision stream, resumed after disconnects) and
    /// every <see cref="WatchRefresh"/>; redrawn in place on a terminal (a Spectre live display), else printed again only
    /// when it changed, separated by a blank line.
    /// </summary>
    private static async Task WatchAsync(DaemonConnection connection, V1.ListGatesRequest request, bool wide, CommandIO io, CancellationToken cancellationToken)
    {
        using var changed = new SemaphoreSlim(0);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var filter = new DecisionFilter();
        foreach (var deployment in request.Deployments)
        {
            filter.Deployments.Add(deployment);
        }

        var decisions = Task.Run(async () =>
        {
            await foreach (var _ in connection.WatchAsync(filter, message => io.Status("gatestream gates: " + message), announceLive: false, stop.Token).ConfigureAwait(false))
            {
                changed.Release();
            }
        }, stop.Token);

        async Task<V1.ListGatesResponse> NextAsync(bool first)
        {
            if (!first)
            {
                await changed.WaitAsync(WatchRefresh, stop.Token).ConfigureAwait(false);
                while (changed.CurrentCount > 0)
                {
                    await changed.WaitAsync(stop.Token).ConfigureAwait(false);
                }
            }

            if (decisions.IsFaulted)
            {
                await decisions.ConfigureAwait(false); // the watch's one-line error
            }

            return await ListAsync(connection, request, stop.Token).ConfigureAwait(false);
        }

        try
        {
            if (io.OutIsTerminal)
            {
                var first = await NextAsync(first: true).ConfigureAwait(false);
                // Redrawn in place: the table must fit the window, or the terminal's own wrapping breaks the redraw.
                io.Console.Profile.Width = Math.Max(40, Console.WindowWidth);
                await io.Console.Live(Render(first, request.IncludeFinished, wide)).StartAsync(async live =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        live.UpdateTarget(Render(await NextAsync(first: false).ConfigureAwait(false), request.IncludeFinished, wide));
                        live.Refresh();
                    }
                }).ConfigureAwait(false);
            }
            else
            {
                string? previous = null;
                for (var first = true; !stop.IsCancellationRequested; first = false)
                {
                    var response = await NextAsync(first).ConfigureAwait(false);
                    // Printed again only when a gate changed, not when only the clock moved (ages, "5s ago").
                    var signature = StripClock(response).ToString();
                    if (signature == previous)
                    {
                        continue;
                    }

                    if (previous is not null)
                    {
                        io.Out.Write("\n");
                    }

                    WriteTable(response, request.IncludeFinished, wide, DateTimeOffset.UtcNow, io);
                    io.Out.Flush();
                    previous = signature;
                }
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            try
            {
                await decisions.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    private static Spectre.Console.Rendering.IRenderable Render(V1.ListGatesResponse response, bool all, bool wide) =>
        response.Gates.Count == 0 ? new Text(Empty(all)) : new Rows(Table(response, wide, DateTimeOffset.UtcNow), new Text(""), new Text(
            string.Create(CultureInfo.InvariantCulture, $"{Plural.Of(response.Gates.Count, "gate")}; last decision #{response.LastSequence}; updated {DecisionFormat.Time(DateTimeOffset.UtcNow)} (Ctrl+C to stop)"),
            new Style(decoration: Decoration.Dim)));

    private static V1.ListGatesResponse StripClock(V1.ListGatesResponse response)
    {
        var copy = response.Clone();
        foreach (var gate in copy.Gates)
        {
            gate.LastDecisionTime = null;
            gate.StartedTime = null;
            gate.ClearObservedShare();
        }

        return copy;
    }

    private static string Ago(Google.Protobuf.WellKnownTypes.Timestamp? time, DateTimeOffset now) =>
        time is null ? "?" : DecisionFormat.Ago(time.ToDateTimeOffset(), now);
}
