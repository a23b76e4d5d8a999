using System.Diagnostics;
using System.IO.Compression;
using System.Net.Sockets;
using System.Text;

namespace GateStream.Packaging.Tests;

/// <summary>
/// The packages of packaging/build.sh. Built once per test run: CI builds them before the tests and says where with
/// GATESTREAM_PACKAGES (see .ci/run); without it this fixture runs the script itself (about two minutes on two cores).
/// </summary>
public sealed class Packages : IAsyncLifetime
{
    public string Directory { get; private set; } = "";

    public string Deb => System.IO.Directory.GetFiles(Directory, "gatestream_*_amd64.deb").Single();

    public string Tool => System.IO.Directory.GetFiles(Directory, "GateStream.Cli.*.nupkg").Single();

    public async Task InitializeAsync()
    {
        if (Environment.GetEnvironmentVariable("GATESTREAM_PACKAGES") is { Length: > 0 } built)
        {
            Directory = built;
            return;
        }

        Directory = System.IO.Directory.CreateTempSubdirectory("gatestream-packages-").FullName;
        var start = new ProcessStartInfo("/bin/bash") { WorkingDirectory = Repository.Root };
        start.ArgumentList.Add("packaging/build.sh");
        start.ArgumentList.Add(Directory);
        await using var build = ChildProcess.Start(start);
        var exit = await build.WaitForExitAsync(TimeSpan.FromMinutes(15));
        Assert.True(exit == 0, "packaging/build.sh failed:\n" + build.Output);
    }

    public Task DisposeAsync() => Task.CompletedTask;
}

public sealed class PackageTests(Packages packages) : IClassFixture<Packages>
{
    private const long MaxToolBytes = 15L * 1024 * 1024;

    [SkippableFact]
    public void The_tool_package_is_at_most_15_MB_and_carries_librdkafka_for_linux_only()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the packages are built on Linux");
        var size = new FileInfo(packages.Tool).Length;
        using var zip = ZipFile.OpenRead(packages.Tool);
        var natives = zip.Entries.Select(e => e.FullName).Where(n => n.Contains("/runtimes/", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();

        Assert.True(size <= MaxToolBytes, $"{packages.Tool} is {size:N0} bytes, over {MaxToolBytes:N0}");
        Assert.Contains(zip.Entries, e => e.FullName == "tools/net10.0/any/gatestream.dll");
        Assert.Equal(["tools/net10.0/any/runtimes/linux-arm64/native/librdkafka.so", "tools/net10.0/any/runtimes/linux-x64/native/librdkafka.so"], natives);
    }

    [SkippableFact]
    public async Task The_tool_installs_and_runs()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the packages are built on Linux");
        var tools = System.IO.Directory.CreateTempSubdirectory("gatestream-tool-").FullName;
        try
        {
            var version = Path.GetFileNameWithoutExtension(packages.Tool)["GateStream.Cli.".Length..];
            var (exit, output) = await RunAsync(ChildProcess.DotnetHost, "tool", "install", "--tool-path", tools, "--add-source", packages.Directory, "--version", version, "GateStream.Cli");
            Assert.True(exit == 0, output);

            var (validated, text) = await RunAsync(Path.Combine(tools, "gatestream"), "validate", Path.Combine(Repository.Root, "src", "GateStream.Daemon", "policies"));
            Assert.True(validated == 0, text);
            Assert.Contains("OK: 1 file, 0 errors, 0 warnings; 1 policy: demo-api.", text, StringComparison.Ordinal);
        }
        finally
        {
            System.IO.Directory.Delete(tools, recursive: true);
        }
    }

