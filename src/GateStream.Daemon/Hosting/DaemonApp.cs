using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using GateStream.Core;
using GateStream.Daemon.Auth;
using GateStream.Core.Policies;
using GateStream.Daemon.Control;
using GateStream.Daemon.Decisions;
using GateStream.Daemon.Decisions.Log;
using GateStream.Daemon.Demo;
using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Engine;
using GateStream.Daemon.Framed;
using GateStream.Daemon.Kafka;
using GateStream.Daemon.Options;
using GateStream.Daemon.Push;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting.Systemd;
using Microsoft.Extensions.Options;
using Prometheus;

namespace GateStream.Daemon.Hosting;

/// <summary>Builds the daemon: configuration sources, options, the engine, Kestrel listeners and endpoints.</summary>
public static class DaemonApp
{
    /// <summary>Optional system-wide configuration file, between appsettings and environment variables in precedence.</summary>
    public const string SystemConfigFile = "/etc/gatestream/gatestream.json";

    public static WebApplication Build(string[] args, Action<IConfigurationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            // Defaults (appsettings.json, the demo policies) live beside the binary, wherever it is started from.
            ContentRootPath = AppContext.BaseDirectory,
        });

        var lastJson = builder.Configuration.Sources.ToList().FindLastIndex(s => s is JsonConfigurationSource);
        builder.Configuration.Sources.Insert(lastJson + 1, new JsonConfigurationSource
        {
            Path = SystemConfigFile,
            Optional = true,
            ReloadOnChange = false,
            FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider("/"),
        });
        configure?.Invoke(builder.Configuration);
        ApplySystemdDirectories(builder.Configuration);

        builder.Host.UseSystemd();

        // The host logs a start-up failure ("Hosting failed to start") with its stack trace before rethrowing it;
        // Program reports it once instead: one line for a known configuration fault, the full trace for anything else.
        // Critical stays on, so a background service that stops the host is still logged with its trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        var services = builder.Services;
        // UseSystemd registers the notifier only under systemd; the watchdog wants it either way (it is a no-op without NOTIFY_SOCKET).
        services.TryAddSingleton<ISystemdNotifier, SystemdNotifier>();
        if (!SystemdHelpers.IsSystemdService() && !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("NOTIFY_SOCKET")))
        {
            // Started by something other than systemd (systemd-run --scope, a supervisor, a test) that still asks for
            // sd_notify messages: speak the same protocol.
            services.AddSingleton<IHostLifetime, SystemdLifetime>();
        }
        services.AddOptions<GateStreamOptions>()
            .Bind(builder.Configuration.GetSection(GateStreamOptions.Section))
            .PostConfigure(o => ResolvePaths(o, builder.Environment.ContentRootPath))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<GateStreamOptions>, GateStreamOptionsValidator>();
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<DaemonMetrics>();
        services.AddSingleton<ControlTokens>();
        services.AddSingleton<AuthRefusals>();
        services.AddSingleton<IngestAuthentication>();
        services.AddSingleton<PolicyWatcher>();
        services.AddHostedService(sp => sp.GetRequiredService<PolicyWatcher>());
        services.AddSingleton<PolicyCatalog>(sp => sp.GetRequiredService<PolicyWatcher>().Catalog);
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<GateStreamOptions>>().Value;
            var logger = sp.GetRequiredService<ILogger<DecisionLog>>();
            var log = DecisionLog.Open(options.State.ToLogOptions(), logger, sp.GetRequiredService<TimeProvider>(), DecisionHub.ValidatePayload);
            DaemonLog.LogOpened(logger, options.State.Directory, log.RecoveryReport.Records, log.RecoveryReport.Segments, log.LastSequence);
            return log;
        });
        services.AddSingleton(sp => new DecisionHub(
            sp.GetRequiredService<DecisionLog>(),
            sp.GetRequiredService<DaemonMetrics>(),
            sp.GetRequiredService<IOptions<GateStreamOptions>>().Value.Engine.SubscriberBuffer));
        GateStream.Daemon.Webhooks.WebhookCaller.AddWebhooks(services);
        services.AddSingleton<EngineHost>();
        services.AddHostedService(sp => sp.GetRequiredService<EngineHost>());
        KafkaRegistration.AddKafka(services, builder.Configuration);
        services.AddSingleton(sp => new TapHub(sp.GetRequiredService<EngineHost>().Ingest));
        services.AddHostedService<WatchdogService>();
        services.AddHostedService<DemoTraffic>();
        services.AddHostedService<GateStream.Daemon.Queries.MetricQueryPoller>();

        services.AddGrpc(o =>
        {
            o.MaxReceiveMessageSize = builder.Configuration.GetValue<int?>("GateStream:Engine:MaxReceiveMessageBytes") ?? Defaults.MaxMessageBytes;
            o.EnableDetailedErrors = false;
        });
        GateStream.Daemon.Otlp.OtlpEndpoints.AddOtlp(services);
        IngestMethodProvider.AddTo(services);
        services.AddGrpcReflection();
        GateStream.Daemon.Http.HttpApi.AddHttpApi(services);
        services.AddHealthChecks().AddCheck<EngineHealthCheck>("engine").AddCheck<DecisionLogHealthCheck>("decision-log");
        services.AddGrpcHealthChecks().AddCheck<EngineHealthCheck>("gatestream");

        builder.WebHost.ConfigureKestrel((context, kestrel) =>
        {
            var options = context.Configuration.GetSection(GateStreamOptions.Section).Get<GateStreamOptions>() ?? new GateStreamOptions();
            Listen(kestrel, options.Grpc, HttpProtocols.Http2, "grpc");
            Listen(kestrel, options.Http, HttpProtocols.Http1, "http");
            kestrel.ListenFramed(options.Framed.Endpoint);
            GateStream.Daemon.Framed.ListenerLimits.Apply(kestrel, context.Configuration);
        });

        var app = builder.Build();
        if (!string.IsNullOrEmpty(app.Configuration["GateStream:Ingest:TokensFile"]))
        {
            // Only then: without ingest tokens no request pays for the check.
            app.Use((context, next) => context.RequestServices.GetRequiredService<IngestAuthentication>().InvokeAsync(context, next));
        }

        app.MapGrpcService<DecisionService>();
        app.MapGrpcService<ControlService>();
        app.MapGrpcService<IngestService>();
        GateStream.Daemon.Otlp.OtlpEndpoints.MapOtlp(app);
        app.MapGrpcHealthChecksService();
        app.MapGrpcReflectionService();
        app.MapHealthChecks("/healthz", new Microsoft.AspNetCore.Diagnostics.HealthChecks.HealthCheckOptions { ResponseWriter = DecisionLogHealthCheck.WriteReportAsync });
        GateStream.Daemon.Kafka.SuppressedLogLines.Export(app.Services.GetRequiredService<DaemonMetrics>().Registry);
        app.MapMetrics("/metrics", app.Services.GetRequiredService<DaemonMetrics>().Registry);
        GateStream.Daemon.Http.HttpApi.MapHttpApi(app);
        GateStream.Daemon.Dashboard.DashboardEndpoints.MapDashboard(app, (app.Configuration.GetSection(GateStreamOptions.Section).Get<GateStreamOptions>() ?? new()).Dashboard.Enabled);
        return app;
    }

    // Under systemd the unit's StateDirectory= and ConfigurationDirectory= arrive as environment variables.
    private static void ApplySystemdDirectories(ConfigurationManager configuration)
    {
        var overrides = new Dictionary<string, string?>();
        if (Environment.GetEnvironmentVariable("STATE_DIRECTORY") is { Length: > 0 } state && configuration["GateStream:State:Directory"] is null)
        {
            overrides["GateStream:State:Directory"] = state.Split(':')[0];
        }

        if (Environment.GetEnvironmentVariable("CONFIGURATION_DIRECTORY") is { Length: > 0 } config && configuration["GateStream:Policies:Directory"] is null)
        {
            overrides["GateStream:Policies:Directory"] = Path.Combine(config.Split(':')[0], "policies");
        }

        if (overrides.Count > 0)
        {
            configuration.AddInMemoryCollection(overrides);
        }
    }

    private static void ResolvePaths(GateStreamOptions options, string contentRoot)
    {
        options.Policies.Directory = Path.GetFullPath(options.Policies.Directory, contentRoot);
        options.State.Directory = Path.GetFullPath(options.State.Directory, contentRoot);
        if (options.Control.TokensFile is { Length: > 0 } tokens)
        {
            options.Control.TokensFile = Path.GetFullPath(tokens, contentRoot);
        }

        if (options.Ingest.TokensFile is { Length: > 0 } ingestTokens)
        {
            options.Ingest.TokensFile = Path.GetFullPath(ingestTokens, contentRoot);
        }
    }

    private static void Listen(KestrelServerOptions kestrel, ListenerOptions listener, HttpProtocols protocols, string name)
    {
        if (!Uri.TryCreate(listener.Url, UriKind.Absolute, out var uri))
        {
            return; // The options validator reports it with its key.
        }

        void Configure(Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions listen)
        {
            listen.Protocols = protocols;
            if (uri.Scheme != Uri.UriSchemeHttps || listener.CertificatePath is not { } cert || listener.KeyPath is not { } key
                || !File.Exists(cert) || !File.Exists(key))
            {
                return;
            }

            var certificate = X509Certificate2.CreateFromPemFile(cert, key);
            if (listener.ClientCaPath is not { } ca)
            {
                listen.UseHttps(new HttpsConnectionAdapterOptions { ServerCertificate = certificate });
                return;
            }

            // Client certificates required: validated per connection, where the peer is known, so a refusal is counted
            // and logged with it (gatestream_auth_refused_total{listener="grpc"|"http"}).
            var refusals = kestrel.ApplicationServices.GetRequiredService<AuthRefusals>();
            refusals.Declare(name, NoClientCertificate);
            refusals.Declare(name, UntrustedClientCertificate);
            var alpn = protocols == HttpProtocols.Http2 ? SslApplicationProtocol.Http2 : SslApplicationProtocol.Http11;
            listen.UseHttps(new TlsHandshakeCallbackOptions
            {
                OnConnection = context =>
                {
                    var peer = context.Connection.RemoteEndPoint?.ToString() ?? context.Connection.ConnectionId;
                    return ValueTask.FromResult(new SslServerAuthenticationOptions
                    {
                        ServerCertificate = certificate,
                        ClientCertificateRequired = true,
                        ApplicationProtocols = [alpn],
                        RemoteCertificateValidationCallback = (_, presented, _, _) => ValidateClient(presented, ca, refusals, name, peer),
                    });
                },
            });
        }

        if (uri.Host is "localhost")
        {
            kestrel.ListenLocalhost(uri.Port, Configure);
        }
        else if (uri.Host is "*" or "+" or "0.0.0.0")
        {
            kestrel.ListenAnyIP(uri.Port, Configure);
        }
        else if (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address))
        {
            kestrel.Listen(address, uri.Port, Configure);
        }
        else
        {
            throw new InvalidOperationException($"Listener host '{uri.Host}' must be an IP address, localhost or *.");
        }
    }

    private const string NoClientCertificate = "no_client_certificate";
    private const string UntrustedClientCertificate = "untrusted_client_certificate";

    private static bool ValidateClient(X509Certificate? presented, string caPath, AuthRefusals refusals, string listener, string peer)
    {
        if (presented is null)
        {
            refusals.Refused(listener, NoClientCertificate, peer, "the TLS client presented no certificate");
            return false;
        }

        using var certificate = X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        if (IssuedBy(certificate, caPath))
        {
            return true;
        }

        refusals.Refused(listener, UntrustedClientCertificate, peer, $"the client certificate '{certificate.Subject}' is not issued by {caPath}");
        return false;
    }

    private static bool IssuedBy(X509Certificate2 certificate, string caPath)
    {
        using var ca = X509CertificateLoader.LoadCertificateFromFile(caPath);
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(certificate);
    }
}

/// <summary>Healthy while the evaluation loop ticks.</summary>
internal sealed class EngineHealthCheck(EngineHost engine) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(engine.IsAlive
            ? HealthCheckResult.Healthy($"last evaluation tick {engine.SinceLastTick.TotalMilliseconds:F0} ms ago")
            : HealthCheckResult.Unhealthy($"no evaluation tick for {engine.SinceLastTick.TotalSeconds:F0} s"));
}
