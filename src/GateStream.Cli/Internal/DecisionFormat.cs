using System.Globalization;
using GateStream.Core.Gates;
using GateStream.Core.Policies;
using GateStream.Core.Time;
using GateStream.Wire;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using GateStream.Cli.Commands;
using Spectre.Console;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Internal;

/// <summary>
/// How decisions and gates are shown: one human line per decision, or protobuf's JSON mapping (one object per line)
/// for scripts. Live decisions (watch) and replayed ones (replay) go through the same code, so the two compare.
/// </summary>
internal static class DecisionFormat
{
    /// <summary>Protobuf JSON with default values written: a rollback's <c>"weight": 0</c> is not left out.</summary>
    public static JsonFormatter Json { get; } = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    /// <summary><c>#12 2025-11-26T10:00:01.250Z checkout/v2 PROMOTE 50 Progressing: Every rule passed for 1s; weight 25 -> 50.</c></summary>
    public static string Human(V1.Decision d)
    {
        ArgumentNullException.ThrowIfNull(d);
        var shadow = d.Shadow ? " [shadow]" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"#{d.Sequence} {Time(d.Time)} {d.Gate} {ActionName(d.Action)} {d.Weight} {PhaseName(d.Phase)}{shadow}: {d.Reason}");
    }

    /// <summary>
    /// The <see cref="Human"/> line, its action and phase in colour when stdout is a terminal (the text is the same).
    /// </summary>
    public static void WriteHuman(V1.Decision d, CommandIO io)
    {
        ArgumentNullException.ThrowIfNull(d);
        ArgumentNullException.ThrowIfNull(io);
        if (!io.OutIsTerminal || !Terminal.ColourWanted)
        {
            io.Line(Human(d));
            return;
        }

        var style = d.Action switch
        {
            V1.Action.Rollback => "red",
            V1.Action.Pause => "darkorange",
            V1.Action.Hold => "yellow",
            V1.Action.Promote or V1.Action.Resume => "green",
            _ => "default",
        };
        var shadow = d.Shadow ? " [dim][[shadow]][/]" : "";
        io.Console.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"[dim]#{d.Sequence} {Time(d.Time)}[/] [bold]{Markup.Escape(d.Gate)}[/] [{style}]{ActionName(d.Action)} {d.Weight}[/] {PhaseName(d.Phase)}{shadow}: {Markup.Escape(d.Reason)}"));
    }

    /// <summary><c>PROMOTE</c>, <c>ROLLBACK</c>.</summary>
    public static string ActionName(V1.Action action) => WireNames.Label(action);

    /// <summary><c>Progressing</c>, <c>RolledBack</c>.</summary>
    public static string PhaseName(V1.Phase phase) => WireNames.Title(phase);

    /// <summary>ISO 8601 UTC with milliseconds; "-" when absent.</summary>
    public static string Time(Timestamp? time) => time is null ? "-" : Time(time.ToDateTimeOffset());

    public static string Time(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary><c>just now</c>, <c>12s ago</c>, <c>3m20s ago</c>: whole seconds.</summary>
    public static string Ago(DateTimeOffset time, DateTimeOffset now)
    {
        var elapsed = now - time;
        return elapsed < TimeSpan.FromSeconds(1) ? "just now" : Durations.Format(TimeSpan.FromSeconds(Math.Floor(elapsed.TotalSeconds))) + " ago";
    }

    public static string TimeOfMicros(long micros) => Time(EventTime.ToDateTimeOffset(micros));
}
