using static GateStream.Policies.Tests.PolicyTestKit;

namespace GateStream.Policies.Tests;

public sealed class PolicyLoaderTests : IDisposable
{
    private const string Bad = """
        apiVersion: gatestream.io/v1
        kind: GatePolicy
        metadata:
          name: api
        spec:
          target: api
          rules:
            - { name: errors, signal: error-rate, max: 0.01, action: rollback, minSamples: 0 }
        """;

    private readonly string _directory = Directory.CreateTempSubdirectory("gatestream-policies-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void A_directory_with_one_bad_file_returns_its_errors_and_no_policy_set()
    {
        Write("a-good.yaml", PolicyTestKit.GoodPolicy);
        Write("b-bad.yml", Bad);

        var result = PolicyLoader.LoadDirectory(_directory);

        Assert.False(result.Success);
        Assert.Null(result.Policies);
        var error = Assert.Single(result.Errors);
        Assert.Equal(Path.Combine(_directory, "b-bad.yml"), error.File);
        Assert.Equal(At(Bad, 8, "0 }"), (error.Line, error.Column));
        Assert.Contains("minSamples must be at least 1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_loads_yaml_and_yml_files_in_name_order_and_skips_others()
    {
        Write("b.yml", PolicyTestKit.GoodPolicy.Replace("name: web", "name: web-b", StringComparison.Ordinal).Replace("target: web", "target: web-b", StringComparison.Ordinal));
        Write("a.yaml", PolicyTestKit.GoodPolicy);
        Write("notes.txt", "not: a policy");
        Write(".editor-swap.yaml", "{{{");
        Directory.CreateDirectory(Path.Combine(_directory, "nested"));
        File.WriteAllText(Path.Combine(_directory, "nested", "c.yaml"), "{{{");

        var result = PolicyLoader.LoadDirectory(_directory);

        AssertLoaded(result);
        Assert.Equal(["web", "web-b"], result.Policies!.Policies.Select(p => p.Name));
        Assert.Equal(Path.Combine(_directory, "a.yaml"), result.Policies.Policies[0].SourcePath);
    }

    [Fact]
    public void Duplicate_policy_names_across_files_are_errors()
    {
        Write("a.yaml", PolicyTestKit.GoodPolicy);
        Write("b.yaml", PolicyTestKit.GoodPolicy.Replace("target: web", "target: web-2", StringComparison.Ordinal));

        var result = PolicyLoader.LoadDirectory(_directory);

        Assert.False(result.Success);
        var error = Assert.Single(result.Errors);
        Assert.Equal(Path.Combine(_directory, "b.yaml"), error.File);
        Assert.Equal(At(PolicyTestKit.GoodPolicy, 4, "web"), (error.Line, error.Column));
        Assert.Equal($"policy name 'web' is already used at {Path.Combine(_directory, "a.yaml")}:4:9; policy names must be unique across all policy files.", error.Message);
    }

    [Fact]
    public void Two_policies_for_the_same_deployment_warn_that_one_never_runs()
    {
        Write("a.yaml", PolicyTestKit.GoodPolicy);
        Write("b.yaml", PolicyTestKit.GoodPolicy.Replace("name: web", "name: web-shadow", StringComparison.Ordinal));

        var result = PolicyLoader.LoadDirectory(_directory);

        AssertLoaded(result);
        var warning = Assert.Single(result.Warnings);
        Assert.Contains("'web-shadow' never runs", warning.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Revision_changes_with_the_content_and_not_with_line_endings()
    {
        var first = PolicyLoader.LoadText(PolicyTestKit.GoodPolicy, "p.yaml").Policies!.Policies[0].Revision;
        var crlf = PolicyLoader.LoadText(PolicyTestKit.GoodPolicy.Replace("\n", "\r\n", StringComparison.Ordinal) + "\r\n", "p.yaml").Policies!.Policies[0].Revision;
        var changed = PolicyLoader.LoadText(PolicyTestKit.GoodPolicy.Replace("0.01", "0.02", StringComparison.Ordinal), "p.yaml").Policies!.Policies[0].Revision;

        Assert.Equal(first, crlf);
        Assert.NotEqual(first, changed);
        Assert.Equal(12, first.Length);
    }

    [Fact]
    public void Missing_directory_and_unreadable_files_are_errors()
    {
        var missing = PolicyLoader.LoadDirectory(Path.Combine(_directory, "nope"));
        var unreadable = PolicyLoader.LoadFiles([Path.Combine(_directory, "nope.yaml")]);

        Assert.False(missing.Success);
        Assert.Contains("does not exist", Assert.Single(missing.Errors).Message, StringComparison.Ordinal);
        Assert.False(unreadable.Success);
        Assert.Equal(0, Assert.Single(unreadable.Errors).Line);
    }

    [Fact]
    public void An_empty_directory_is_an_empty_set_with_a_warning()
    {
        var result = PolicyLoader.LoadDirectory(_directory);

        AssertLoaded(result);
        Assert.Empty(result.Policies!.Policies);
        Assert.Single(result.Warnings);
    }

    private void Write(string name, string text) => File.WriteAllText(Path.Combine(_directory, name), text);
}
