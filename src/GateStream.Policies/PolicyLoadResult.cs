using GateStream.Core.Policies;

namespace GateStream.Policies;

/// <summary>
/// The outcome of loading policy files: either a complete, valid <see cref="PolicySet"/> or the errors that
/// prevented it. Never a partly loaded set, so a bad file cannot replace the policies that are running.
/// </summary>
public sealed class PolicyLoadResult
{
    internal PolicyLoadResult(PolicySet? policies, IReadOnlyList<PolicyProblem> errors, IReadOnlyList<PolicyProblem> warnings)
    {
        Policies = policies;
        Errors = errors;
        Warnings = warnings;
    }

    /// <summary>True when <see cref="Policies"/> holds every policy and <see cref="Errors"/> is empty.</summary>
    public bool Success => Policies is not null;

    /// <summary>The loaded set; null whenever there is at least one error.</summary>
    public PolicySet? Policies { get; }

    /// <summary>Every error in every file, ordered by file then position.</summary>
    public IReadOnlyList<PolicyProblem> Errors { get; }

    /// <summary>Warnings, reported whether or not the set loaded.</summary>
    public IReadOnlyList<PolicyProblem> Warnings { get; }

    public override string ToString() => string.Join(Environment.NewLine, Errors.Concat(Warnings));
}
