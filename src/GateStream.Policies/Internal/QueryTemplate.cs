using System.Text;

namespace GateStream.Policies.Internal;

/// <summary>
/// Renders a Flagger query template the way Flagger does (Go <c>text/template</c> with <c>missingkey=error</c> and one
/// function per model field): <c>{{ name }}</c>, <c>{{ namespace }}</c>, <c>{{ target }}</c>, <c>{{ service }}</c>,
/// <c>{{ ingress }}</c>, <c>{{ route }}</c>, <c>{{ interval }}</c>, <c>{{ variables.KEY }}</c>, with the <c>{{-</c> /
/// <c>-}}</c> trim markers and comments. Any other action is refused with the reason, at load time, where Flagger would
/// fail the check at run time. Runs of white space are then collapsed to one space, as Flagger does before sending.
/// </summary>
internal static class QueryTemplate
{
    public static readonly string[] Functions = ["name", "namespace", "target", "service", "ingress", "route", "interval", "variables"];

    public static bool TryRender(string template, QueryNames names, string interval, IReadOnlyDictionary<string, string> variables, out string query, out string error)
    {
        var output = new StringBuilder(template.Length);
        var at = 0;
        query = "";
        while (at < template.Length)
        {
            var open = template.IndexOf("{{", at, StringComparison.Ordinal);
            if (open < 0)
            {
                output.Append(template, at, template.Length - at);
                break;
            }

            var close = template.IndexOf("}}", open + 2, StringComparison.Ordinal);
            if (close < 0)
            {
                error = $"unclosed action at offset {open}: '{{{{' without '}}}}'.";
                return false;
            }

            var body = template[(open + 2)..close];
            output.Append(template, at, open - at);
            if (body.StartsWith("- ", StringComparison.Ordinal) || body == "-")
            {
                TrimEnd(output);
                body = body[1..];
            }

            var trimAfter = body.EndsWith(" -", StringComparison.Ordinal);
            if (trimAfter)
            {
                body = body[..^2];
            }

            at = close + 2;
            if (trimAfter)
            {
                while (at < template.Length && char.IsWhiteSpace(template[at]))
                {
                    at++;
                }
            }

            var action = body.Trim();
            if (action.StartsWith("/*", StringComparison.Ordinal) && action.EndsWith("*/", StringComparison.Ordinal))
            {
                continue;
            }

            if (!TryEvaluate(action, names, interval, variables, out var value, out error))
            {
                return false;
            }

            output.Append(value);
        }

        query = Collapse(output.ToString());
        error = "";
        return true;
    }

    private static bool TryEvaluate(string action, QueryNames names, string interval, IReadOnlyDictionary<string, string> variables, out string value, out string error)
    {
        error = "";
        value = action switch
        {
            "name" => names.Name,
            "namespace" => names.Namespace,
            "target" => names.Target,
            "service" => names.Service,
            "ingress" => names.Ingress,
            "route" => names.Route,
            "interval" => interval,
            _ => null!,
        };
        if (value is not null)
        {
            return true;
        }

        const string prefix = "variables.";
        if (action.StartsWith(prefix, StringComparison.Ordinal) && action.Length > prefix.Length && action.IndexOfAny([' ', '.', '|', '('], prefix.Length) < 0)
        {
            var key = action[prefix.Length..];
            if (variables.TryGetValue(key, out value!))
            {
                return true;
            }

            error = $"'{{{{ {action} }}}}' has no value: templateVariables has no '{key}'{(variables.Count == 0 ? "" : $" (it has {string.Join(", ", variables.Keys.Order(StringComparer.Ordinal))})")}.";
            return false;
        }

        var word = action.Split([' ', '.', '|', '('], 2)[0];
        error = word.Length > 0 && char.IsAsciiLetter(word[0]) && !Functions.Contains(word)
            ? $"'{{{{ {ProblemSink.Token(action)} }}}}': function '{ProblemSink.Token(word)}' is not defined; Flagger's query variables are {string.Join(", ", Functions)} (variables.NAME)."
            : $"'{{{{ {ProblemSink.Token(action)} }}}}' is not one of Flagger's query variables ({string.Join(", ", Functions)}, variables.NAME); GateStream renders those only.";
        return false;
    }

    private static void TrimEnd(StringBuilder text)
    {
        var end = text.Length;
        while (end > 0 && char.IsWhiteSpace(text[end - 1]))
        {
            end--;
        }

        text.Length = end;
    }

    /// <summary>Runs of white space (space, tab, CR, LF, FF) become one space, as Flagger's Prometheus provider sends a query.</summary>
    public static string Collapse(string query)
    {
        var output = new StringBuilder(query.Length);
        var inSpace = false;
        foreach (var c in query)
        {
            if (c is ' ' or '\t' or '\r' or '\n' or '\f')
            {
                if (!inSpace)
                {
                    output.Append(' ');
                }

                inSpace = true;
                continue;
            }

            inSpace = false;
            output.Append(c);
        }

        return output.ToString();
    }
}
