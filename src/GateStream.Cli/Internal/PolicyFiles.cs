using GateStream.Policies;

namespace GateStream.Cli.Internal;

/// <summary>Policy paths as the command line gives them: a directory stands for its *.yaml and *.yml files, as the daemon reads it.</summary>
internal static class PolicyFiles
{
    /// <summary>The files to load, in order, and problems with the paths themselves (missing: error; empty directory: warning).</summary>
    public static (List<string> Files, List<PolicyProblem> Problems) Expand(IEnumerable<string> paths)
    {
        var files = new List<string>();
        var problems = new List<PolicyProblem>();
        foreach (var path in paths)
        {
            if (Directory.Exists(path))
            {
                var inDirectory = Directory.EnumerateFiles(path).Where(IsPolicyFile).Order(StringComparer.Ordinal).ToList();
                if (inDirectory.Count == 0)
                {
                    problems.Add(new PolicyProblem(path, 0, 0, "the directory holds no *.yaml or *.yml files.", ProblemSeverity.Warning));
                }

                files.AddRange(inDirectory);
            }
            else if (File.Exists(path))
            {
                files.Add(path);
            }
            else
            {
                problems.Add(new PolicyProblem(path, 0, 0, "no such file or directory.", ProblemSeverity.Error));
            }
        }

        return (files, problems);
    }

    private static bool IsPolicyFile(string path)
    {
        var name = Path.GetFileName(path);
        return !name.StartsWith('.')
            && (name.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".yml", StringComparison.OrdinalIgnoreCase));
    }
}
