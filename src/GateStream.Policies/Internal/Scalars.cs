using GateStream.Core.Time;
using System.Globalization;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace GateStream.Policies.Internal;

/// <summary>
/// Typed reads of YAML nodes. Each reports its own problem (with the node's position and the field's path) and
/// returns false, so callers just skip the field. Numbers and booleans must be written unquoted, as Kubernetes
/// requires: a quoted "0.5" is a string, and accepting it would hide a mistake in a generated file.
/// </summary>
internal static class Scalars
{
    private const string StrTag = "tag:yaml.org,2002:str";

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: null or "" or "~" or "null" or "Null" or "NULL" } scalar
        && !IsExplicitString(scalar);

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s when IsNull(s) => "nothing (null)",
        YamlScalarNode s when s.Style is ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted || IsExplicitString(s) => $"the quoted string \"{ProblemSink.Token(s.Value)}\"",
        YamlScalarNode s => $"'{ProblemSink.Token(s.Value)}'",
        _ => "an unsupported YAML node",
    };

    /// <summary>What kind of node this is, without any of its text.</summary>
    public static string DescribeKind(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s when IsNull(s) => "nothing (null)",
        YamlScalarNode => "a single text value",
        _ => "an unsupported YAML node",
    };

    public static bool TryString(YamlNode node, string path, ProblemSink problems, out string value)
    {
        value = "";
        if (node is YamlScalarNode { Value: { } text } && !IsNull(node))
        {
            value = text;
            return true;
        }

        problems.Error(node, $"{path} must be a string, got {Describe(node)}.");
        return false;
    }

    public static bool TryNumber(YamlNode node, string path, ProblemSink problems, out double value)
    {
        value = 0;
        if (Plain(node) is { } text
            && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value)
            && double.IsFinite(value))
        {
            return true;
        }

        problems.Error(node, $"{path} must be a number, got {Describe(node)}{QuotedHint(node)}.");
        return false;
    }

    public static bool TryInteger(YamlNode node, string path, ProblemSink problems, out long value)
    {
        value = 0;
        if (Plain(node) is { } text && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value))
        {
            return true;
        }

        problems.Error(node, $"{path} must be a whole number, got {Describe(node)}{QuotedHint(node)}.");
        return false;
    }

    public static bool TryInteger(YamlNode node, string path, ProblemSink problems, int min, int max, out int value)
    {
        value = 0;
        if (!TryInteger(node, path, problems, out var wide))
        {
            return false;
        }

        if (wide < min || wide > max)
        {
            problems.Error(node, $"{path} must be between {min} and {max}, got {wide}.");
            return false;
        }

        value = (int)wide;
        return true;
    }

    public static bool TryBool(YamlNode node, string path, ProblemSink problems, out bool value)
    {
        value = false;
        switch (Plain(node))
        {
            case "true" or "True" or "TRUE":
                value = true;
                return true;
            case "false" or "False" or "FALSE":
                return true;
            default:
                problems.Error(node, $"{path} must be true or false, got {Describe(node)}{QuotedHint(node)}.");
                return false;
        }
    }

    public static bool TryDuration(YamlNode node, string path, ProblemSink problems, out TimeSpan value)
    {
        value = TimeSpan.Zero;
        if (node is not YamlScalarNode { Value: { } text } || IsNull(node))
        {
            problems.Error(node, $"{path} must be a duration ({Durations.Syntax}), got {Describe(node)}.");
            return false;
        }

        if (!Durations.TryParse(text, out value, out var error))
        {
            problems.Error(node, $"{path} '{text}' {error}.");
            return false;
        }

        return true;
    }

    /// <summary>A duration that must be above zero and at most <paramref name="max"/>.</summary>
    public static bool TryPositiveDuration(YamlNode node, string path, ProblemSink problems, TimeSpan max, out TimeSpan value)
    {
        if (!TryDuration(node, path, problems, out value))
        {
            return false;
        }

        if (value <= TimeSpan.Zero)
        {
            problems.Error(node, $"{path} must be longer than zero.");
            return false;
        }

        if (value > max)
        {
            problems.Error(node, $"{path} {((YamlScalarNode)node).Value} is longer than the {Durations.Format(max)} maximum.");
            return false;
        }

        return true;
    }

    /// <summary>One of a fixed set of words; a near miss gets a "did you mean".</summary>
    public static bool TryChoice<T>(YamlNode node, string path, ProblemSink problems, IReadOnlyList<(string Name, T Value)> choices, out T value)
    {
        value = default!;
        if (!TryString(node, path, problems, out var text))
        {
            return false;
        }

        foreach (var (name, choice) in choices)
        {
            if (string.Equals(name, text, StringComparison.Ordinal))
            {
                value = choice;
                return true;
            }
        }

        var names = choices.Select(c => c.Name).ToList();
        problems.Error(node, $"{path} must be one of {string.Join(", ", names)}, got '{text}'{Suggestions.DidYouMean(text, names)}");
        return false;
    }

    /// <summary>A number for messages: shortest form, with arithmetic noise (0.9990000000000001) rounded away.</summary>
    public static string Fmt(double value) =>
        double.Parse(value.ToString("G12", CultureInfo.InvariantCulture), CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture);

    /// <summary>The text of an unquoted, untagged scalar: the only kind that can be a number or a boolean.</summary>
    private static string? Plain(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.Plain or ScalarStyle.Any, Value: { } text } scalar && !IsExplicitString(scalar) ? text : null;

    private static bool IsExplicitString(YamlScalarNode node) => !node.Tag.IsEmpty && !node.Tag.IsNonSpecific && node.Tag.Value == StrTag;

    private static string QuotedHint(YamlNode node) =>
        node is YamlScalarNode { Style: ScalarStyle.SingleQuoted or ScalarStyle.DoubleQuoted } ? " (remove the quotes)" : "";
}
