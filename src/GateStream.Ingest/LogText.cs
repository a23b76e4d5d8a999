using System.Globalization;
using System.Text;

namespace GateStream.Ingest;

/// <summary>
/// Makes text that came from a sender (a deployment name, a decoder's message quoting it, a peer address) safe for a
/// log line: control characters and Unicode line separators are escaped (<c>\n</c>, <c>\r</c>, <c>\t</c>,
/// <c>\u2028</c> ...), so a name cannot start a forged line, and the text is cut to a bounded length.
/// </summary>
public static class LogText
{
    /// <summary>Default longest result, in characters, before the "...(N chars)" marker.</summary>
    public const int DefaultMaxChars = 1024;

    /// <summary>The text with every control or line-separator character escaped and at most <paramref name="maxChars"/> characters of it kept.</summary>
    public static string Sanitize(string? text, int maxChars = DefaultMaxChars)
    {
        if (string.IsNullOrEmpty(text))
        {
            return text ?? "";
        }

        if (text.Length <= maxChars && !NeedsEscape(text))
        {
            return text;
        }

        var kept = Math.Min(text.Length, maxChars);
        var builder = new StringBuilder(kept + 16);
        for (var i = 0; i < kept; i++)
        {
            var c = text[i];
            switch (c)
            {
                case '\n':
                    builder.Append("\\n");
                    break;
                case '\r':
                    builder.Append("\\r");
                    break;
                case '\t':
                    builder.Append("\\t");
                    break;
                case '\\':
                    builder.Append("\\\\");
                    break;
                default:
                    if (IsUnsafe(c))
                    {
                        builder.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
                    }
                    else
                    {
                        builder.Append(c);
                    }

                    break;
            }
        }

        if (text.Length > maxChars)
        {
            builder.Append(CultureInfo.InvariantCulture, $"...({text.Length} chars)");
        }

        return builder.ToString();
    }

    private static bool NeedsEscape(string text)
    {
        foreach (var c in text)
        {
            if (c == '\\' || IsUnsafe(c))
            {
                return true;
            }
        }

        return false;
    }

    // Control characters (C0, DEL, C1) and the Unicode line and paragraph separators, which some viewers break on.
    private static bool IsUnsafe(char c) => char.IsControl(c) || c is '\u2028' or '\u2029' or '\u0085';
}
