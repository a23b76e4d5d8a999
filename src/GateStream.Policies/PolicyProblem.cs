namespace GateStream.Policies;

public enum ProblemSeverity
{
    /// <summary>The policy set is not loaded; the running set stays in place.</summary>
    Error,

    /// <summary>The policy loads, but something written in it is ignored or probably not what was meant.</summary>
    Warning,
}

/// <summary>
/// One thing wrong with a policy file, at the YAML node that caused it. Lines and columns are 1-based;
/// 0:0 means the file as a whole (it could not be read, or it holds no policy).
/// </summary>
public sealed record PolicyProblem(string File, int Line, int Column, string Message, ProblemSeverity Severity)
{
    /// <summary>The compiler-style form editors and CI logs understand: <c>file:line:col: error: message</c>.</summary>
    public override string ToString() =>
        $"{File}:{Line}:{Column}: {(Severity == ProblemSeverity.Error ? "error" : "warning")}: {Message}";
}
