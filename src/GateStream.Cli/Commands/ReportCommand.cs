using System.CommandLine;
using GateStream.Cli.Internal;
using GateStream.Cli.Report;
using GateStream.Client;
using Grpc.Core;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Commands;

/// <summary>
/// <c>gatestream report</c>: policy effectiveness over a period, from the daemon's decision log (read with Watch from
/// the start, up to ListGates' last_sequence taken when the command starts).
/// </summary>
internal static class ReportCommand
{
    public const string Examples = """
          gatestream report                                  the last 14 days, as tables
          gatestream report --since 30d --reversal-window 2h
          gatestream report --json > review.json             for dashboards
          gatestream report --csv > review.csv               long form: metric,deployment,gate,rule,action,value
        """;

    /// <summary>Reading the log stops if nothing arrives for this long (a decision that is no longer retained).</summary>
    private static readonly TimeSpan IdleLimit = TimeSpan.FromSeconds(10);

    public static Command Create()
    {
        var server = CommonOptions.Server();
        var since = CommonOptions.Duration("--since", "The period to report on, back from now, by decision time.", TimeSpan.FromDays(14));
        var window = CommonOptions.Duration("--reversal-window", "An automatic hold, pause or rollback that an operator resumes or promotes within this long counts as reversed.", TimeSpan.FromHours(1));
        var json = CommonOptions.Json("One JSON object instead of tables.", sameAsOutput: false);
        var csv = new Option<bool>("--csv") { Description = "CSV in long form (metric,deployment,gate,rule,action,value) instead of tables." };
        var shadow = new Option<bool>("--include-shadow") { Description = "Count shadow decisions too (to judge a policy running in shadow mode)." };
        var command = new Command("report", "Policy effectiveness from the decision log: decisions per rule and action, likely false positives, time to full promotion, rollbacks per deployment.")
        {
            server,
            since,
            window,
            json,
            csv,
            shadow,
        };
        command.SetGuardedAction(async (parse, io, cancellationToken) =>
        {
            if (parse.GetValue(json) && parse.GetValue(csv))
            {
                throw new UsageException("--json and --csv: choose one");
            }

            using var connection = DaemonConnection.Open(parse.GetValue(server)!);
            var until = DateTimeOffset.UtcNow;
            V1.ListGatesResponse snapshot;
            try
            {
                snapshot = await connection.Decisions.ListGatesAsync(new V1.ListGatesRequest { IncludeFinished = true }, deadline: DaemonConnection.Deadline, cancellationToken: cancellationToken);
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw connection.Describe(e, "list gates");
            }

            var decisions = await ReadLogAsync(connection, snapshot.LastSequence, io, cancellationToken).ConfigureAwait(false);
            var starts = snapshot.Gates.Where(g => g.StartedTime is not null).ToDictionary(g => g.Id, g => g.StartedTime.ToDateTimeOffset(), StringComparer.Ordinal);
            var report = PolicyReportBuilder.Build(decisions, starts, until - since.ValueOf(parse)!.Value, until, window.ValueOf(parse)!.Value, parse.GetValue(shadow));
            if (parse.GetValue(json))
            {
                PolicyReportWriter.WriteJson(report, io.Out);
            }
            else if (parse.GetValue(csv))
            {
                PolicyReportWriter.WriteCsv(report, io.Out);
            }
            else
            {
                PolicyReportWriter.WriteText(report, io.Out);
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>Every retained decision up to <paramref name="last"/>, shadow ones included (so the last one is never filtered out).</summary>
    private static async Task<List<V1.Decision>> ReadLogAsync(DaemonConnection connection, ulong last, CommandIO io, CancellationToken cancellationToken)
    {
        var decisions = new List<V1.Decision>();
        if (last == 0)
        {
            return decisions;
        }

        using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        idle.CancelAfter(IdleLimit);
        try
        {
            await foreach (var decision in connection.WatchAsync(new DecisionFilter { IncludeShadow = true, FromStart = true }, message => io.Status("gatestream report: " + message), announceLive: false, idle.Token).ConfigureAwait(false))
            {
                idle.CancelAfter(IdleLimit);
                decisions.Add(decision);
                if (decision.Sequence >= last)
                {
                    break;
                }
            }
        }
        catch (OperationCanceledException) when (idle.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            io.Status($"gatestream report: warning: the log stopped before decision {last}; reporting on the {Plural.Of(decisions.Count, "decision")} read.");
        }

        return decisions;
    }
}
