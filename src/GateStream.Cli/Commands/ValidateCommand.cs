using System.CommandLine;
using System.Globalization;
using GateStream.Cli.Internal;
using GateStream.Policies;

namespace GateStream.Cli.Commands;

/// <summary><c>gatestream validate</c>: checks policy files as the daemon loads them, problems as file:line:column.</summary>
internal static class ValidateCommand
{
    public const string Examples = """
          gatestream validate policies/                 every *.yaml/*.yml file in the directory, as the daemon loads them
          gatestream validate api.yaml checkout.yaml    these files, checked together (names must be unique across them)
          gatestream validate --strict policies/        fail on warnings too (for CI)
        """;

    public static Command Create()
    {
        var paths = new Argument<string[]>("paths")
        {
            Description = "Policy files or directories (a directory means its *.yaml and *.yml files, not subdirectories).",
            Arity = ArgumentArity.OneOrMore,
        };
        var strict = new Option<bool>("--strict") { Description = "Treat warnings as errors: exit 1 when there is any." };
        var command = new Command("validate", "Check policy files: every problem as file:line:column, exit 0 when the policies would load.")
        {
            paths,
            strict,
        };
        command.SetGuardedAction((parse, io, _) => Task.FromResult(Run(parse.GetValue(paths)!, parse.GetValue(strict), io)));
        return command;
    }

    internal static int Run(IReadOnlyList<string> paths, bool strict, CommandIO io)
    {
        var (files, pathProblems) = PolicyFiles.Expand(paths);
        var result = files.Count > 0 ? PolicyLoader.LoadFiles(files) : null;
        var errors = pathProblems.Where(p => p.Severity == ProblemSeverity.Error).Concat(result?.Errors ?? []).ToList();
        var warnings = pathProblems.Where(p => p.Severity == ProblemSeverity.Warning).Concat(result?.Warnings ?? []).ToList();
        foreach (var problem in errors.Concat(warnings).OrderBy(p => p.File, StringComparer.Ordinal).ThenBy(p => p.Line).ThenBy(p => p.Column))
        {
            io.Line(problem.ToString());
        }

        var failed = errors.Count > 0 || (strict && warnings.Count > 0);
        var counts = string.Create(CultureInfo.InvariantCulture,
            $"{Plural(files.Count, "file")}, {Plural(errors.Count, "error")}, {Plural(warnings.Count, "warning")}");
        if (failed)
        {
            var why = errors.Count == 0 ? " (--strict: warnings fail)" : "";
            io.Line($"FAILED: {counts}{why}.");
            return ExitCodes.Failure;
        }

        var policies = result?.Policies?.Policies ?? [];
        var names = policies.Count == 0 ? "no policy" : Plural(policies.Count, "policy", "policies") + ": " + string.Join(", ", policies.Select(p => p.Name));
        io.Line($"OK: {counts}; {names}.");
        return ExitCodes.Success;
    }

    private static string Plural(int count, string one, string? many = null) =>
        string.Create(CultureInfo.InvariantCulture, $"{count} {(count == 1 ? one : many ?? one + "s")}");
}
