using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;

namespace GateStream.LoadHarness;

/// <summary>The daemon under test: `dotnet gatestreamd.dll` as a child process on free loopback ports, with temp dirs.</summary>
internal sealed partial class DaemonProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _tempDir;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private DaemonProcess(Process process, string tempDir, int grpcPort, int httpPort, int framedPort)
    {
        _process = process;
        _tempDir = tempDir;
        GrpcUrl = $"http://127.0.0.1:{grpcPort}";
        HttpUrl = $"http://127.0.0.1:{httpPort}";
        FramedEndpoint = new IPEndPoint(IPAddress.Loopback, framedPort);
    }

    public string GrpcUrl { get; }

    public string HttpUrl { get; }

    public IPEndPoint FramedEndpoint { get; }

    public int Pid => _process.Id;

    public static string FindOrBuildDaemon()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "GateStream.sln")))
        {
            dir = dir.Parent;
        }
        if (dir is null)
        {
            throw new InvalidOperationException("GateStream.sln not found above the harness; pass --daemon path/to/gatestreamd.dll");
        }
        var project = Path.Combine(dir.FullName, "src", "GateStream.Daemon");
        var dll = Path.Combine(project, "bin", "Release", "net10.0", "gatestreamd.dll");
        // Always build: cheap when up to date, and never measures a stale daemon.
        Console.WriteLine("building the daemon (Release) ...");
        using var build = Process.Start(new ProcessStartInfo("dotnet", ["build", "-c", "Release", "--nologo", "-v", "q", project])
        {
            RedirectStandardOutput = true,
        })!;
        var output = build.StandardOutput.ReadToEnd();
        build.WaitForExit();
        if (build.ExitCode != 0 || !File.Exists(dll))
        {
            throw new InvalidOperationException($"building the daemon failed:{Environment.NewLine}{output}");
        }
        return dll;
    }

    /// <summary>
    /// Starts the daemon, retrying with fresh ports: free ports are picked by binding port 0 and releasing it, and on a
    /// busy machine another process can take one before the daemon binds it.
    /// </summary>
    public static async Task<DaemonProcess> StartWithRetryAsync(string dll, string policyYaml, IReadOnlyList<string>? extraArgs = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await StartAsync(dll, policyYaml, extraArgs);
            }
            catch (InvalidOperationException e) when (attempt < 3)
            {
                Console.WriteLine($"daemon start failed (attempt {attempt}), retrying: {e.Message.Split('\n')[0]}");
            }
        }
    }

    /// <param name="extraArgs">More configuration arguments (<c>--GateStream:Engine:...=...</c>), after the harness's own.</param>
    public static async Task<DaemonProcess> StartAsync(string dll, string policyYaml, IReadOnlyList<string>? extraArgs = null)
    {
        var tempDir = Directory.CreateTempSubdirectory("gatestream-load-").FullName;
        var policies = Directory.CreateDirectory(Path.Combine(tempDir, "policies")).FullName;
        await File.WriteAllTextAsync(Path.Combine(policies, "load.yaml"), policyYaml);
        var state = Directory.CreateDirectory(Path.Combine(tempDir, "state")).FullName;
        int grpcPort = FreePort(), httpPort = FreePort(), framedPort = FreePort();
        var psi = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = Path.GetDirectoryName(dll)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add($"--GateStream:Grpc:Url=http://127.0.0.1:{grpcPort}");
        psi.ArgumentList.Add($"--GateStream:Http:Url=http://127.0.0.1:{httpPort}");
        psi.ArgumentList.Add($"--GateStream:Framed:Endpoint=127.0.0.1:{framedPort}");
        psi.ArgumentList.Add($"--GateStream:Policies:Directory={policies}");
        psi.ArgumentList.Add($"--GateStream:State:Directory={state}");
        psi.ArgumentList.Add("--GateStream:Demo:Enabled=false");
        psi.ArgumentList.Add("--Logging:LogLevel:Default=Warning");
        foreach (var arg in extraArgs ?? [])
        {
            psi.ArgumentList.Add(arg);
        }
        psi.Environment["DOTNET_ENVIRONMENT"] = "Production";
        psi.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet");
        var log = new System.Collections.Concurrent.ConcurrentQueue<string>();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { log.Enqueue(e.Data); } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { log.Enqueue(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var daemon = new DaemonProcess(process, tempDir, grpcPort, httpPort, framedPort);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"the daemon exited with {process.ExitCode}:{Environment.NewLine}{string.Join(Environment.NewLine, log)}");
            }
            try
            {
                await daemon.ScrapeAsync();
                using var probe = new TcpClient();
                await probe.ConnectAsync(daemon.FramedEndpoint);
                return daemon;
            }
            catch (Exception e) when (e is HttpRequestException or SocketException or TaskCanceledException)
            {
                if (deadline.Elapsed > TimeSpan.FromSeconds(30))
                {
                    await daemon.DisposeAsync();
                    throw new InvalidOperationException($"the daemon did not come up in 30 s:{Environment.NewLine}{string.Join(Environment.NewLine, log)}", e);
                }
                await Task.Delay(100);
            }
        }
    }

    /// <summary>The child's user + system CPU time so far.</summary>
    public TimeSpan CpuTime()
    {
        _process.Refresh();
        return _process.TotalProcessorTime;
    }

    public bool HasExited => _process.HasExited;

    /// <summary>A size field of the child's /proc/PID/status (VmRSS, VmHWM ...), in bytes; -1 when unreadable.</summary>
    public long StatusBytes(string field)
    {
        try
        {
            foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
            {
                if (line.StartsWith(field + ":", StringComparison.Ordinal))
                {
                    return long.Parse(line.AsSpan(field.Length + 1).Trim().TrimEnd("kB").Trim(), CultureInfo.InvariantCulture) * 1024;
                }
            }
        }
        catch (IOException)
        {
            // The process is gone.
        }
        return -1;
    }

    /// <summary>The daemon's /metrics, parsed.</summary>
    public async Task<Metrics> ScrapeAsync() => Metrics.Parse(await _http.GetStringAsync($"{HttpUrl}/metrics"));

    /// <summary>Scrapes until <paramref name="condition"/> holds (30 s at most).</summary>
    public async Task WaitForAsync(Func<Metrics, bool> condition, string what)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition(await ScrapeAsync()))
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(30))
            {
                throw new InvalidOperationException($"the daemon did not reach {what} in 30 s");
            }
            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
        try
        {
            Directory.Delete(_tempDir, recursive: true);
        }
        catch (IOException)
        {
            // Best effort.
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
    [GeneratedRegex("""^([a-z_]+(?:\{[^}]*\})?)\s+(\S+)""", RegexOptions.Multiline)]
    private static partial Regex SampleLine();

    /// <summary>Samples of a Prometheus text exposition, keyed by name and labels as written.</summary>
    internal sealed class Metrics(Dictionary<string, double> samples)
    {
        public static Metrics Parse(string text) => new(SampleLine().Matches(text)
            .ToDictionary(m => m.Groups[1].Value, m => double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)));

        /// <summary>The sample's value, 0 when absent (a counter before its first increment).</summary>
        public double Value(string key) => samples.GetValueOrDefault(key);

        public IEnumerable<KeyValuePair<string, double>> Matching(string prefix) => samples.Where(s => s.Key.StartsWith(prefix, StringComparison.Ordinal));

        public double Sum(string prefix) => Matching(prefix).Sum(s => s.Value);
    }
}
