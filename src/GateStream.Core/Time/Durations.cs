using System.Globalization;
using System.Text;

namespace GateStream.Core.Time;

/// <summary>
/// Go-style durations as Flagger and Kubernetes users write them (<c>30s</c>, <c>2m30s</c>, <c>1h</c>, <c>500ms</c>,
/// <c>1.5h</c>), plus <c>d</c> for days, which SLO periods need (<c>30d</c>). The one duration syntax of the
/// product: policy files, command-line options and every message that prints a duration.
/// </summary>
public static class Durations
{
    public const string Syntax = "a number followed by a unit (ns, us, ms, s, m, h, d), e.g. 30s, 2m30s, 1h, 500ms";

    public static bool TryParse(string text, out TimeSpan value, out string error)
    {
        value = TimeSpan.Zero;
        error = "";
        var s = text.Trim();
        if (s.Length == 0)
        {
            error = "is empty";
            return false;
        }

        if (s is "0")
        {
            return true;
        }

        if (s[0] is '-' or '+')
        {
            if (s[0] == '-')
            {
                error = "is negative";
                return false;
            }

            s = s[1..];
        }

        decimal ticks = 0;
        var i = 0;
        while (i < s.Length)
        {
            var numberStart = i;
            while (i < s.Length && (char.IsAsciiDigit(s[i]) || s[i] == '.'))
            {
                i++;
            }

            if (i == numberStart || !decimal.TryParse(s.AsSpan(numberStart, i - numberStart), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
            {
                error = $"is not a duration: expected {Syntax}";
                return false;
            }

            var unitStart = i;
            while (i < s.Length && !char.IsAsciiDigit(s[i]) && s[i] != '.')
            {
                i++;
            }

            var unit = s[unitStart..i];
            decimal? perUnit = unit switch
            {
                "ns" => 0.01m,
                "us" or "\u00b5s" or "\u03bcs" => TimeSpan.TicksPerMicrosecond,
                "ms" => TimeSpan.TicksPerMillisecond,
                "s" => TimeSpan.TicksPerSecond,
                "m" => TimeSpan.TicksPerMinute,
                "h" => TimeSpan.TicksPerHour,
                "d" => TimeSpan.TicksPerDay,
                _ => null,
            };
            if (perUnit is null)
            {
                error = unit.Length == 0
                    ? $"has no unit: write e.g. {number.ToString(CultureInfo.InvariantCulture)}s"
                    : $"has an unknown unit '{unit}': expected {Syntax}";
                return false;
            }

            ticks += number * perUnit.Value;
            if (ticks > TimeSpan.MaxValue.Ticks)
            {
                error = "is too long";
                return false;
            }
        }

        value = TimeSpan.FromTicks((long)decimal.Round(ticks));
        return true;
    }

    /// <summary>As <see cref="TryParse"/>, and the duration must be above zero (intervals, timeouts, limits).</summary>
    public static bool TryParsePositive(string? text, out TimeSpan value, out string error)
    {
        if (!TryParse(text ?? "", out value, out error))
        {
            return false;
        }

        if (value > TimeSpan.Zero)
        {
            return true;
        }

        error = "must be above zero";
        return false;
    }

    /// <summary>The shortest Go-style spelling, for messages: <c>1h30m</c>, <c>45s</c>, <c>500ms</c>, <c>30d</c>.</summary>
    public static string Format(TimeSpan value)
    {
        if (value == TimeSpan.Zero)
        {
            return "0s";
        }

        var sb = new StringBuilder();
        if (value < TimeSpan.Zero)
        {
            sb.Append('-');
            value = value.Duration();
        }

        if (value < TimeSpan.FromSeconds(1))
        {
            sb.Append(CultureInfo.InvariantCulture, $"{(decimal)value.Ticks / TimeSpan.TicksPerMillisecond:0.###}ms");
            return sb.ToString();
        }

        if (value < TimeSpan.FromMinutes(1))
        {
            sb.Append(CultureInfo.InvariantCulture, $"{(decimal)value.Ticks / TimeSpan.TicksPerSecond:0.###}s");
            return sb.ToString();
        }

        // Days only for whole days from two up (SLO periods: 30d); 24h and 36h read better in hours.
        var wholeDays = value.Ticks % TimeSpan.TicksPerDay == 0 && value.Days >= 2;
        if (wholeDays)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{value.Days}d");
        }
        else if ((long)value.TotalHours > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{(long)value.TotalHours}h");
        }

        if (value.Minutes > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{value.Minutes}m");
        }

        if (value.Seconds > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{value.Seconds}s");
        }

        var subSecond = value.Ticks % TimeSpan.TicksPerSecond;
        if (subSecond > 0)
        {
            var ms = (decimal)subSecond / TimeSpan.TicksPerMillisecond;
            sb.Append(CultureInfo.InvariantCulture, $"{ms:0.####}ms");
        }

        return sb.ToString();
    }
}
