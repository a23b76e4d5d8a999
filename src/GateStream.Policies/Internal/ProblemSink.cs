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

    /// <summary>Every message is a sentence, whichever helper composed it.</summary>
    private static string Sentence(string message) => message.EndsWith('.') || message.EndsWith('?') ? message : message + ".";
}
