namespace GateStream.Policies.Tests;

internal static class PolicyTestKit
{
    /// <summary>A small valid native policy, for tests about files and loading rather than about rules.</summary>
    public const string GoodPolicy = """
        apiVersion: gatestream.io/v1
        kind: GatePolicy
        metadata:
          name: web
        spec:
          target: web
          rules:
            - { name: errors, signal: error-rate, max: 0.01, action: rollback }
        """;

    public static string Fixture(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", name));

    /// <summary>1-based line and column of <paramref name="token"/> on line <paramref name="line"/>: positions computed from the text, not guessed.</summary>
    public static (int Line, int Column) At(string yaml, int line, string token)
    {
        var text = yaml.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n')[line - 1];
        var column = text.IndexOf(token, StringComparison.Ordinal);
        Assert.True(column >= 0, $"'{token}' is not on line {line}: '{text}'");
        return (line, column + 1);
    }

    public static PolicyProblem ErrorAt(PolicyLoadResult result, (int Line, int Column) at, string contains)
    {
        var match = result.Errors.FirstOrDefault(e => e.Line == at.Line && e.Column == at.Column && e.Message.Contains(contains, StringComparison.Ordinal));
        Assert.True(match is not null, $"no error at {at.Line}:{at.Column} containing \"{contains}\"; errors were:\n{string.Join("\n", result.Errors)}");
        return match;
    }

    public static PolicyProblem WarningAt(PolicyLoadResult result, (int Line, int Column) at, string contains)
    {
        var match = result.Warnings.FirstOrDefault(e => e.Line == at.Line && e.Column == at.Column && e.Message.Contains(contains, StringComparison.Ordinal));
        Assert.True(match is not null, $"no warning at {at.Line}:{at.Column} containing \"{contains}\"; warnings were:\n{string.Join("\n", result.Warnings)}");
        return match;
    }

    public static void AssertLoaded(PolicyLoadResult result)
    {
        Assert.True(result.Success, "expected the policies to load; errors:\n" + string.Join("\n", result.Errors));
        Assert.NotNull(result.Policies);
        Assert.Empty(result.Errors);
    }
}
