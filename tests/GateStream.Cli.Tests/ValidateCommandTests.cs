using GateStream.Cli.Tests.Infrastructure;

namespace GateStream.Cli.Tests;

[Collection(CliProcesses.Name)]
public sealed class ValidateCommandTests : IDisposable
{
    private const string Bad = """
        apiVersion: gatestream.io/v1
        kind: GatePolicy
        metadata:
          name: bad
        spec:
          target: checkout
          progression: { stepWeight: 25, maxWeight: 75, stepInterval: 1s }
          rules:
            - name: errors
              signal: eror-rate
              max: 0.05
              action: rollback
        """;

    /// <summary>The article's Canary: valid, with a warning (spec.service is ignored).</summary>
    private const string Warns = """
        apiVersion: flagger.app/v1beta1
        kind: Canary
        metadata:
          name: api-deployment
        spec:
          targetRef:
            apiVersion: apps/v1
            kind: Deployment
            name: api
          service:
            port: 8080
          analysis:
            interval: 1m
            threshold: 5
            maxWeight: 50
            stepWeight: 10
            metrics:
            - name: error-rate
              thresholdRange:
                max: 0.05
              interval: 2m
        """;

    private readonly string _directory = Directory.CreateTempSubdirectory("gatestream-validate-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_good_policy_exits_0_with_a_summary()
    {
        var file = Write("good.yaml", Traffic.FastPolicy());

        var result = await CliProcess.RunAsync(["validate", file]);

        Assert.Equal(0, result.ExitCode);
        Assert.Equal("OK: 1 file, 0 errors, 0 warnings; 1 policy: fast.\n", result.Stdout);
        Assert.Equal("", result.Stderr);
    }

    [Fact]
    public async Task A_bad_policy_exits_1_with_the_problem_at_file_line_column()
    {
        var file = Write("bad.yaml", Bad);

        var result = await CliProcess.RunAsync(["validate", file]);

        Assert.Equal(1, result.ExitCode);
        var lines = result.StdoutLines;
        Assert.Equal(2, lines.Length);
        // Line 10, column 15: the value of `signal:`.
        Assert.StartsWith($"{file}:10:15: error: spec.rules[0].signal: unknown signal 'eror-rate'", lines[0], StringComparison.Ordinal);
        Assert.Contains("did you mean 'error-rate'?", lines[0], StringComparison.Ordinal);
        Assert.Equal("FAILED: 1 file, 1 error, 0 warnings.", lines[1]);
    }

    [Fact]
    public async Task Warnings_pass_unless_strict()
    {
        var file = Write("canary.yaml", Warns);

        var lenient = await CliProcess.RunAsync(["validate", file]);
        var strict = await CliProcess.RunAsync(["validate", "--strict", file]);

        Assert.Equal(0, lenient.ExitCode);
        Assert.Matches($@"^{Escape(file)}:10:\d+: warning: spec\.service is ignored", lenient.StdoutLines[0]);
        Assert.Equal("OK: 1 file, 0 errors, 1 warning; 1 policy: api-deployment.", lenient.StdoutLines[^1]);
        Assert.Equal(1, strict.ExitCode);
        Assert.Equal("FAILED: 1 file, 0 errors, 1 warning (--strict: warnings fail).", strict.StdoutLines[^1]);
    }

    [Fact]
    public async Task A_directory_is_checked_as_one_set_and_missing_paths_are_errors()
    {
        Write("a.yaml", Traffic.FastPolicy(name: "same", target: "checkout"));
        Write("b.yml", Traffic.FastPolicy(name: "same", target: "payments"));
        Write("notes.txt", "not a policy");
        var missing = Path.Combine(_directory, "nope.yaml");

        var result = await CliProcess.RunAsync(["validate", _directory, missing]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"{missing}:0:0: error: no such file or directory.", result.StdoutLines);
        Assert.Contains(result.StdoutLines, l => l.StartsWith(Path.Combine(_directory, "b.yml") + ":", StringComparison.Ordinal)
            && l.Contains("policy name 'same' is already used", StringComparison.Ordinal));
        Assert.Equal("FAILED: 2 files, 2 errors, 0 warnings.", result.StdoutLines[^1]);
    }

    private string Write(string name, string text)
    {
        var path = Path.Combine(_directory, name);
        File.WriteAllText(path, text);
        return path;
    }

    private static string Escape(string text) => System.Text.RegularExpressions.Regex.Escape(text);
}
