namespace GateStream.Policies.Internal;

/// <summary>What policy, rule and deployment names may look like.</summary>
internal static class Names
{
    public const int MaxLength = 253;

    public const string NameRule = "letters, digits, '.', '-' and '_', starting and ending with a letter or digit, at most 253 characters";

    /// <summary>Kubernetes-like: the names appear in decisions, logs and URLs, so no spaces or punctuation.</summary>
    public static bool IsValidName(string name)
    {
        if (name.Length is 0 or > MaxLength || !char.IsAsciiLetterOrDigit(name[0]) || !char.IsAsciiLetterOrDigit(name[^1]))
        {
            return false;
        }

        foreach (var c in name)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>A deployment name, or a glob over names with <c>*</c> and <c>?</c>.</summary>
    public static bool IsValidTarget(string target)
    {
        if (target.Length is 0 or > MaxLength)
        {
            return false;
        }

        foreach (var c in target)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '*' or '?'))
            {
                return false;
            }
        }

        return true;
    }
}
