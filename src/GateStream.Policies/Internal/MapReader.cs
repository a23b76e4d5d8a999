using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace GateStream.Policies.Internal;

/// <summary>
/// Reads one YAML mapping field by field. Every key a reader asks for is "declared"; <see cref="Finish"/> then
/// reports each key that was written but never declared, with a "did you mean" among the declared ones.
/// </summary>
internal sealed class MapReader
{
    private readonly YamlMappingNode _map;
    private readonly List<string> _declared = [];
    private readonly Mark _anchor;

    public MapReader(YamlMappingNode map, string path, ProblemSink problems, Mark? anchor = null)
    {
        _map = map;
        Path = path;
        Problems = problems;
        _anchor = anchor ?? map.Start;
    }

    /// <summary>Dotted path of this mapping in the document, for messages (<c>spec.analysis</c>).</summary>
    public string Path { get; }

    public ProblemSink Problems { get; }

    /// <summary>Where this mapping is: the key that holds it, for problems about keys it lacks.</summary>
    public Mark Anchor => _anchor;

    public string PathOf(string key) => Path.Length == 0 ? key : $"{Path}.{key}";

    /// <summary>Whether the key is written at all (even with no value).</summary>
    public bool Has(string key) => KeyNode(key) is not null;

    /// <summary>The value of <paramref name="key"/>, or null when it is absent or written as null (Kubernetes: unset).</summary>
    public YamlNode? Node(string key)
    {
        Declare(key);
        foreach (var (k, v) in _map.Children)
        {
            if (k is YamlScalarNode { Value: { } name } && string.Equals(name, key, StringComparison.Ordinal))
            {
                return Scalars.IsNull(v) ? null : v;
            }
        }

        return null;
    }

    public YamlNode? KeyNode(string key)
    {
        foreach (var k in _map.Children.Keys)
        {
            if (k is YamlScalarNode { Value: { } name } && string.Equals(name, key, StringComparison.Ordinal))
            {
                return k;
            }
        }

        return null;
    }

    /// <summary>The position of a key's value, else of the key, else of this mapping: where a problem about it belongs.</summary>
    public Mark At(string key) => Node(key)?.Start ?? KeyNode(key)?.Start ?? _anchor;

    /// <summary>The value, or a problem ("is required" / "has no value") and null.</summary>
    public YamlNode? Required(string key, string? why = null)
    {
        var node = Node(key);
        if (node is null)
        {
            var suffix = why is null ? "." : $": {why}.";
            if (KeyNode(key) is { } written)
            {
                Problems.Error(written, $"{PathOf(key)} has no value{suffix}");
            }
            else
            {
                Problems.Error(_anchor, $"{PathOf(key)} is required{suffix}");
            }
        }

        return node;
    }

    /// <summary>A field GateStream accepts but does not act on: a warning saying what is ignored and why.</summary>
    public void Ignore(string key, string why)
    {
        Declare(key);
        if (KeyNode(key) is { } written)
        {
            Problems.Warning(written, $"{PathOf(key)} is ignored: {why}.");
        }
    }

    /// <summary>Keys that are allowed and deliberately not read (e.g. Kubernetes labels).</summary>
    public void Allow(params ReadOnlySpan<string> keys)
    {
        foreach (var key in keys)
        {
            Declare(key);
        }
    }

    public string? String(string key, bool required = false)
    {
        var node = required ? Required(key) : Node(key);
        return node is not null && Scalars.TryString(node, PathOf(key), Problems, out var value) ? value : null;
    }

    public double? Number(string key, bool required = false)
    {
        var node = required ? Required(key) : Node(key);
        return node is not null && Scalars.TryNumber(node, PathOf(key), Problems, out var value) ? value : null;
    }

    public int? Integer(string key, int min, int max, bool required = false)
    {
        var node = required ? Required(key) : Node(key);
        return node is not null && Scalars.TryInteger(node, PathOf(key), Problems, min, max, out var value) ? value : null;
    }

    public long? Long(string key, long min)
    {
        var node = Node(key);
        if (node is null || !Scalars.TryInteger(node, PathOf(key), Problems, out var value))
        {
            return null;
        }

        if (value < min)
        {
            Problems.Error(node, $"{PathOf(key)} must be at least {min}, got {value}.");
            return null;
        }

        return value;
    }

    public bool? Bool(string key)
    {
        var node = Node(key);
        return node is not null && Scalars.TryBool(node, PathOf(key), Problems, out var value) ? value : null;
    }

    /// <summary>A duration above zero and at most <paramref name="max"/>.</summary>
    public TimeSpan? Duration(string key, TimeSpan max, bool required = false)
    {
        var node = required ? Required(key) : Node(key);
        return node is not null && Scalars.TryPositiveDuration(node, PathOf(key), Problems, max, out var value) ? value : null;
    }

    public T? Choice<T>(string key, IReadOnlyList<(string Name, T Value)> choices)
        where T : struct
    {
        var node = Node(key);
        return node is not null && Scalars.TryChoice(node, PathOf(key), Problems, choices, out var value) ? value : null;
    }

    /// <summary>A nested mapping as its own reader, or null (with a problem when it is required or not a mapping).</summary>
    public MapReader? Map(string key, bool required = false, string? why = null)
    {
        var node = required ? Required(key, why) : Node(key);
        switch (node)
        {
            case null:
                return null;
            case YamlMappingNode map:
                return new MapReader(map, PathOf(key), Problems, KeyNode(key)?.Start);
            default:
                Problems.Error(node, $"{PathOf(key)} must be a mapping (key: value lines), got {Scalars.Describe(node)}.");
                return null;
        }
    }

    public YamlSequenceNode? List(string key, bool required = false, string? why = null)
    {
        var node = required ? Required(key, why) : Node(key);
        switch (node)
        {
            case null:
                return null;
            case YamlSequenceNode list:
                return list;
            default:
                Problems.Error(node, $"{PathOf(key)} must be a list ('- ' items), got {Scalars.Describe(node)}.");
                return null;
        }
    }

    /// <summary>A mapping of strings to strings (labels, webhook metadata).</summary>
    public IReadOnlyDictionary<string, string>? StringMap(string key)
    {
        var map = Map(key);
        if (map is null)
        {
            return null;
        }

        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (k, v) in map._map.Children)
        {
            if (k is not YamlScalarNode { Value: { } name } || name.StartsWith(TrackingParser.DuplicateKeyPrefix, StringComparison.Ordinal))
            {
                continue;
            }

            if (Scalars.TryString(v, map.PathOf(name), Problems, out var value))
            {
                result[name] = value;
            }
        }

        return result;
    }

    /// <summary>Reports every written key that no read declared.</summary>
    public void Finish()
    {
        foreach (var key in _map.Children.Keys)
        {
            if (key is not YamlScalarNode { Value: { } name })
            {
                Problems.Error(key, $"keys in {(Path.Length == 0 ? "a policy" : Path)} must be plain words, got {Scalars.Describe(key)}.");
                continue;
            }

            if (name.StartsWith(TrackingParser.DuplicateKeyPrefix, StringComparison.Ordinal) || _declared.Contains(name))
            {
                continue;
            }

            var where = Path.Length == 0 ? "at the top level" : $"in {Path}";
            var hint = Suggestions.Closest(name, _declared);
            Problems.Error(key, hint is not null
                ? $"unknown key '{name}' {where}; did you mean '{hint}'?"
                : $"unknown key '{name}' {where}; expected one of {string.Join(", ", _declared.Distinct())}.");
        }
    }

    private void Declare(string key)
    {
        if (!_declared.Contains(key))
        {
            _declared.Add(key);
        }
    }
}
