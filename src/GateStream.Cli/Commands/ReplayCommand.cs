using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using GateStream.Cli.Internal;
using GateStream.Cli.Replay;
using GateStream.Core.Policies;
using GateStream.Policies;

namespace GateStream.Cli.Commands;

/// <summary>
/// <c>gatestream replay</c>: recorded traffic through the daemon's engine on a virtual clock, against a policy:
/// the decisions it would have taken, and a summary. Same file and policy, same bytes out.
/// </summary>
internal static class ReplayCommand
{
    public const string Examples = """
          gatestream replay --events monday.gse --policy policies/            decisions, then a summary
          gatestream replay --events monday.gse --policy stricter.yaml --json JSON lines, the last one {"summary":...}
          gatestream replay --events incident.gse --policy api.yaml --speed realtime
          diff <(gatestream replay --events monday.gse --policy old.yaml) \
               <(gatestream replay --events monday.gse --policy new.yaml)   what a policy change changes
        """;

    public const string KafkaNotBuilt = "kafka sources need the Kafka ingest (not built yet)";

    public static Command Create()
    {
        var events = new Option<string>("--events") { Description = "The events file ('gatestream record' writes it).", Required = true, HelpName = "file" };
        var policy = new Option<string[]>("--policy")
        {
            Description = "Policy file or directory (repeatable), loaded as the daemon loads its policy directory.",
            Required = true,
            HelpName = "file|dir",
        };
        var speed = new Option<double?>("--speed")
        {
            Description = "max (default): as fast as possible; realtime: at the pace the events were recorded; or a factor such as 10x.",
            HelpName = "max|realtime|Nx",
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "max";
                if (text == "max")
                {
                    return null;
                }

                if (text == "realtime")
                {
                    return 1.0;
                }

                if (text.EndsWith('x') && double.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var factor) && factor > 0)
                {
                    return factor;
                }

                result.AddError($"--speed: '{text}' is not max, realtime or a factor such as 10x");
                return null;
            },
        };
        var json = CommonOptions.Json("Decisions as JSON lines (gatestream.v1.Decision, as 'watch --json'), then one {\"summary\": ...} line.");
        var tick = CommonOptions.Duration("--tick-interval", "Evaluation interval, as the daemon's GateStream:Engine:TickInterval.", TimeSpan.FromMilliseconds(250));
        var command = new Command("replay", "Run recorded events through the engine against a policy, on the events' own clock: the decisions it would have taken, and a summary.")
        {
            events,
            policy,
            speed,
            json,
            tick,
        };
        command.SetGuardedAction(async (parse, io, cancellationToken) =>
        {
            var source = parse.GetValue(events)!;
            if (source.StartsWith("kafka://", StringComparison.OrdinalIgnoreCase))
            {
                throw new CliException(KafkaNotBuilt, ExitCodes.NotAvailable);
            }

            var policies = LoadPolicies(parse.GetValue(policy)!, io);
            var options = new ReplayOptions { TickInterval = parse.GetValue(tick) ?? TimeSpan.FromMilliseconds(250) };
            FileStream stream;
            try
            {
                stream = new FileStream(source, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"--events: cannot read {source}: {e.Message}");
            }

            await using (stream.ConfigureAwait(false))
            {
                return await RunAsync(stream, policies, options, parse.GetValue(speed), parse.GetValue(json), io, cancellationToken).ConfigureAwait(false);
            }
        });
        return command;
    }

    internal static async Task<int> RunAsync(Stream events, PolicySet policies, ReplayOptions options, double? speed, bool json, CommandIO io, CancellationToken cancellationToken)
    {
        var engine = new ReplayEngine(policies, options)
        {
            Decided = decision =>
            {
                var proto = DecisionFormat.ToProto(decision);
                io.Line(json ? DecisionFormat.Json.Format(proto) : DecisionFormat.Human(proto));
            },
        };
        var progress = io.ErrorIsTerminal && events.CanSeek ? new ProgressBar(io.Error, events.Length) : null;
        var pace = Stopwatch.StartNew();
        long? firstMicros = null;
        try
        {
            foreach (var message in EventsFile.Read(events))
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (speed is { } factor && ReplayEngine.NewestTime(message) is { } newest)
                {
                    firstMicros ??= newest;
                    var due = TimeSpan.FromTicks((long)((newest - firstMicros.Value) * 10 / factor)) - pace.Elapsed;
                    if (due > TimeSpan.Zero)
                    {
                        await Task.Delay(due, cancellationToken).ConfigureAwait(false);
                    }
                }

                engine.Apply(message);
                progress?.Update(events.CanSeek ? events.Position : 0, engine.Events);
            }
        }
        catch (EventsFileException e) when (e.WholeMessages > 0)
        {
            io.Status($"gatestream replay: warning: {e.Message}; replaying the messages before it.");
        }
        catch (EventsFileException e)
        {
            throw new CliException($"--events: not an events file ('gatestream record' writes them): {e.Message}");
        }
        finally
        {
            progress?.Clear();
        }

        var summary = engine.Finish();
        if (json)
        {
            ReplaySummaryWriter.WriteJson(summary, io.Out);
        }
        else
        {
            ReplaySummaryWriter.WriteText(summary, io.Out);
        }

        return ExitCodes.Success;
    }

    /// <summary>Loads the policies or fails with every error as file:line:column (on stderr: stdout is the replay's).</summary>
    internal static PolicySet LoadPolicies(IReadOnlyList<string> paths, CommandIO io)
    {
        var (files, problems) = PolicyFiles.Expand(paths);
        var result = files.Count > 0 ? PolicyLoader.LoadFiles(files) : null;
        var errors = problems.Where(p => p.Severity == ProblemSeverity.Error).Concat(result?.Errors ?? []).ToList();
        foreach (var problem in errors.Concat(problems.Where(p => p.Severity == ProblemSeverity.Warning)).Concat(result?.Warnings ?? []))
        {
            io.Status(problem.ToString());
        }

        if (errors.Count > 0)
        {
            throw new CliException(string.Create(CultureInfo.InvariantCulture, $"--policy: {errors.Count} error(s); nothing was replayed ('gatestream validate' checks policies)"));
        }

        return result?.Policies ?? throw new CliException($"--policy: no policy file in {string.Join(", ", paths)}");
    }
}
