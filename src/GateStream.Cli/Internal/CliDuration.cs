using System.Globalization;
using System.Text;

namespace GateStream.Cli.Internal;

/// <summary>Durations as people type them on a command line: <c>250ms</c>, <c>30s</c>, <c>10m</c>, <c>1h30m</c>, <c>14d</c>.</summary>
internal static class CliDuration
{
    /// <summary>Parses a positive duration; false (with the reason) for anything else.</summary>
    public static bool TryParse(string? text, out TimeSpan value, out string problem)
    {
        value = TimeSpan.Zero;
        problem = "";
        if (string.IsNullOrWhiteSpace(text))
        {
            problem = "a duration is required, e.g. 30s, 10m, 1h, 14d";
            return false;
        }

        var span = text.AsSpan().Trim();
        var total = 0.0;
        while (!span.IsEmpty)
        {
            var digits = 0;
            while (digits < span.Length && (char.IsAsciiDigit(span[digits]) || span[digits] == '.'))
            {
                digits++;
            }

            var letters = digits;
            while (letters < span.Length && char.IsAsciiLetter(span[letters]))
            {
                letters++;
            }

            if (digits == 0 || letters == digits
                || !double.TryParse(span[..digits], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                problem = $"'{text}' is not a duration: use a number and a unit (ms, s, m, h, d), e.g. 30s, 10m, 1h30m, 14d";
                return false;
            }

            double? unit = span[digits..letters] switch
            {
                "ms" => 1e-3,
                "s" => 1,
                "m" => 60,
                "h" => 3600,
                "d" => 86400,
                _ => null,
            };
            if (unit is null)
            {
                problem = $"'{text}': unknown unit '{span[digits..letters].ToString()}' (use ms, s, m, h or d)";
                return false;
            }

            total += number * unit.Value;
            span = span[letters..];
        }

        if (total <= 0 || total > TimeSpan.MaxValue.TotalSeconds / 2)
        {
            problem = $"'{text}' must be a positive duration";
            return false;
        }

        value = TimeSpan.FromSeconds(total);
        return true;
    }

    /// <summary>Compact, culture-invariant: <c>250ms</c>, <c>1.5s</c>, <c>2m 30s</c>, <c>1h 5m</c>, <c>3d 4h</c>.</summary>
    public static string Format(TimeSpan span)
    {
        if (span < TimeSpan.Zero)
        {
            return "-" + Format(-span);
        }

        if (span < TimeSpan.FromSeconds(1))
        {
            return span.TotalMilliseconds.ToString("0.###", CultureInfo.InvariantCulture) + "ms";
        }

        if (span < TimeSpan.FromMinutes(1))
        {
            return span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture) + "s";
        }

        var text = new StringBuilder();
        Append(text, span.Days, "d");
        Append(text, span.Hours, "h");
        Append(text, span.Minutes, "m");
        if (span < TimeSpan.FromHours(1))
        {
            Append(text, span.Seconds, "s");
        }

        return text.ToString();
    }

    private static void Append(StringBuilder text, int value, string unit)
    {
        if (value == 0)
        {
            return;
        }

        if (text.Length > 0)
        {
            text.Append(' ');
        }

        text.Append(value.ToString(CultureInfo.InvariantCulture)).Append(unit);
    }
}
