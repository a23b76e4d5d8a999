namespace GateStream.Policies;

/// <summary>Limits on what <see cref="PolicyLoader"/> reads; the defaults suit a directory written by people.</summary>
public sealed class PolicyLoadOptions
{
    /// <summary>1 MiB: a policy file is a few kilobytes; anything near this is not a policy.</summary>
    public const long DefaultMaxFileBytes = 1024 * 1024;

    public static PolicyLoadOptions Default { get; } = new();

    /// <summary>A larger file is refused without being read.</summary>
    public long MaxFileBytes { get; init; } = DefaultMaxFileBytes;

    /// <summary>
    /// When set, a file (or the final target of a symbolic link) outside this directory is refused without being
    /// read, so a link planted in the policy directory cannot make the daemon read, and report on, another file.
    /// </summary>
    public string? ConfinedTo { get; init; }
}
