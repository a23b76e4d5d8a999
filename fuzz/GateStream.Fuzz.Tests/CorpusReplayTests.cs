namespace GateStream.Fuzz.Tests;

/// <summary>
/// Every committed corpus file (seeds, and what afl-fuzz found) through its target, in the normal test run: a fix
/// that regresses fails here without afl++ installed.
/// </summary>
public class CorpusReplayTests
{
    private static readonly string Corpus = Path.Combine(AppContext.BaseDirectory, "corpus");

    public static TheoryData<string> TargetNames() => [.. Targets.All.Select(t => t.Name)];

    [Theory]
    [MemberData(nameof(TargetNames))]
    public void Every_corpus_file_runs_through_its_target_without_an_unexpected_exception(string name)
    {
        var target = Targets.Find(name)!;
        var directory = Path.Combine(Corpus, target.Name);
        Assert.True(Directory.Exists(directory), $"target {name} has no corpus at fuzz/corpus/{name}");
        var files = Directory.GetFiles(directory, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();
        Assert.NotEmpty(files);

        var failures = new List<string>();
        foreach (var file in files)
        {
            try
            {
                target.Run(File.ReadAllBytes(file));
            }
            catch (Exception e)
            {
                failures.Add($"{Path.GetRelativePath(Corpus, file)}: {e.GetType().Name}: {e.Message}");
            }
        }

        Assert.True(failures.Count == 0, $"{failures.Count} of {files.Count} inputs failed:\n{string.Join("\n", failures)}");
    }

    [Fact]
    public void Every_corpus_folder_belongs_to_a_target()
    {
        foreach (var folder in Directory.GetDirectories(Corpus))
        {
            Assert.NotNull(Targets.Find(Path.GetFileName(folder)));
        }
    }
}
