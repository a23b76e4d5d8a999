using Spectre.Console;

namespace GateStream.Cli.Internal;

/// <summary>
/// Spectre.Console consoles over the command's writers: colour and live redraws only on a terminal and never with
/// <c>NO_COLOR</c> set (https://no-color.org); plain text of unlimited width everywhere, so a pipe gets whole lines.
/// </summary>
internal static class Terminal
{
    /// <summary>Whether <paramref name="writer"/> is this process's stdout or stderr and that stream is a terminal.</summary>
    public static bool IsTerminal(TextWriter writer) =>
        (ReferenceEquals(writer, Console.Out) && !Console.IsOutputRedirected)
        || (ReferenceEquals(writer, Console.Error) && !Console.IsErrorRedirected);

    public static bool ColourWanted => string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NO_COLOR"));

    public static IAnsiConsole For(TextWriter writer)
    {
        var terminal = IsTerminal(writer);
        var colour = terminal && ColourWanted;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = colour ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = terminal ? InteractionSupport.Detect : InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        // Tables are never cut to the window: a terminal wraps a long line, as it does kubectl's (a live display sets
        // the real width back, see GatesCommand).
        console.Profile.Width = 4096;
        return console;
    }
}
