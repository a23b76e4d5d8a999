using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using GateStream.Cli.Commands;
using GateStream.Cli.Internal;

namespace GateStream.Cli;

/// <summary>The <c>gatestream</c> command tree. <see cref="Program"/> only parses and invokes it.</summary>
public static class CliApp
{
    /// <summary>How long a command may take to stop cleanly after Ctrl+C (flush a recording, end a stream).</summary>
    public static readonly TimeSpan StopTimeout = TimeSpan.FromSeconds(5);

    private const string RootExamples = """
          gatestream validate policies/
          gatestream gates --watch
          gatestream describe checkout/v2
          gatestream watch --deployment checkout
          gatestream override checkout/v2 pause --reason "looks wrong" --token-file ~/.gatestream-token
          gatestream record --out today.gse --duration 1h
          gatestream replay --events today.gse --policy policies/
          gatestream report --since 14d
        """;

    public static RootCommand Build()
    {
        var examples = new Dictionary<Command, string>();
        Command With(Command command, string text)
        {
            examples[command] = text;
            return command;
        }

        var root = new RootCommand("""
            gatestream: validate GateStream policies, follow and override the daemon's decisions, record live traffic
            and replay it against a policy, and report on how policies did. Commands that talk to a daemon use its gRPC
            listener (--server host:port or URL, default $GATESTREAM_SERVER or 127.0.0.1:4317); override needs a bearer
            token (--token-file or $GATESTREAM_TOKEN). Errors are one line on stderr: exit code 1 when the command failed,
            2 when the command line is wrong. Colour only on a terminal, never with NO_COLOR set.
            """)
        {
            With(ValidateCommand.Create(), ValidateCommand.Examples),
            With(GatesCommand.Create(), GatesCommand.Examples),
            With(DescribeCommand.Create(), DescribeCommand.Examples),
            With(WatchCommand.Create(), WatchCommand.Examples),
            With(OverrideCommand.Create(), OverrideCommand.Examples),
            With(RecordCommand.Create(), RecordCommand.Examples),
            With(ReplayCommand.Create(), ReplayCommand.Examples),
            With(ReportCommand.Create(), ReportCommand.Examples),
            With(CompletionCommand.Create(), CompletionCommand.Examples),
        };
        examples[root] = RootExamples;
        foreach (var option in root.Options)
        {
            if (option is HelpOption help && help.Action is HelpAction standard)
            {
                help.Action = new HelpWithExamples(standard, examples);
            }
        }

        return root;
    }

    /// <summary>
    /// Parses and runs. Ctrl+C (SIGINT) and SIGTERM cancel the running command's token; a command that does not stop
    /// within <see cref="StopTimeout"/> is abandoned with exit code 130 (143 for SIGTERM).
    /// </summary>
    public static async Task<int> RunAsync(string[] args, InvocationConfiguration? configuration = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        configuration ??= new InvocationConfiguration { ProcessTerminationTimeout = StopTimeout };
        if (args.Length == 0)
        {
            // No command: the overview, as a usage error.
            await Build().Parse(["--help"]).InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        var parse = Build().Parse(args);
        if (parse.Action is ParseErrorAction && parse.Errors.Count > 0)
        {
            // One line, like every other failure, instead of the errors followed by the whole help text.
            var command = parse.CommandResult.Command is RootCommand ? "gatestream" : "gatestream " + parse.CommandResult.Command.Name;
            var problems = parse.Errors.Select(e => string.Join(' ', e.Message.Split(['\n', '\r', '\t'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)).TrimEnd('.'));
            await configuration.Error.WriteAsync($"{command}: {string.Join("; ", problems)} (see '{command} --help').\n").ConfigureAwait(false);
            return ExitCodes.Usage;
        }

        return await parse.InvokeAsync(configuration, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The standard help, then the command's examples.</summary>
    private sealed class HelpWithExamples(HelpAction standard, IReadOnlyDictionary<Command, string> examples) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            var result = standard.Invoke(parseResult);
            if (examples.TryGetValue(parseResult.CommandResult.Command, out var text))
            {
                var output = parseResult.InvocationConfiguration.Output;
                output.Write("Examples:\n");
                output.Write(text.TrimEnd());
                output.Write("\n\n");
            }

            return result;
        }
    }
}
