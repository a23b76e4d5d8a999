namespace GateStream.Cli.Tests.Infrastructure;

/// <summary>
/// Tests that start the CLI as a process (and usually a daemon) run one at a time: on a small machine, several
/// daemons and CLI processes at once would make their timing, not the CLI, the thing under test.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class CliProcesses
{
    public const string Name = "cli processes";
}
