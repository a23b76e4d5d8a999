using System.CommandLine;
using GateStream.Cli.Internal;
using Spectre.Console;

namespace GateStream.Cli.Commands;

/// <summary>
/// Runs a command's body and turns what can go wrong into one line on stderr (<c>gatestream NAME: message</c>) and
/// an exit code. Ctrl+C (SIGINT) and SIGTERM cancel the token; a command that stops cleanly on it exits 0.
/// </summary>
internal static class CommandGuard
{
    public static void SetGuardedAction(this Command command, Func<ParseResult, CommandIO, CancellationToken, Task<int>> body)
    {
        ArgumentNullException.ThrowIfNull(command);
        command.SetAction(async (parse, cancellationToken) =>
        {
            var io = new CommandIO(parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
            try
            {
                return await body(parse, io, cancellationToken).ConfigureAwait(false);
            }
            catch (CliException e)
            {
                io.Fail(command.Name, e.Message);
                return e.ExitCode;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return ExitCodes.Success;
            }
        });
    }
}

/// <summary>Where a command writes: results on <see cref="Out"/>, progress and problems on <see cref="Error"/>.</summary>
internal sealed class CommandIO(TextWriter output, TextWriter error)
{
    private IAnsiConsole? _console;
    private IAnsiConsole? _errorConsole;

    public TextWriter Out { get; } = output;

    public TextWriter Error { get; } = error;

    /// <summary>Tables and colour on <see cref="Out"/> (plain text when it is not a terminal).</summary>
    public IAnsiConsole Console => _console ??= Terminal.For(Out);

    /// <summary>Progress on <see cref="Error"/>.</summary>
    public IAnsiConsole ErrorConsole => _errorConsole ??= Terminal.For(Error);

    /// <summary>True when stdout is a terminal: tables may be redrawn in place there.</summary>
    public bool OutIsTerminal => Terminal.IsTerminal(Out);

    /// <summary>True when stderr is the console's and a terminal: progress bars and status lines may be drawn there.</summary>
    public bool ErrorIsTerminal => Terminal.IsTerminal(Error);

    /// <summary>
    /// A progress bar goes to stderr only when stderr is a terminal and stdout is not: on one terminal the output's
    /// lines and the bar would draw over each other (curl's rule for its progress meter).
    /// </summary>
    public bool ShowProgress => ErrorIsTerminal && !OutIsTerminal;

    /// <summary>While a progress display runs on stderr, status lines go through it so they print above the bar.</summary>
    public bool ProgressActive { get; set; }

    /// <summary>One line of output, written in one piece (stdout may be a pipe another program reads line by line).</summary>
    public void Line(string text) => Out.Write(text + "\n");

    public void Status(string text)
    {
        if (ProgressActive)
        {
            ErrorConsole.WriteLine(text);
            return;
        }

        Error.Write(text + "\n");
        Error.Flush();
    }

    public void Fail(string command, string message) => Status($"gatestream {command}: {message}");
}
