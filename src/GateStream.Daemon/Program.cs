using GateStream.Daemon.Decisions.Log;
using GateStream.Daemon.Hosting;

// Thin by design: configuration, services and endpoints are put together in DaemonApp so tests host the same daemon.
if (DaemonCommandLine.Answer(args) is { } answer)
{
    await Console.Out.WriteAsync(answer).ConfigureAwait(false);
    return 0;
}

try
{
    StartupFailure.CheckArguments(args);
    var app = DaemonApp.Build(args);

    // Opened (and recovered) before the host starts, so an unusable state directory is one line and exit code 1.
    _ = app.Services.GetRequiredService<DecisionLog>();
    await app.RunAsync().ConfigureAwait(false);
    return 0;
}
catch (Exception e) when (StartupFailure.Describe(e) is { } reason)
{
    // A configuration the daemon cannot start with: one line naming the cause, exit code 1, no stack trace
    // (the unit's RestartPreventExitStatus=1 keeps systemd from restarting into the same refusal).
    await Console.Error.WriteLineAsync("gatestreamd: " + reason).ConfigureAwait(false);
    return 1;
}
catch (Exception e)
{
    // Not a configuration fault: a bug or an environment nobody planned for. The trace is what a bug report needs;
    // 70 is EX_SOFTWARE (sysexits.h), so it is told apart from a configuration refusal (1).
    await Console.Error.WriteLineAsync("gatestreamd: failed to start: " + e).ConfigureAwait(false);
    return 70;
}
