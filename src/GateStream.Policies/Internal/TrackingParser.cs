using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace GateStream.Policies.Internal;

/// <summary>
/// Wraps YamlDotNet's parser for <see cref="YamlDotNet.RepresentationModel.YamlStream"/>, adding two things the
/// representation model does not give: the source span of every document (for the revision hash), and duplicate
/// mapping keys reported as ordinary problems instead of an exception that would hide every later problem.
/// A duplicate key is renamed with <see cref="DuplicateKeyPrefix"/> so the readers skip it.
/// </summary>
internal sealed class TrackingParser(string text, ProblemSink problems) : IParser
{
    /// <summary>NUL cannot appear in a YAML stream, so no key written by a person starts with it.</summary>
    public const string DuplicateKeyPrefix = "\0duplicate:";

    private readonly Parser _parser = new(new StringReader(text));

    private readonly Stack<Open> _open = new();
    private long _documentStart;
    private int _duplicates;

    /// <summary>
    /// Deepest nesting of mappings and lists read. A policy needs about six levels; YamlDotNet builds nodes
    /// recursively, so a file of a few hundred kilobytes of '[' would otherwise overflow the stack and end the process.
    /// </summary>
    public const int MaxDepth = 64;

    public ParsingEvent? Current { get; private set; }

    /// <summary>Where the last event read ended: the best position for an error the parser gives without one.</summary>
    public Mark LastMark { get; private set; } = Mark.Empty;

    /// <summary>Start and end offsets of each completed document's content, in document order.</summary>
    public List<(long Start, long End)> DocumentSpans { get; } = [];

    /// <summary>
    /// Two shapes YamlDotNet's representation model cannot survive, found by fuzzing: a key that is a list, a mapping
    /// or an alias (keys are hashed, and hashing a node that contains itself through an alias recurses until the
    /// stack overflows), and an alias to a node that is still open (the node would contain itself).
    /// </summary>
    private void CheckNode(ParsingEvent node)
    {
        if (node is AnchorAlias alias && _open.Any(o => o.Anchor == alias.Value))
        {
            throw new YamlException(node.Start, node.End, "an alias refers to a list or mapping that contains it; a policy cannot be recursive.");
        }

        if (!_open.TryPeek(out var parent) || parent.Keys is null)
        {
            return;
        }

        // In a mapping, nodes alternate key, value, key, ...
        var isKey = parent.ExpectKey;
        parent.ExpectKey = !isKey;
        if (isKey && node is not Scalar)
        {
            throw new YamlException(node.Start, node.End, "a mapping key must be a plain value, not a list, a mapping or an alias.");
        }
    }

    public bool MoveNext()
    {
        if (!_parser.MoveNext())
        {
            Current = null;
            return false;
        }

        Current = _parser.Current;
        if (Current is not null)
        {
            LastMark = Current.Start;
        }

        if (Current is Scalar or MappingStart or SequenceStart or AnchorAlias)
        {
            CheckNode(Current);
        }

        switch (Current)
        {
            case DocumentStart start:
                _documentStart = start.End.Index;
                break;
            case DocumentEnd end:
                DocumentSpans.Add((_documentStart, end.Start.Index));
                break;
            case MappingStart or SequenceStart when _open.Count >= MaxDepth:
                throw new YamlException(Current.Start, Current.End, $"mappings and lists are nested more than {MaxDepth} deep; a policy never needs that.");
            case MappingStart mapping:
                _open.Push(new Open(new Dictionary<string, Mark>(StringComparer.Ordinal), mapping.Anchor));
                break;
            case SequenceStart sequence:
                _open.Push(new Open(null, sequence.Anchor));
                break;
            case MappingEnd or SequenceEnd:
                _open.Pop();
                break;
            case Scalar { IsKey: true } key when _open.TryPeek(out var parent) && parent.Keys is { } keys:
                if (!keys.TryAdd(key.Value, key.Start))
                {
                    var first = keys[key.Value];
                    problems.Error(key.Start, $"duplicate key '{key.Value}': it is already set at line {first.Line}, column {first.Column} of this mapping; YAML keys must be unique.");
                    Current = new Scalar(key.Anchor, key.Tag, $"{DuplicateKeyPrefix}{_duplicates++}:{key.Value}", key.Style, key.IsPlainImplicit, key.IsQuotedImplicit, key.Start, key.End, isKey: true);
                }

                break;
        }

        return true;
    }

    /// <summary>An open collection: for a mapping, the keys seen so far (with where each was first written); its anchor, if any.</summary>
    private sealed class Open(Dictionary<string, Mark>? keys, AnchorName anchor)
    {
        public Dictionary<string, Mark>? Keys { get; } = keys;

        public AnchorName Anchor { get; } = anchor;

        public bool ExpectKey { get; set; } = true;
    }
}
