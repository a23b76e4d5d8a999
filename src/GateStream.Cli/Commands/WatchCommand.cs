using System.CommandLine;
using System.Globalization;
using GateStream.Cli.Internal;
using GateStream.Client;

namespace GateStream.Cli.Commands;

/// <summary><c>gatestream watch</c>: decisions as they are taken; with <c>--exec</c>, the simplest controller.</summary>
internal static class WatchCommand
{
    public const string Examples = """
          gatestream watch                                       decisions from now on, one line each
          gatestream watch --deployment checkout --json          one deployment's decisions as JSON lines
          gatestream watch --from start --json > decisions.jsonl every retained decision, then live ones
          gatestream watch --from 1200                           every decision after #1200 (resume), then live ones
          gatestream watch --deployment checkout \
            --exec 'kubectl argo rollouts set weight checkout "$GATESTREAM_WEIGHT"'
        """;

    public static Command Create()
    {
        var server = CommonOptions.Server();
        var gates = new Option<string[]>("--gate") { Description = "Only decisions about this gate id (repeatable).", HelpName = "id" };
        var deployments = new Option<string[]>("--deployment") { Description = "Only decisions about gates of this deployment (repeatable).", HelpName = "name" };
        var from = new Option<ulong?>("--from")
        {
            Description = "Start after this decision sequence (replayed from the daemon's log, then live), or 'start' (or 0) for the whole retained log. Default: from now on.",
            HelpName = "seq|start",
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
                if (text == "start")
                {
                    return 0;
                }

                if (ulong.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var sequence))
                {
                    return sequence;
                }

                result.AddError($"--from: '{text}' is neither a decision sequence number nor 'start'");
                return null;
            },
        };
        var json = CommonOptions.Json("One JSON object (gatestream.v1.Decision, protobuf JSON) per line instead of text.");
        var output = CommonOptions.Output(OutputFormat.Text, OutputFormat.Json, OutputFormat.Yaml);
        var exec = new Option<string?>("--exec")
        {
            Description = "Run this command (/bin/sh -c) for each decision, one at a time, with GATESTREAM_* variables set and the decision as JSON on stdin.",
            HelpName = "command",
        };
        var shadow = new Option<bool>("--include-shadow") { Description = "Also shadow decisions (controllers must not act on them)." };
        var count = CommonOptions.Count("--count", "Exit after this many decisions.");
        var command = new Command("watch", "Print decisions as they are taken; resumes after disconnects without missing or repeating one.")
        {
            server,
            gates,
            deployments,
            from,
            output,
            json,
            exec,
            shadow,
            count,
        };
        command.SetGuardedAction(async (parse, io, cancellationToken) =>
        {
            var format = CommonOptions.FormatOf(parse, output, json, OutputFormat.Text);
            // No --from: from now on (the watcher anchors at ListGates' last_sequence); --from 0 / start: the whole log.
            var after = parse.GetValue(from);
            var filter = new DecisionFilter { IncludeShadow = parse.GetValue(shadow), FromSequence = after ?? 0, FromStart = after == 0 };
            foreach (var gate in parse.GetValue(gates) ?? [])
            {
                filter.Gates.Add(gate);
            }

            foreach (var deployment in parse.GetValue(deployments) ?? [])
            {
                filter.Deployments.Add(deployment);
            }

            using var connection = DaemonConnection.Open(parse.GetValue(server)!);
            var execute = parse.GetValue(exec);
            var remaining = parse.GetValue(count) ?? int.MaxValue;
            await foreach (var decision in connection.WatchAsync(filter, message => io.Status("gatestream watch: " + message), announceLive: true, cancellationToken).ConfigureAwait(false))
            {
                switch (format)
                {
                    case OutputFormat.Json:
                        io.Line(DecisionFormat.Json.Format(decision));
                        break;
                    case OutputFormat.Yaml:
                        io.Out.Write("---\n" + OutputFormats.Yaml(decision));
                        break;
                    default:
                        DecisionFormat.WriteHuman(decision, io);
                        break;
                }

                io.Out.Flush();
                if (execute is not null)
                {
                    var exit = await DecisionExec.RunAsync(execute, decision, cancellationToken).ConfigureAwait(false);
                    if (exit != 0)
                    {
                        io.Status(string.Create(CultureInfo.InvariantCulture,
                            $"gatestream watch: --exec exited with {exit} for decision #{decision.Sequence} ({decision.Gate} {DecisionFormat.ActionName(decision.Action)} {decision.Weight}); continuing."));
                    }
                }

                if (--remaining == 0)
                {
                    break;
                }
            }

            return ExitCodes.Success;
        });
        return command;
    }
}
