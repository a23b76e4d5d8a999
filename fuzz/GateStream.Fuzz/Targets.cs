namespace GateStream.Fuzz;

/// <summary>Every target the harness knows. To add one: a class with a <c>Run(ReadOnlySpan&lt;byte&gt;)</c> body, a line here, and seeds in <c>fuzz/corpus/&lt;Name&gt;/</c>.</summary>
public static class Targets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("PolicyLoader", "policy YAML (bytes decoded as a policy file is) through the loader and validator", PolicyLoaderTarget.Run),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase));
}