    [SkippableFact]
    public async Task The_deb_holds_the_daemon_the_cli_the_unit_the_configuration_and_a_system_user()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists("/usr/bin/dpkg-deb"), "needs dpkg-deb");
        var (_, contents) = await RunAsync("dpkg-deb", "--contents", packages.Deb);
        var (_, control) = await RunAsync("dpkg-deb", "--field", packages.Deb);
        var (_, postinst) = await RunAsync("dpkg-deb", "--ctrl-tarfile", packages.Deb);

        foreach (var path in new[]
        {
            "./opt/gatestream/gatestreamd", "./opt/gatestream/gatestream", "./opt/gatestream/libcoreclr.so", "./opt/gatestream/librdkafka.so",
            "./lib/systemd/system/gatestream.service", "./etc/gatestream/gatestream.json", "./etc/gatestream/policies/",
            "./usr/bin/gatestreamd -> /opt/gatestream/gatestreamd", "./usr/bin/gatestream -> /opt/gatestream/gatestream",
        })
        {
            Assert.Contains(" " + path, contents, StringComparison.Ordinal);
        }

        Assert.Matches(@"-rwxr-xr-x root/root\s+\d+ [\d-]+ [\d:]+ \./opt/gatestream/gatestreamd\n", contents);
        Assert.DoesNotContain("alpine-librdkafka", contents, StringComparison.Ordinal);
        Assert.Contains("Package: gatestream\n", control, StringComparison.Ordinal);
        Assert.Contains("Architecture: amd64\n", control, StringComparison.Ordinal);
        Assert.Contains("./postinst", postinst, StringComparison.Ordinal);
        var script = await File.ReadAllTextAsync(Path.Combine(Repository.Root, "packaging", "debian", "postinst"));
        Assert.Contains("useradd --system --user-group", script, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task The_packaged_daemon_starts_as_the_units_ExecStart_runs_it_and_reports_ready_to_systemd()
    {
        Skip.IfNot(OperatingSystem.IsLinux() && File.Exists("/usr/bin/dpkg-deb"), "needs dpkg-deb");
        var root = System.IO.Directory.CreateTempSubdirectory("gatestream-deb-").FullName;
        try
        {
            var (extracted, why) = await RunAsync("dpkg-deb", "-x", packages.Deb, root);
            Assert.True(extracted == 0, why);
            var unit = await File.ReadAllLinesAsync(Path.Combine(root, "lib", "systemd", "system", "gatestream.service"));
            var execStart = unit.Single(l => l.StartsWith("ExecStart=", StringComparison.Ordinal))["ExecStart=".Length..].Split(' ');
            Assert.Contains(unit, l => l == "RestartPreventExitStatus=1");
            Assert.Contains(unit, l => l == "User=gatestream");
            Assert.Contains(unit, l => l == "Type=notify");

            // What systemd would give it: the unit's Environment=, its directories, a notify socket, and the
            // EnvironmentFile= (/etc/gatestream/gatestream.env) where an operator moves the listeners.
            var socketPath = Path.Combine(root, "notify.sock");
            using var manager = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
            manager.Bind(new UnixDomainSocketEndPoint(socketPath));
            System.IO.Directory.CreateDirectory(Path.Combine(root, "var", "lib", "gatestream"));
            await FreePort.BindAsync(3, async ports =>
            {
                var start = new ProcessStartInfo(root + execStart[0]) { WorkingDirectory = Path.Combine(root, "opt", "gatestream") };
                foreach (var arg in execStart.Skip(1))
                {
                    start.ArgumentList.Add(arg);
                }

                foreach (var line in unit.Where(l => l.StartsWith("Environment=", StringComparison.Ordinal)))
                {
                    var pair = line["Environment=".Length..].Split('=', 2);
                    start.Environment[pair[0]] = pair[1];
                }

                start.Environment["STATE_DIRECTORY"] = Path.Combine(root, "var", "lib", "gatestream");
                start.Environment["CONFIGURATION_DIRECTORY"] = Path.Combine(root, "etc", "gatestream");
                start.Environment["NOTIFY_SOCKET"] = socketPath;
                start.Environment["GateStream__Grpc__Url"] = $"http://127.0.0.1:{ports[0]}";
                start.Environment["GateStream__Http__Url"] = $"http://127.0.0.1:{ports[1]}";
                start.Environment["GateStream__Framed__Endpoint"] = $"127.0.0.1:{ports[2]}";
                start.Environment.Remove("DOTNET_ROOT"); // self-contained: it must not need the SDK's runtime
                await using var daemon = ChildProcess.Start(start);

                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                var buffer = new byte[4096];
                var messages = new StringBuilder();
                try
                {
                    while (!messages.ToString().Contains("READY=1", StringComparison.Ordinal))
                    {
                        var received = await manager.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
                        messages.Append(Encoding.UTF8.GetString(buffer, 0, received)).Append('\n');
                    }
                }
                catch (OperationCanceledException)
                {
                    if (FreePort.IsAddressInUse(daemon.Output, ports))
                    {
                        throw new IOException("address already in use:\n" + daemon.Output);
                    }

                    Assert.Fail("no READY=1 from the packaged daemon:\n" + daemon.Output);
                }

                // It reads the packaged configuration directory, and the packaged CLI talks to it.
                var (listed, gates) = await RunAsync(Path.Combine(root, "opt", "gatestream", "gatestream"), "gates", "--server", $"127.0.0.1:{ports[0]}");
                Assert.True(listed == 0, gates + daemon.Output);
                Assert.Equal("No gate is under way (--all lists finished ones too).\n", gates);
                Assert.Contains(Path.Combine(root, "etc", "gatestream", "policies"), daemon.Output, StringComparison.Ordinal);

                daemon.Terminate();
                Assert.Equal(0, await daemon.WaitForExitAsync(TimeSpan.FromSeconds(30)));
                return true;
            });
        }
        finally
        {
            System.IO.Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<(int Exit, string Output)> RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        await using var child = ChildProcess.Start(start);
        var exit = await child.WaitForExitAsync(TimeSpan.FromMinutes(3));
        return (exit, child.Stdout + child.Stderr);
    }
}
