namespace GateStream.Cli;

/// <summary>The entry point, thin by design: the command tree is built in <see cref="CliApp"/> so tests run the same commands.</summary>
internal static class Program
{
    public static Task<int> Main(string[] args) => CliApp.RunAsync(args);
}
