using GateStream.Daemon.Hosting;

// Thin by design: configuration, services and endpoints are put together in DaemonApp so tests host the same daemon.
var app = DaemonApp.Build(args);
await app.RunAsync().ConfigureAwait(false);
