using GateStream.Core.Time;
using System.CommandLine;
using System.Globalization;
using GateStream.Cli.Internal;
using Grpc.Core;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Commands;

/// <summary><c>gatestream gates</c>: the daemon's gates (DecisionService.ListGates) as a table or JSON.</summary>
internal static class GatesCommand
{
    public const string Examples = """
          gatestream gates                               gates whose rollout is under way
          gatestream gates --all                         also those that succeeded or were rolled back (while the daemon holds them)
          gatestream gates --deployment checkout --json  one deployment's gates as a JSON array
        """;

    public static Command Create()
    {
        var server = CommonOptions.Server();
        var json = CommonOptions.Json("Print a JSON array of gatestream.v1.Gate objects (protobuf JSON) instead of a table.");
        var all = new Option<bool>("--all") { Description = "Include finished gates (succeeded or rolled back) the daemon still holds." };
        var deployments = new Option<string[]>("--deployment") { Description = "Only gates of this deployment (repeatable).", HelpName = "name" };
        var command = new Command("gates", "List gates: deployment, versions, phase, weight, last decision and firing rules.")
        {
            server,
            json,
            all,
            deployments,
        };
        command.SetGuardedAction(async (parse, io, cancellationToken) =>
        {
            using var connection = DaemonConnection.Open(parse.GetValue(server)!);
            var request = new V1.ListGatesRequest { IncludeFinished = parse.GetValue(all) };
            request.Deployments.Add(parse.GetValue(deployments) ?? []);
            V1.ListGatesResponse response;
            try
            {
                response = await connection.Decisions.ListGatesAsync(request, deadline: DaemonConnection.Deadline, cancellationToken: cancellationToken);
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw connection.Describe(e, "list gates");
            }

            if (parse.GetValue(json))
            {
                WriteJson(response.Gates, io);
            }
            else
            {
                WriteTable(response, parse.GetValue(all), DateTimeOffset.UtcNow, io);
            }

            return ExitCodes.Success;
        });
        return command;
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

    internal static void WriteTable(V1.ListGatesResponse response, bool all, DateTimeOffset now, CommandIO io)
    {
        if (response.Gates.Count == 0)
        {
            io.Line(all ? "No gates." : "No gate is under way (--all lists finished ones too).");
            return;
        }

        var table = new TextTable("GATE", "DEPLOYMENT", "BASELINE", "CANARY", "POLICY", "PHASE", "WEIGHT", "LAST DECISION", "FIRING");
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

            table.Add(g.Id, g.Deployment, g.BaselineVersion, g.CanaryVersion, g.Policy, phase,
                g.Weight.ToString(CultureInfo.InvariantCulture) + (g.HasObservedShare ? string.Create(CultureInfo.InvariantCulture, $" (observed {g.ObservedShare:0.#}%)") : ""), last, firing);
        }

        table.WriteTo(io.Out);
    }

    private static string Ago(Google.Protobuf.WellKnownTypes.Timestamp? time, DateTimeOffset now)
    {
        if (time is null)
        {
            return "?";
        }

        var elapsed = now - time.ToDateTimeOffset();
        return elapsed < TimeSpan.FromSeconds(1) ? "just now" : Durations.Format(TimeSpan.FromSeconds(Math.Floor(elapsed.TotalSeconds))) + " ago";
    }
}
