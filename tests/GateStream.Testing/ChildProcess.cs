using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace GateStream.Testing;

/// <summary>What a finished run printed and returned.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public string[] StdoutLines => Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>
/// A child process (the CLI, the daemon) with its stdout and stderr captured as they come, so a test can wait for a
/// line, signal it, and read exactly what it printed. Killed with its children if still running when disposed.
/// </summary>
public sealed class ChildProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly Capture _out;
    private readonly Capture _err;
    private readonly Task _stdoutPump;
    private readonly Task _stderrPump;

    private ChildProcess(Process process)
    {
        _process = process;
        _out = new Capture();
        _err = new Capture();
        _stdoutPump = PumpAsync(process.StandardOutput, _out);
        _stderrPump = PumpAsync(process.StandardError, _err);
    }

    public Process Process => _process;

    public string Stdout => _out.Text;

    public string Stderr => _err.Text;

    /// <summary>Both streams, for failure messages.</summary>
    public string Output => $"--- stdout\n{Stdout}\n--- stderr\n{Stderr}";

    public IReadOnlyList<string> StdoutLines => _out.Lines;

    public IReadOnlyList<string> StderrLines => _err.Lines;

    public bool HasExited => _process.HasExited;

    /// <summary>The dotnet host running the tests (so a child runs on the same runtime).</summary>
    public static string DotnetHost
    {
        get
        {
            if (Environment.ProcessPath is { } path && Path.GetFileNameWithoutExtension(path) == "dotnet")
            {
                return path;
            }

            return Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        }
    }

    /// <summary>Starts <paramref name="start"/> with stdin closed and both output streams captured.</summary>
    public static ChildProcess Start(ProcessStartInfo start)
    {
        ArgumentNullException.ThrowIfNull(start);
        start.UseShellExecute = false;
        start.RedirectStandardInput = true;
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.StandardOutputEncoding = Encoding.UTF8;
        start.StandardErrorEncoding = Encoding.UTF8;
        RestoreInterrupt(start);
        var process = Process.Start(start)!;
        process.StandardInput.Close();
        return new ChildProcess(process);
    }

    /// <summary>
    /// A test run started as a background job of a non-interactive shell (`.ci/run &amp;`) ignores SIGINT, and a child
    /// inherits that, so <see cref="Interrupt"/> would never reach it. The child then starts through
    /// `env --default-signal=INT`, which gives it the default disposition back, as a terminal's Ctrl+C would find it.
    /// </summary>
    private static void RestoreInterrupt(ProcessStartInfo start)
    {
        const string Env = "/usr/bin/env";
        if (!OperatingSystem.IsLinux() || !GateStream.Daemon.Diagnostics.InheritedSignals.Ignored(GateStream.Daemon.Diagnostics.InheritedSignals.Interrupt) || !File.Exists(Env))
        {
            return;
        }

        if (start.ArgumentList.Count == 0 && !string.IsNullOrEmpty(start.Arguments))
        {
            start.Arguments = $"--default-signal=INT \"{start.FileName}\" {start.Arguments}";
        }
        else
        {
            start.ArgumentList.Insert(0, start.FileName);
            start.ArgumentList.Insert(0, "--default-signal=INT");
        }

        start.FileName = Env;
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
    public void Interrupt() => Signal("-INT");

    /// <summary>SIGTERM, as a service manager stops a process.</summary>
    public void Terminate() => Signal("-TERM");

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
            throw new TimeoutException($"{_process.StartInfo.FileName} did not exit within {timeout}.\n{Output}");
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

    private void Signal(string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { signal, _process.Id.ToString(CultureInfo.InvariantCulture) } })!;
        kill.WaitForExit();
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
