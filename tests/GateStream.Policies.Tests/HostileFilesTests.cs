using System.Diagnostics;
using System.Net.Sockets;

namespace GateStream.Policies.Tests;

/// <summary>
/// What an attacker or an accident can leave in a policy directory. Each load must end, report the file (with a
/// line and column where the text has one) and quote nothing of the file beyond the offending token.
/// </summary>
public sealed class HostileFilesTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gatestream-hostile-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(" : i", 1)] // YamlDotNet throws ArgumentException
    [InlineData("a: { b\nc: [[[", 2)] // InvalidOperationException; reported at the "{" that never closes
    [InlineData("apiVersion: gatestream.io/v1\nkind: [", 2)]
    [InlineData("- ? - : [", 1)]
    [InlineData("*x", 1)]
    [InlineData("!!binary aGk=\n", 1)]
    public void Malformed_yaml_of_any_kind_is_an_error_with_a_position_not_an_exception(string yaml, int line)
    {
        var result = PolicyLoader.LoadText(yaml, "bad.yaml");

        Assert.False(result.Success);
        var error = Assert.Single(result.Errors, e => e.Line > 0);
        Assert.Equal("bad.yaml", error.File);
        Assert.InRange(error.Line, 1, line);
        Assert.True(error.Column >= 1, error.ToString());
    }

    [Fact]
    public void Deep_nesting_is_refused_before_it_can_overflow_the_stack()
    {
        // 300 KB of '[' (under the size limit) overflowed the stack inside YamlDotNet and ended the process.
        var result = PolicyLoader.LoadText(new string('[', 300_000), "deep.yaml");

        var error = Assert.Single(result.Errors);
        Assert.Contains("nested more than 64 deep", error.Message, StringComparison.Ordinal);
        Assert.Equal((1, 65), (error.Line, error.Column));
    }

    [Theory]
    [InlineData("a: &b [ x, { ? *b : 1 } ]", "an alias refers to a list or mapping that contains it")] // found by afl-fuzz: hashing the key overflowed the stack
    [InlineData("? [a, b]\n: 1", "a mapping key must be a plain value")]
    [InlineData("x: &k y\n*k : 1", "a mapping key must be a plain value")]
    public void Recursive_nodes_and_complex_keys_are_refused_before_yamldotnet_builds_them(string yaml, string message)
    {
        var result = PolicyLoader.LoadText(yaml, "p.yaml");

        Assert.Contains(result.Errors, e => e.Message.Contains(message, StringComparison.Ordinal) && e.Line > 0);
    }

    [Fact]
    public void A_huge_sparse_file_is_refused_by_its_size_without_being_read()
    {
        var path = Path.Combine(_directory, "huge.yaml");
        using (var file = File.Create(path))
        {
            file.SetLength(1_100_000_000); // 1.1 GB, sparse: no disk used; reading it once took the daemon out of memory
        }

        var result = PolicyLoader.LoadDirectory(_directory);

        var error = Assert.Single(result.Errors);
        Assert.Equal((path, 0, 0), (error.File, error.Line, error.Column));
        Assert.Contains("1100000000 bytes, over the 1048576-byte limit", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_size_limit_is_configurable()
    {
        Write("web.yaml", PolicyTestKit.GoodPolicy);

        Assert.True(PolicyLoader.LoadDirectory(_directory).Success);
        var small = PolicyLoader.LoadDirectory(_directory, new PolicyLoadOptions { MaxFileBytes = 100 });
        Assert.Contains("over the 100-byte limit", Assert.Single(small.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_fifo_is_refused_without_being_opened()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var fifo = Path.Combine(_directory, "pipe.yaml");
        using (var mkfifo = Process.Start("mkfifo", [fifo]))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        Write("web.yaml", PolicyTestKit.GoodPolicy);

        // Opening a FIFO for reading blocks until a writer comes; a load that did so would never finish.
        var result = await Task.Run(() => PolicyLoader.LoadDirectory(_directory)).WaitAsync(TimeSpan.FromSeconds(60));

        var error = Assert.Single(result.Errors);
        Assert.Equal(fifo, error.File);
        Assert.Contains("a FIFO (named pipe); only regular files are read", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_socket_is_refused()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        var path = Path.Combine(_directory, "listen.yaml");
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        socket.Bind(new UnixDomainSocketEndPoint(path));

        var result = PolicyLoader.LoadDirectory(_directory);

        Assert.Contains("a socket; only regular files are read", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_symlink_out_of_the_directory_is_refused_and_nothing_of_its_target_is_reported()
    {
        var secret = Path.Combine(Directory.CreateTempSubdirectory("gatestream-secret-").FullName, "passwd");
        File.WriteAllText(secret, "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n");
        try
        {
            File.CreateSymbolicLink(Path.Combine(_directory, "passwd.yaml"), secret);
            if (File.Exists("/etc/passwd"))
            {
                File.CreateSymbolicLink(Path.Combine(_directory, "etc.yaml"), "/etc/passwd");
            }

            var result = PolicyLoader.LoadDirectory(_directory);

            Assert.NotEmpty(result.Errors);
            Assert.All(result.Errors, e => Assert.Contains("leads outside the policy directory", e.Message, StringComparison.Ordinal));
            Assert.DoesNotContain("root:", result.ToString(), StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(secret)!, recursive: true);
        }
    }

    [Fact]
    public void A_link_through_a_linked_directory_is_refused()
    {
        var outside = Directory.CreateTempSubdirectory("gatestream-outside-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(outside, "p.yaml"), PolicyTestKit.GoodPolicy);
            Directory.CreateSymbolicLink(Path.Combine(_directory, "sub"), outside);
            File.CreateSymbolicLink(Path.Combine(_directory, "p.yaml"), Path.Combine("sub", "p.yaml"));

            var result = PolicyLoader.LoadDirectory(_directory);

            Assert.Contains("leads outside the policy directory", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public void Links_that_stay_inside_the_directory_load_as_a_kubernetes_configmap_mount_writes_them()
    {
        // A ConfigMap volume: policy.yaml -> ..data/policy.yaml, ..data -> ..2026_12_03_10_00_00.1/
        var version = Directory.CreateDirectory(Path.Combine(_directory, "..2026_12_03_10_00_00.1")).FullName;
        File.WriteAllText(Path.Combine(version, "policy.yaml"), PolicyTestKit.GoodPolicy);
        Directory.CreateSymbolicLink(Path.Combine(_directory, "..data"), Path.GetFileName(version));
        File.CreateSymbolicLink(Path.Combine(_directory, "policy.yaml"), Path.Combine("..data", "policy.yaml"));

        var result = PolicyLoader.LoadDirectory(_directory);

        Assert.True(result.Success, result.ToString());
        Assert.Equal("web", Assert.Single(result.Policies!.Policies).Name);
    }

    [Fact]
    public void A_file_that_is_not_yaml_at_all_is_reported_without_its_content()
    {
        Write("copy.yaml", "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n");

        var result = PolicyLoader.LoadDirectory(_directory);

        var error = Assert.Single(result.Errors);
        Assert.Contains("must be a mapping", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("root", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_value_cannot_forge_a_log_line_or_flood_a_message()
    {
        var yaml = PolicyTestKit.GoodPolicy.Replace("action: rollback", "action: \"roll\\nwarn: forged " + new string('x', 5_000) + "\"", StringComparison.Ordinal);

        var result = PolicyLoader.LoadText(yaml, "p.yaml");

        var error = Assert.Single(result.Errors);
        Assert.DoesNotContain('\n', error.ToString());
        Assert.Contains("roll\\nwarn: forged", error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Length < 600, $"{error.Message.Length} characters");
    }

    [Fact]
    public void The_message_limit_counts_escaped_characters()
    {
        // Found by afl-fuzz: 500 control characters fit the limit before escaping and grew six-fold after it.
        var yaml = PolicyTestKit.GoodPolicy.Replace("target: web", "target: \"" + string.Concat(Enumerable.Repeat("\\x10", 500)) + "\"", StringComparison.Ordinal);

        var result = PolicyLoader.LoadText(yaml, "p.yaml");

        Assert.All(result.Errors, e => Assert.InRange(e.Message.Length, 1, 513));
        Assert.Contains(result.Errors, e => e.Message.Contains("\\u0010", StringComparison.Ordinal));
    }

    [Fact]
    public void Invalid_utf8_is_refused_rather_than_replaced()
    {
        File.WriteAllBytes(Path.Combine(_directory, "latin1.yaml"), [.. "name: caf"u8, 0xE9, (byte)'\n']);

        var result = PolicyLoader.LoadDirectory(_directory);

        Assert.Contains("not valid UTF-8", Assert.Single(result.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_utf16_file_with_a_byte_order_mark_loads()
    {
        File.WriteAllText(Path.Combine(_directory, "utf16.yaml"), PolicyTestKit.GoodPolicy, System.Text.Encoding.Unicode);

        Assert.True(PolicyLoader.LoadDirectory(_directory).Success);
    }

    [Fact]
    public void A_directory_of_every_attack_at_once_loads_the_rest_and_reports_each()
    {
        Write("a-colon.yaml", " : i");
        Write("b-brackets.yaml", "a: { b\nc: [[[");
        using (var file = File.Create(Path.Combine(_directory, "c-huge.yaml")))
        {
            file.SetLength(1_100_000_000);
        }

        Write("d-good.yaml", PolicyTestKit.GoodPolicy);

        var result = PolicyLoader.LoadFiles(PolicyLoader.ListFiles(_directory));

        Assert.Equal(["a-colon.yaml", "b-brackets.yaml", "c-huge.yaml"], result.Errors.Select(e => Path.GetFileName(e.File)).Distinct());
    }

    private void Write(string name, string text) => File.WriteAllText(Path.Combine(_directory, name), text);
}
