using GateStream.Daemon.Decisions.Log;
using GateStream.Daemon.Hosting;

// Thin by design: configuration, services and endpoints are put together in DaemonApp so tests host the same daemon.
var app = DaemonApp.Build(args);
try
{
    // Opened (and recovered) before the host starts, so an unusable state directory is one line and exit code 1.
    _ = app.Services.GetRequiredService<DecisionLog>();
}
catch (DecisionLogUnavailableException e)
{
    await Console.Error.WriteLineAsync("gatestreamd: " + e.Message).ConfigureAwait(false);
    return 1;
}

await app.RunAsync().ConfigureAwait(false);
return 0;
