using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace GateStream.Policies.Internal;

/// <summary>Collects the problems of one file. Reading never stops at the first one.</summary>
internal sealed class ProblemSink(string file)
{
    private readonly List<PolicyProblem> _problems = [];

    public string File { get; } = file;

    public int ErrorCount { get; private set; }

    public IReadOnlyList<PolicyProblem> Problems => _problems;

    public void Error(Mark at, string message) => Add(at, message, ProblemSeverity.Error);

    public void Error(YamlNode node, string message) => Add(node.Start, message, ProblemSeverity.Error);

    public void Warning(Mark at, string message) => Add(at, message, ProblemSeverity.Warning);

    public void Warning(YamlNode node, string message) => Add(node.Start, message, ProblemSeverity.Warning);

    /// <summary>A problem about the file as a whole, reported at 0:0.</summary>
    public void FileError(string message)
    {
        ErrorCount++;
        _problems.Add(new PolicyProblem(File, 0, 0, Sentence(message), ProblemSeverity.Error));
    }

    public void FileWarning(string message) => _problems.Add(new PolicyProblem(File, 0, 0, Sentence(message), ProblemSeverity.Warning));

    private void Add(Mark at, string message, ProblemSeverity severity)
    {
        if (severity == ProblemSeverity.Error)
        {
            ErrorCount++;
        }

        _problems.Add(new PolicyProblem(File, (int)at.Line, (int)at.Column, Sentence(message), severity));
    }

    /// <summary>Longest piece of a file's text a message quotes: enough to recognise a token, never a file's content.</summary>
    public const int MaxTokenChars = 64;

    /// <summary>Longest message; a backstop for messages that quote several tokens.</summary>
    public const int MaxMessageChars = 512;

    /// <summary>
    /// A piece of the file's text as a message may quote it: control characters escaped (a newline in a value cannot
    /// start a forged log line) and clipped to <see cref="MaxTokenChars"/>.
    /// </summary>
    public static string Token(string? text) => Clip(text ?? "", MaxTokenChars);

    /// <summary>Text escaped like <see cref="Token"/> and clipped to <paramref name="max"/> characters.</summary>
    public static string Clip(string text, int max = MaxMessageChars)
    {
        if (text.Length <= max && !text.AsSpan().ContainsAny(LineBreaking))
        {
            return text;
        }

        // The limit counts the escaped form: a value of control characters grows six-fold when escaped.
        var builder = new System.Text.StringBuilder(max + 8);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            var next = c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when IsLineBreaking(c) => $"\\u{(int)c:x4}",
                _ when char.IsHighSurrogate(c) && i + 1 < text.Length => text.Substring(i, 2),
                _ => null,
            };
            if (builder.Length + (next?.Length ?? 1) > max)
            {
                return builder.Append('…').ToString();
            }

            if (next is null)
            {
                builder.Append(c);
            }
            else
            {
                builder.Append(next);
                i += next.Length == 2 && char.IsHighSurrogate(c) ? 1 : 0;
            }
        }

        return builder.ToString();
    }

    private static readonly System.Buffers.SearchValues<char> LineBreaking = System.Buffers.SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Select(i => (char)i), .. Enumerable.Range(0x7F, 0x21).Select(i => (char)i), '\u2028', '\u2029']);

    private static bool IsLineBreaking(char c) => char.IsControl(c) || c is '\u2028' or '\u2029';

    /// <summary>Every message is a sentence, whichever helper composed it, escaped and clipped.</summary>
    private static string Sentence(string message)
    {
        message = Clip(message);
        return message.EndsWith('.') || message.EndsWith('?') || message.EndsWith('…') ? message : message + ".";
    }
}
