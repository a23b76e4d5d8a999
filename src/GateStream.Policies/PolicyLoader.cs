using GateStream.Core.Policies;
using GateStream.Policies.Internal;

namespace GateStream.Policies;

/// <summary>
/// Loads policy files (native <c>GatePolicy</c> and Flagger <c>Canary</c>) into a <see cref="PolicySet"/>.
/// Every problem in every file is reported with its file, line and column; when any is an error, no set is
/// returned, so a caller keeps the set it was running.
/// </summary>
public static class PolicyLoader
{
    /// <summary>
    /// Loads every <c>*.yaml</c> and <c>*.yml</c> file directly in <paramref name="directory"/> (not subdirectories;
    /// dotfiles skipped). Files that are not regular files, are over the size limit, or lead outside the directory
    /// through a link are refused with an error, unread.
    /// </summary>
    public static PolicyLoadResult LoadDirectory(string directory, PolicyLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!Directory.Exists(directory))
        {
            return Failed(directory, "the policy directory does not exist.");
        }

        IReadOnlyList<string> files;
        try
        {
            files = ListFiles(directory);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Failed(directory, $"the policy directory cannot be listed: {e.GetType().Name}.");
        }

        if (files.Count == 0)
        {
            var warning = new PolicyProblem(directory, 0, 0, "the policy directory holds no *.yaml or *.yml files; no deployment is gated.", ProblemSeverity.Warning);
            return new PolicyLoadResult(PolicySet.Empty, [], [warning]);
        }

        return LoadFiles(files, new PolicyLoadOptions { MaxFileBytes = (options ?? PolicyLoadOptions.Default).MaxFileBytes, ConfinedTo = directory });
    }

    /// <summary>
    /// The policy files of <paramref name="directory"/> in load order: <c>*.yaml</c> and <c>*.yml</c> names, dotfiles
    /// skipped, whatever kind of file they are (<see cref="LoadFiles"/> refuses the ones it will not read).
    /// </summary>
    public static IReadOnlyList<string> ListFiles(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        return [.. Directory.EnumerateFiles(directory).Where(IsPolicyFile).Order(StringComparer.Ordinal)];
    }

    /// <summary>Loads the given files, in the given order (which is the order of <see cref="PolicySet.Policies"/>).</summary>
    public static PolicyLoadResult LoadFiles(IEnumerable<string> paths, PolicyLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(paths);
        options ??= PolicyLoadOptions.Default;
        var sources = new List<(string Path, string? Text, string? ReadError)>();
        foreach (var path in paths)
        {
            var (text, refusal) = PolicySource.Read(path, options);
            sources.Add((path, text, refusal));
        }

        return Load(sources);
    }

    /// <summary>Loads YAML text as if it were the file <paramref name="fileName"/> (used in positions and <see cref="PolicyDefinition.SourcePath"/>).</summary>
    public static PolicyLoadResult LoadText(string yaml, string fileName)
    {
        ArgumentNullException.ThrowIfNull(yaml);
        ArgumentNullException.ThrowIfNull(fileName);
        return Load([(fileName, yaml, null)]);
    }

    private static PolicyLoadResult Load(List<(string Path, string? Text, string? ReadError)> sources)
    {
        var sinks = new List<ProblemSink>();
        var loaded = new List<(LoadedPolicy Policy, ProblemSink Sink)>();
        var templates = new List<LoadedTemplate>();
        foreach (var (path, text, readError) in sources)
        {
            var sink = new ProblemSink(path);
            sinks.Add(sink);
            if (readError is not null)
            {
                sink.FileError(readError);
                continue;
            }

            foreach (var policy in PolicyFileReader.Read(text!, sink, templates))
            {
                loaded.Add((policy, sink));
            }
        }

        var withQueries = MetricQueries.Resolve([.. loaded.Select(l => l.Policy)], templates, sinks);
        loaded = [.. loaded.Select((l, i) => (withQueries[i], l.Sink))];
        CheckAcrossFiles(loaded);

        var errors = new List<PolicyProblem>();
        var warnings = new List<PolicyProblem>();
        foreach (var sink in sinks)
        {
            foreach (var problem in sink.Problems.OrderBy(p => p.Line).ThenBy(p => p.Column))
            {
                (problem.Severity == ProblemSeverity.Error ? errors : warnings).Add(problem);
            }
        }

        var set = errors.Count == 0 ? new PolicySet([.. loaded.Select(l => l.Policy.Policy)]) : null;
        return new PolicyLoadResult(set, errors, warnings);
    }

    /// <summary>Names are unique across the whole set; two policies for the same exact deployment are legal but one never runs.</summary>
    private static void CheckAcrossFiles(List<(LoadedPolicy Policy, ProblemSink Sink)> loaded)
    {
        var byName = new Dictionary<string, (LoadedPolicy Policy, ProblemSink Sink)>(StringComparer.Ordinal);
        var byTarget = new Dictionary<string, (LoadedPolicy Policy, ProblemSink Sink)>(StringComparer.Ordinal);
        foreach (var entry in loaded)
        {
            var (policy, sink) = entry;
            var definition = policy.Policy;
            if (byName.TryGetValue(definition.Name, out var first))
            {
                sink.Error(policy.NameAt, $"policy name '{definition.Name}' is already used at {Where(first)}; policy names must be unique across all policy files.");
                continue;
            }

            byName.Add(definition.Name, entry);
            if (!definition.IsGlob && byTarget.TryGetValue(definition.Target, out var gating))
            {
                sink.Warning(policy.TargetAt, $"policy '{definition.Name}' targets deployment '{definition.Target}', which policy '{gating.Policy.Policy.Name}' ({Where(gating)}) already targets; a deployment has one policy, so '{definition.Name}' never runs.");
                continue;
            }

            byTarget.TryAdd(definition.Target, entry);
        }
    }

    private static string Where((LoadedPolicy Policy, ProblemSink Sink) entry) =>
        $"{entry.Sink.File}:{entry.Policy.NameAt.Line}:{entry.Policy.NameAt.Column}";

    private static bool IsPolicyFile(string path)
    {
        var name = Path.GetFileName(path);
        return !name.StartsWith('.')
            && (name.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase) || name.EndsWith(".yml", StringComparison.OrdinalIgnoreCase));
    }

    private static PolicyLoadResult Failed(string file, string message) =>
        new(null, [new PolicyProblem(file, 0, 0, message, ProblemSeverity.Error)], []);
}
