using Spectre.Console;
using Spectre.Console.Rendering;

namespace GateStream.Cli.Internal;

/// <summary>
/// kubectl-style tables through Spectre.Console: no borders, left-aligned columns two spaces apart, no wrapping. On a
/// terminal they may carry colour; written anywhere else they are plain text with no trailing spaces.
/// </summary>
internal static class Tables
{
    public static Table Create(params string[] headers)
    {
        var table = new Table().Border(TableBorder.None).NoSafeBorder();
        table.ShowRowSeparators = false;
        foreach (var header in headers)
        {
            table.AddColumn(new TableColumn(new Text(header)).NoWrap().PadLeft(0).PadRight(2));
        }

        return table;
    }

    /// <summary>A row of plain cells (no markup is interpreted).</summary>
    public static void AddCells(this Table table, params string[] cells) => table.AddRow(cells.Select(c => (IRenderable)new Text(c)));

    /// <summary>Writes <paramref name="table"/> (or a grid) to <paramref name="console"/> when it is a terminal, else as plain lines to <paramref name="output"/>.</summary>
    public static void Write(IRenderable table, TextWriter output, IAnsiConsole? console = null, string indent = "")
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(output);
        if (console is not null && Terminal.IsTerminal(output) && indent.Length == 0)
        {
            console.Write(table);
            return;
        }

        using var text = new StringWriter();
        var plain = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(text),
        });
        plain.Profile.Width = 4096;
        plain.Write(table);
        foreach (var line in text.ToString().Split('\n'))
        {
            var trimmed = line.TrimEnd();
            if (trimmed.Length > 0)
            {
                output.Write(indent + trimmed + "\n");
            }
        }
    }
}
