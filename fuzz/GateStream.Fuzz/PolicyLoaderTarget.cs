using GateStream.Policies;
using GateStream.Policies.Internal;

namespace GateStream.Fuzz;

/// <summary>
/// The policy loader as the daemon drives it, minus the file system: the bytes are decoded as a policy file is
/// (strict UTF-8 or UTF-16 with a BOM) and loaded. Beyond "no exception", it checks what callers rely on.
/// </summary>
internal static class PolicyLoaderTarget
{
    private const string FileName = "fuzz.yaml";

    public static void Run(ReadOnlySpan<byte> input)
    {
        var (text, refusal) = PolicySource.Decode(input);
        if (text is null)
        {
            Check(refusal is not null, "a refused input has a reason");
            return;
        }

        var result = PolicyLoader.LoadText(text, FileName);
        Check(result.Success == (result.Errors.Count == 0), "Success is exactly 'no errors'");
        Check(result.Success == (result.Policies is not null), "a set is returned exactly when there is no error");
        foreach (var problem in result.Errors.Concat(result.Warnings))
        {
            Check(problem.File == FileName, "every problem names the file");
            Check(problem.Line >= 0 && problem.Column >= 0 && (problem.Line == 0) == (problem.Column == 0), "positions are 1-based, or 0:0 for the whole file");
            Check(problem.Message.Length <= ProblemSink.MaxMessageChars + 1, $"a message quotes a token, never the file (a message of {problem.Message.Length} characters)");
            Check(!problem.ToString().Contains('\n', StringComparison.Ordinal), "a message is one log line");
        }
    }

    private static void Check(bool condition, string invariant)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"PolicyLoader invariant broken: {invariant}.");
        }
    }
}
