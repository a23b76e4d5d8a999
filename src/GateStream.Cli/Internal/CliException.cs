namespace GateStream.Cli.Internal;

/// <summary>
/// A failure the user can act on: printed as one line (<c>gatestream NAME: message</c>) on stderr, never with a stack
/// trace, and the process exits with <see cref="ExitCode"/>.
/// </summary>
internal class CliException(string message, int exitCode = ExitCodes.Failure) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}

/// <summary>The command line itself is wrong (an option's value, options that exclude each other): exit code 2.</summary>
internal sealed class UsageException(string message) : CliException(message, ExitCodes.Usage);

/// <summary>The exit codes every command uses.</summary>
internal static class ExitCodes
{
    public const int Success = 0;

    /// <summary>The command ran and failed: an invalid policy, an error from the daemon, a file it cannot read.</summary>
    public const int Failure = 1;

    /// <summary>The command line is wrong (unknown option, bad value, missing argument), as POSIX utilities and argparse exit.</summary>
    public const int Usage = 2;
}
