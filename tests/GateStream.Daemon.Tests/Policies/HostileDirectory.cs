using System.Diagnostics;

namespace GateStream.Daemon.Tests.Policies;

/// <summary>Writes into a policy directory each file that once crashed, blocked or leaked through the daemon.</summary>
internal static class HostileDirectory
{
    /// <summary>A line no log may ever carry: it is only in a file outside the policy directory.</summary>
    public const string Secret = "root:x:0:0:gatestream-secret-marker:/root:/bin/bash";

    /// <summary>The names of the files written, each of which must be reported.</summary>
    public static async Task<IReadOnlyList<string>> WriteAsync(string directory, string outside)
    {
        var names = new List<string> { "attack-colon.yaml", "attack-brackets.yaml", "attack-huge.yaml", "attack-deep.yaml", "attack-secret.yaml" };
        await File.WriteAllTextAsync(Path.Combine(directory, "attack-colon.yaml"), " : i");
        await File.WriteAllTextAsync(Path.Combine(directory, "attack-brackets.yaml"), "a: { b\nc: [[[");
        await File.WriteAllTextAsync(Path.Combine(directory, "attack-deep.yaml"), new string('[', 300_000));
        using (var huge = File.Create(Path.Combine(directory, "attack-huge.yaml")))
        {
            huge.SetLength(1_100_000_000); // sparse
        }

        var secret = Path.Combine(outside, "passwd");
        await File.WriteAllTextAsync(secret, Secret + "\n");
        File.CreateSymbolicLink(Path.Combine(directory, "attack-secret.yaml"), secret);
        if (File.Exists("/etc/passwd"))
        {
            File.CreateSymbolicLink(Path.Combine(directory, "attack-passwd.yaml"), "/etc/passwd");
            names.Add("attack-passwd.yaml");
        }

        if (OperatingSystem.IsLinux())
        {
            using var mkfifo = Process.Start("mkfifo", [Path.Combine(directory, "attack-fifo.yaml")]);
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
            names.Add("attack-fifo.yaml");
        }

        return names;
    }

    /// <summary>The first line of /etc/passwd, which the daemon once echoed into its log through a link.</summary>
    public static string? PasswdFirstLine() => File.Exists("/etc/passwd") ? File.ReadLines("/etc/passwd").FirstOrDefault() : null;
}
