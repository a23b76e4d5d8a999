using System.CommandLine;
using GateStream.Cli.Internal;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Commands;

/// <summary><c>gatestream override</c>: a person's intervention on a gate (ControlService.Override), printed as the decision it made.</summary>
internal static class OverrideCommand
{
    public const string Examples = """
          gatestream override checkout/v2 pause --reason "checking the new cache by hand"
          gatestream override checkout/v2 resume --reason "cache is fine"
          gatestream override checkout/v2 hold --for 30m --reason "freeze during the sale"
          gatestream override checkout/v2 suppress latency-p99 --for 30m --reason "known slow dependency"
          gatestream override checkout/v2 promote-full --reason "verified by hand" --token-file ~/.gatestream-token
          gatestream override checkout/v2 rollback --reason "customer reports" --json
        """;

    private static readonly Dictionary<string, V1.OverrideKind> Kinds = new(StringComparer.Ordinal)
    {
        ["promote"] = V1.OverrideKind.Promote,
        ["promote-full"] = V1.OverrideKind.PromoteFull,
        ["hold"] = V1.OverrideKind.Hold,
        ["pause"] = V1.OverrideKind.Pause,
        ["resume"] = V1.OverrideKind.Resume,
        ["rollback"] = V1.OverrideKind.Rollback,
        ["suppress"] = V1.OverrideKind.SuppressRule,
    };

    public static Command Create()
    {
        var server = CommonOptions.Server();
        var tokenFile = CommonOptions.TokenFile();
        var gate = new Argument<string>("gate") { Description = "The gate's id, as 'gatestream gates' lists it (deployment/canaryVersion)." };
        var kind = new Argument<string>("action") { Description = "promote (one step), promote-full, hold, pause, resume, rollback or suppress (a rule, for a while)." };
        kind.AcceptOnlyFromAmong([.. Kinds.Keys]);
        kind.HelpName = "action";
        var rule = new Argument<string?>("rule") { Description = "suppress only: the rule's name as the policy names it.", Arity = ArgumentArity.ZeroOrOne };
        var duration = CommonOptions.Duration("--for", "suppress: how long (required); hold: the hold's minimum length (default: the policy's releaseAfter).");
        var reason = new Option<string>("--reason") { Description = "Why, in a sentence; recorded in the decision log.", Required = true, HelpName = "text" };
        var json = CommonOptions.Json("Print the resulting decision as JSON (gatestream.v1.Decision) instead of a line of text.");
        var output = CommonOptions.Output(OutputFormat.Text, OutputFormat.Json, OutputFormat.Yaml);
        var command = new Command("override", "Intervene on a gate: the override is a decision like any other, logged and published; prints it.")
        {
            gate,
            kind,
            rule,
            server,
            tokenFile,
            duration,
            reason,
            output,
            json,
        };
        command.SetGuardedAction(async (parse, io, cancellationToken) =>
        {
            var format = CommonOptions.FormatOf(parse, output, json, OutputFormat.Text);
            var request = new V1.OverrideRequest
            {
                Gate = parse.GetValue(gate)!,
                Kind = Kinds[parse.GetValue(kind)!],
                Rule = parse.GetValue(rule) ?? "",
                Reason = parse.GetValue(reason)!,
            };
            var span = duration.ValueOf(parse);
            Check(request, span);
            if (span is { } value)
            {
                request.Duration = Duration.FromTimeSpan(value);
            }

            var bearer = DaemonConnection.BearerFrom(parse.GetValue(tokenFile));
            using var connection = DaemonConnection.Open(parse.GetValue(server)!);
            V1.Decision decision;
            try
            {
                decision = await connection.Control.OverrideAsync(request, bearer, DaemonConnection.Deadline, cancellationToken);
            }
            catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw connection.Describe(e, $"{parse.GetValue(kind)} {request.Gate}");
            }

            switch (format)
            {
                case OutputFormat.Json:
                    io.Line(DecisionFormat.Json.Format(decision));
                    break;
                case OutputFormat.Yaml:
                    io.Out.Write(OutputFormats.Yaml(decision));
                    break;
                default:
                    DecisionFormat.WriteHuman(decision, io);
                    break;
            }

            return ExitCodes.Success;
        });
        return command;
    }

    /// <summary>What the daemon would refuse with INVALID_ARGUMENT, said before asking it.</summary>
    private static void Check(V1.OverrideRequest request, TimeSpan? duration)
    {
        if (string.IsNullOrWhiteSpace(request.Reason))
        {
            throw new UsageException("--reason must say why (it is recorded in the decision log)");
        }

        if (request.Kind == V1.OverrideKind.SuppressRule)
        {
            if (request.Rule.Length == 0)
            {
                throw new UsageException("suppress needs the rule's name: gatestream override GATE suppress RULE --for 30m --reason \"...\"");
            }

            if (duration is null)
            {
                throw new UsageException("suppress needs --for (how long the rule is suppressed, e.g. --for 30m)");
            }
        }
        else if (request.Rule.Length > 0)
        {
            throw new UsageException($"only suppress takes a rule name ('{request.Rule}' was given)");
        }
        else if (duration is not null && request.Kind != V1.OverrideKind.Hold)
        {
            throw new UsageException("--for applies to suppress and hold only");
        }
    }
}
