using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Options;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace GateStream.Daemon.Hosting;

/// <summary>
/// Says once the listeners are bound what each one speaks. Kestrel's own "Now listening on" names every address
/// http://, the framed TCP port included, which is not HTTP at all; it is turned off (Microsoft.Hosting.Lifetime at
/// Warning) in favour of this line.
/// </summary>
internal sealed class ListenerAnnouncement(
    IServer server,
    IHostApplicationLifetime lifetime,
    IHostEnvironment environment,
    IOptions<GateStreamOptions> options,
    StartupNotes notes,
    ILogger<ListenerAnnouncement> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        lifetime.ApplicationStarted.Register(Announce);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Announce()
    {
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
        DaemonLog.Started(logger, DaemonCommandLine.Version, environment.EnvironmentName, string.Join(", ", Describe(addresses, options.Value)));
        if (notes.ResetRecords > 0)
        {
            DaemonLog.DevelopmentReset(logger, notes.ResetRecords, options.Value.State.Directory);
        }

        if (notes.DevelopmentTokenFile is { } token)
        {
            DaemonLog.DevelopmentToken(logger, token, $"gatestream override {Demo.DemoTraffic.Deployment}/v2-0 pause --reason \"looking into it\" --token-file {token}");
        }
    }

    /// <summary>
    /// Each bound address with its protocol. Kestrel lists them in the order they were configured: gRPC, HTTP, then the
    /// framed listener, which it shows as http:// too.
    /// </summary>
    internal static IEnumerable<string> Describe(IReadOnlyList<string> addresses, GateStreamOptions options)
    {
        var kinds = new List<string> { "gRPC (HTTP/2) {0}", "HTTP/1.1 {0}" };
        if (!string.IsNullOrWhiteSpace(options.Framed.Endpoint))
        {
            kinds.Add("framed {0}");
        }

        for (var i = 0; i < addresses.Count; i++)
        {
            var address = addresses[i];
            if (i == 2 || i >= kinds.Count)
            {
                // Not HTTP: tcp://host:port, or unix:/path for a socket.
                var bare = address.Replace("http://", "", StringComparison.Ordinal);
                address = bare.StartsWith(Framed.FramedListener.UnixPrefix, StringComparison.Ordinal) ? bare : "tcp://" + bare;
            }

            yield return string.Format(System.Globalization.CultureInfo.InvariantCulture, i < kinds.Count ? kinds[i] : "{0}", address);
        }
    }
}

/// <summary>What start-up did that the operator should read once the daemon is up.</summary>
internal sealed class StartupNotes
{
    /// <summary>The Development token file the daemon created or reused, if any.</summary>
    public string? DevelopmentTokenFile { get; init; }

    /// <summary>Decisions removed from a Development log so the demo starts afresh.</summary>
    public ulong ResetRecords { get; set; }
}
