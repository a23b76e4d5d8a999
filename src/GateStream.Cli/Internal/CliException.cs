namespace GateStream.Cli.Internal;

/// <summary>
/// A failure the user can act on: printed as one line (<c>gatestream: message</c>) on stderr, never with a stack
/// trace, and the process exits with <see cref="ExitCode"/>.
/// </summary>
internal sealed class CliException(string message, int exitCode = ExitCodes.Failure) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>The exit codes every command uses.</summary>
internal static class ExitCodes
{
    public const int Success = 0;

    /// <summary>Anything went wrong: a bad argument, an invalid policy, an error from the daemon.</summary>
    public const int Failure = 1;

    /// <summary>Asked for something this build does not have yet (e.g. a Kafka events source).</summary>
    public const int NotAvailable = 2;
}
