using System.Diagnostics;
using System.Text;

namespace GateStream.Cli.Tests.Infrastructure;

/// <summary>What a finished CLI run printed and returned.</summary>
internal sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public string[] StdoutLines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>
/// The real <c>gatestream</c> command as a child process (<c>dotnet cli/gatestream.dll ...</c>, its build output
/// beside the tests), with its stdout and stderr captured as they come, so a test can wait for a line, send it
/// SIGINT, and read exactly what it printed.
/// </summary>
internal sealed class CliProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Capture _out;
    private readonly Capture _err;
    private readonly Task _stdoutPump;
    private readonly Task _stderrPump;

    private CliProcess(Process process)
    {
        _process = process;
        _out = new Capture();
        _err = new Capture();
        _stdoutPump = PumpAsync(process.StandardOutput, _out);
        _stderrPump = PumpAsync(process.StandardError, _err);
    }

    /// <summary>The CLI's own build output, copied to cli/ beside the tests (see the test project).</summary>
    public static string CliDll => Path.Combine(AppContext.BaseDirectory, "cli", "gatestream.dll");

    public string Stdout => _out.Text;

    public string Stderr => _err.Text;

    public IReadOnlyList<string> StdoutLines => _out.Lines;

    public IReadOnlyList<string> StderrLines => _err.Lines;

    public bool HasExited => _process.HasExited;

    public static async Task<CliResult> RunAsync(string[] args, IDictionary<string, string?>? environment = null, TimeSpan? timeout = null)
    {
        await using var cli = Start(args, environment);
        var exit = await cli.WaitForExitAsync(timeout ?? TimeSpan.FromSeconds(60));
        return new CliResult(exit, cli.Stdout, cli.Stderr);
    }

    public static CliProcess Start(string[] args, IDictionary<string, string?>? environment = null)
    {
        Assert.True(File.Exists(CliDll), $"{CliDll} is missing: the CLI's build output must be beside the tests");
        var start = new ProcessStartInfo(DotnetHost())
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        start.ArgumentList.Add(CliDll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        // The test's own environment must not leak a token or server into the command.
        start.Environment.Remove("GATESTREAM_TOKEN");
        start.Environment.Remove("GATESTREAM_SERVER");
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
        }

        var process = Process.Start(start)!;
        process.StandardInput.Close();
        return new CliProcess(process);
    }

    /// <summary>Waits for a line on stdout (or stderr) that matches, and returns it.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match, bool stderr = false, TimeSpan? timeout = null)
    {
        var stream = stderr ? _err : _out;
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (DateTime.UtcNow < deadline)
        {
            if (stream.Lines.FirstOrDefault(match) is { } line)
            {
                return line;
            }

            if (_process.HasExited && _stdoutPump.IsCompleted && _stderrPump.IsCompleted)
            {
                break;
            }

            await Task.Delay(20);
        }

        throw new TimeoutException($"no matching line on {(stderr ? "stderr" : "stdout")}.\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}");
    }

    /// <summary>Waits until stdout holds at least <paramref name="count"/> lines.</summary>
    public async Task<IReadOnlyList<string>> WaitForLinesAsync(int count, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (_out.Lines.Count < count)
        {
            if (DateTime.UtcNow > deadline || (_process.HasExited && _stdoutPump.IsCompleted))
            {
                throw new TimeoutException($"expected {count} stdout lines.\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}");
            }

            await Task.Delay(20);
        }

        return _out.Lines;
    }

    /// <summary>Ctrl+C: SIGINT to the process.</summary>
    public void Interrupt()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-INT", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) } })!;
        kill.WaitForExit();
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cancel.Token);
            await Task.WhenAll(_stdoutPump, _stderrPump).WaitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"gatestream did not exit within {timeout}.\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}");
        }

        return _process.ExitCode;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static async Task PumpAsync(StreamReader reader, Capture into)
    {
        var buffer = new char[4096];
        int read;
        while ((read = await reader.ReadAsync(buffer)) > 0)
        {
            into.Append(buffer.AsSpan(0, read));
        }
    }

    /// <summary>The dotnet host running the tests (so the CLI runs on the same runtime).</summary>
    private static string DotnetHost()
    {
        if (Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet")
        {
            return path;
        }

        return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
    }

    /// <summary>Everything one stream printed, and its complete lines, readable from any thread.</summary>
    private sealed class Capture
    {
        private readonly Lock _lock = new();
        private readonly StringBuilder _text = new();
        private readonly List<string> _lines = [];
        private int _lineStart;

        public string Text
        {
            get
            {
                lock (_lock)
                {
                    return _text.ToString();
                }
            }
        }

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_lock)
                {
                    return [.. _lines];
                }
            }
        }

        public void Append(ReadOnlySpan<char> chunk)
        {
            lock (_lock)
            {
                _text.Append(chunk);
                for (var i = _lineStart; i < _text.Length; i++)
                {
                    if (_text[i] == '\n')
                    {
                        _lines.Add(_text.ToString(_lineStart, i - _lineStart));
                        _lineStart = i + 1;
                    }
                }
            }
        }
    }
}
