using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Queries;

/// <summary>
/// Flagger Canaries whose metrics are MetricTemplates, against a real Prometheus (Debian's <c>prometheus</c> package)
/// scraping a small exporter this test owns: the healthy template promotes, the template whose value turns bad
/// mid-rollout rolls back, and templates whose Prometheus does not answer or refuses the credentials fail their checks as
/// Flagger counts them. Prometheus asks for basic auth; the credentials come from the secretRef's files and are never logged.
/// </summary>
public sealed class PrometheusTemplateTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(150);

    private const string User = "reader";

    private const string Password = "query-reader-pw";

    private const string WrongPassword = "not-the-reader-pw";

    // bcrypt (cost 4) of Password, for Prometheus's web config; computed once with Python's crypt.crypt and METHOD_BLOWFISH.
    private const string PasswordHash = "$2b$04$xgoRG9vCmJI5pM/hiCYxJOu4g/3c8tshMaTv3DezW4dk2X3tjz0Iu";

    // Written for this test: a latency histogram query and a "database connections" gauge, in namespace apps, plus one
    // whose provider address is a port where nothing listens.
    private const string PolicyTemplate = """
        apiVersion: flagger.app/v1beta1
        kind: MetricTemplate
        metadata: { name: request-latency, namespace: apps }
        spec:
          provider: { type: prometheus, address: "http://127.0.0.1:PROMETHEUS_PORT", secretRef: { name: prom-reader } }
          query: |
            histogram_quantile({{ variables.quantile }},
              sum(rate(shop_request_seconds_bucket{app="{{ target }}"}[{{ interval }}])) by (le))
        ---
        apiVersion: flagger.app/v1beta1
        kind: MetricTemplate
        metadata: { name: db-connections, namespace: apps }
        spec:
          provider: { type: prometheus, address: "http://127.0.0.1:PROMETHEUS_PORT/", secretRef: { name: prom-reader } }
          query: max(shop_db_connections_in_use{app="{{ target }}", namespace="{{ namespace }}"})
        ---
        apiVersion: flagger.app/v1beta1
        kind: MetricTemplate
        metadata: { name: error-budget, namespace: apps }
        spec:
          provider: { type: prometheus, address: "http://127.0.0.1:DEAD_PORT" }
          query: vector(0)
        ---
        apiVersion: flagger.app/v1beta1
        kind: MetricTemplate
        metadata: { name: refund-rate, namespace: apps }
        spec:
          provider: { type: prometheus, address: "http://127.0.0.1:PROMETHEUS_PORT", secretRef: { name: prom-stale } }
          query: vector(0)
        ---
        apiVersion: flagger.app/v1beta1
        kind: Canary
        metadata: { name: checkout, namespace: apps }
        spec:
          targetRef: { apiVersion: apps/v1, kind: Deployment, name: checkout }
          analysis:
            interval: 10s
            threshold: 5           # a query slowed past its check by a loaded test machine must not fail the healthy one
            stepWeight: 20
            maxWeight: 40
            metrics:
              - name: p99 latency
                templateRef: { name: request-latency }
                templateVariables: { quantile: "0.99" }
                interval: 30s
                thresholdRange: { max: 0.25 }
        ---
        apiVersion: flagger.app/v1beta1
        kind: Canary
        metadata: { name: payments, namespace: apps }
        spec:
          targetRef: { apiVersion: apps/v1, kind: Deployment, name: payments }
          analysis:
            interval: 10s
            threshold: 2
            stepWeight: 20
            maxWeight: 60
            metrics:
              - name: database connections
                templateRef: { name: db-connections, namespace: apps }
                thresholdRange: { max: 80 }
        ---
        apiVersion: flagger.app/v1beta1
        kind: Canary
        metadata: { name: orders, namespace: apps }
        spec:
          targetRef: { apiVersion: apps/v1, kind: Deployment, name: orders }
          analysis:
            interval: 10s
            threshold: 2
            stepWeight: 20
            maxWeight: 40
            metrics:
              - name: error budget
                templateRef: { name: error-budget }
                thresholdRange: { max: 1 }
        ---
        apiVersion: flagger.app/v1beta1
        kind: Canary
        metadata: { name: refunds, namespace: apps }
        spec:
          targetRef: { apiVersion: apps/v1, kind: Deployment, name: refunds }
          analysis:
            interval: 10s
            threshold: 2
            stepWeight: 20
            maxWeight: 40
            metrics:
              - name: refund rate
                templateRef: { name: refund-rate }
                thresholdRange: { max: 1 }
        """;

    [SkippableFact]
    public async Task Templates_are_queried_at_each_check_healthy_promotes_failing_rolls_back_unreachable_fails_its_checks()
    {
        var prometheus = FindOnPath("prometheus");
        Skip.If(prometheus is null, "prometheus is not installed (Debian package prometheus; .ci/run installs it)");

        await using var exporter = await Exporter.StartAsync();
        await using var server = await PrometheusServer.StartAsync(prometheus!, exporter.Port, output);
        var secrets = Directory.CreateTempSubdirectory("gatestream-secrets-").FullName;
        WriteSecret(secrets, "prom-reader", Password);
        WriteSecret(secrets, "prom-stale", WrongPassword);
        using var dead = FreePort.Reserve();
        // Prometheus has scraped the exporter and can answer both queries before any rollout starts.
        await server.WaitForValueAsync("max(shop_db_connections_in_use)");
        await server.WaitForValueAsync("histogram_quantile(0.99, sum(rate(shop_request_seconds_bucket[30s])) by (le))");

        var policy = PolicyTemplate.Replace("PROMETHEUS_PORT", server.Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("DEAD_PORT", dead.Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        await using var daemon = new TestDaemon(policy, new Dictionary<string, string?> { ["GateStream:MetricQueries:SecretsDirectory"] = secrets });
        await daemon.StartAsync();
        using var logs = new LogCapture();
        daemon.Services.GetRequiredService<ILoggerFactory>().AddProvider(logs);
        using var watch = await daemon.WatchAsync(new V1.WatchRequest());
        string[] deployments = ["checkout", "payments", "orders", "refunds"];
        foreach (var deployment in deployments)
        {
            await daemon.StartRolloutAsync(deployment);
        }

        var finished = new Dictionary<string, V1.Decision>(StringComparer.Ordinal);
        var decisions = await TestDaemon.CollectAsync(watch, seen =>
        {
            var last = seen[^1];
            output.WriteLine($"{last.Gate}: {last.Action} weight {last.Weight} ({last.Phase}) - {last.Reason}");
            if (last.Deployment == "payments" && last.Action == V1.Action.Promote && last.Weight == 40)
            {
                // Mid-rollout, after a check that passed on the healthy value, the canary's database pool fills up;
                // Prometheus scrapes it within a second.
                exporter.Connections = 95;
            }

            if (last.Phase is V1.Phase.Succeeded or V1.Phase.RolledBack)
            {
                finished[last.Deployment] = last;
            }

            return finished.Count == deployments.Length;
        }, Timeout);

        Assert.Equal(deployments.Length, finished.Count);
        var checkout = finished["checkout"];
        Assert.Equal((V1.Action.Promote, 100u, V1.Phase.Succeeded), (checkout.Action, checkout.Weight, checkout.Phase));
        var latency = Assert.Single(checkout.Evidence, e => e.Rule == "p99 latency");
        Assert.Equal("metric:prometheus:p99 latency(last)", latency.Signal);
        // Every scrape adds 90 requests under 50 ms, 9 more under 100 ms and 1 under 250 ms: p99 interpolates to 100 ms.
        Assert.Equal(0.1, latency.Observed, 3);

        var payments = finished["payments"];
        Assert.Equal((V1.Action.Rollback, 0u, V1.Phase.RolledBack), (payments.Action, payments.Weight, payments.Phase));
        var passed = Assert.Single(decisions, d => d.Deployment == "payments" && d.Action == V1.Action.Promote && d.Weight == 40);
        Assert.Equal(12.0, Assert.Single(passed.Evidence).Observed);
        var pool = Assert.Single(payments.Evidence, e => e.Rule == "database connections");
        Assert.Equal((95.0, 80.0), (pool.Observed, pool.Threshold));
        Assert.Contains("failed checks 2 of 2", payments.Reason, StringComparison.Ordinal);

        var orders = finished["orders"];
        Assert.Equal((V1.Action.Rollback, V1.Phase.RolledBack), (orders.Action, orders.Phase));
        Assert.Contains("No values for metric 'error budget'", orders.Reason, StringComparison.Ordinal);

        var refunds = finished["refunds"];
        Assert.Equal((V1.Action.Rollback, V1.Phase.RolledBack), (refunds.Action, refunds.Phase));
        Assert.Contains("No values for metric 'refund rate'", refunds.Reason, StringComparison.Ordinal);

        var metrics = await daemon.MetricsTextAsync();
        Assert.True(MetricsText.Value(metrics, "gatestream_metric_queries_total{provider=\"prometheus\",outcome=\"value\"}") >= 4, metrics);
        Assert.True(MetricsText.Value(metrics, "gatestream_metric_queries_total{provider=\"prometheus\",outcome=\"failed\"}") >= 4, metrics);

        // Each failure is logged with its template and why; no credential appears in any line.
        var lines = logs.Entries.ToList();
        Assert.Contains(lines, l => l.EventId == 1400 && l.Message.Contains("MetricTemplate apps/refund-rate", StringComparison.Ordinal) && l.Message.Contains("status 401", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.EventId == 1400 && l.Message.Contains("MetricTemplate apps/error-budget", StringComparison.Ordinal) && l.Message.Contains("Connection refused", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Message.Contains(Password, StringComparison.Ordinal) || l.Message.Contains(WrongPassword, StringComparison.Ordinal));
        Directory.Delete(secrets, recursive: true);
    }

    /// <summary>A secret as Kubernetes mounts one: a directory per secret, a file per key (written with a trailing newline, as echo does).</summary>
    private static void WriteSecret(string root, string name, string password)
    {
        var folder = Directory.CreateDirectory(Path.Combine(root, "apps", name)).FullName;
        File.WriteAllText(Path.Combine(folder, "username"), User + "\n");
        File.WriteAllText(Path.Combine(folder, "password"), password + "\n");
    }

    private static string? FindOnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, program))
            .FirstOrDefault(File.Exists);

    /// <summary>The application's /metrics as Prometheus scrapes it: a request-latency histogram and a pool gauge.</summary>
    private sealed class Exporter : IAsyncDisposable
    {
        private readonly HttpListener _listener;
        private readonly Task _loop;
        private long _scrapes;
        private volatile int _connections = 12;

        private Exporter(HttpListener listener, int port)
        {
            _listener = listener;
            Port = port;
            _loop = Task.Run(ServeAsync);
        }

        public int Port { get; }

        public int Connections
        {
            get => _connections;
            set => _connections = value;
        }

        public static async Task<Exporter> StartAsync()
        {
            var listener = await LoopbackListener.StartAsync();
            return new Exporter(listener, listener.Port());
        }

        public async ValueTask DisposeAsync()
        {
            _listener.Stop();
            _listener.Close();
            await _loop;
        }

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await _listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                var n = Interlocked.Increment(ref _scrapes);
                var text = string.Create(CultureInfo.InvariantCulture, $$"""
                    # TYPE shop_request_seconds histogram
                    shop_request_seconds_bucket{app="checkout",le="0.05"} {{90 * n}}
                    shop_request_seconds_bucket{app="checkout",le="0.1"} {{99 * n}}
                    shop_request_seconds_bucket{app="checkout",le="0.25"} {{100 * n}}
                    shop_request_seconds_bucket{app="checkout",le="+Inf"} {{100 * n}}
                    shop_request_seconds_sum{app="checkout"} {{4.2 * n}}
                    shop_request_seconds_count{app="checkout"} {{100 * n}}
                    # TYPE shop_db_connections_in_use gauge
                    shop_db_connections_in_use{app="payments",namespace="apps",pod="payments-b"} {{Connections}}
                    shop_db_connections_in_use{app="payments",namespace="apps",pod="payments-a"} {{Connections / 2}}

                    """);
                var body = Encoding.UTF8.GetBytes(text);
                context.Response.ContentType = "text/plain; version=0.0.4";
                context.Response.ContentLength64 = body.Length;
                await context.Response.OutputStream.WriteAsync(body);
                context.Response.Close();
            }
        }
    }

    /// <summary>A Prometheus server from the system package, scraping the exporter every second, in a temporary directory.</summary>
    private sealed class PrometheusServer : IAsyncDisposable
    {
        private readonly ChildProcess _process;
        private readonly string _directory;
        private readonly HttpClient _http;

        private PrometheusServer(ChildProcess process, string directory, int port)
        {
            _process = process;
            _directory = directory;
            Port = port;
            _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            _http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{User}:{Password}")));
        }

        public int Port { get; }

        public static Task<PrometheusServer> StartAsync(string binary, int exporterPort, ITestOutputHelper output) => FreePort.BindAsync(1, async ports =>
        {
            var directory = Directory.CreateTempSubdirectory("gatestream-prometheus-").FullName;
            var config = Path.Combine(directory, "prometheus.yml");
            await File.WriteAllTextAsync(config, $$"""
                global: { scrape_interval: 1s, evaluation_interval: 1s }
                scrape_configs:
                  - job_name: shop
                    static_configs: [ { targets: ["127.0.0.1:{{exporterPort}}"] } ]
                """);
            var web = Path.Combine(directory, "web.yml");
            await File.WriteAllTextAsync(web, $"basic_auth_users:\n  {User}: {PasswordHash}\n");
            var start = new ProcessStartInfo(binary)
            {
                ArgumentList =
                {
                    $"--config.file={config}",
                    $"--storage.tsdb.path={Path.Combine(directory, "data")}",
                    $"--web.listen-address=127.0.0.1:{ports[0]}",
                    $"--web.config.file={web}",
                },
                WorkingDirectory = directory,
            };
            var process = ChildProcess.Start(start);
            var server = new PrometheusServer(process, directory, ports[0]);
            try
            {
                await Eventually.Until(async () => process.HasExited || await server.IsReadyAsync(), TimeSpan.FromSeconds(60), () => process.Output);
                if (process.HasExited)
                {
                    throw new IOException($"prometheus exited at start: {process.Output}");
                }
            }
            catch
            {
                output.WriteLine(process.Output);
                await server.DisposeAsync();
                throw;
            }

            return server;
        });

        public async Task WaitForValueAsync(string query) =>
            await Eventually.Until(
                async () => (await _http.GetStringAsync(new Uri($"/api/v1/query?query={Uri.EscapeDataString(query)}", UriKind.Relative))).Contains("\"value\":[", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60),
                () => $"Prometheus has no value for {query} yet\n{_process.Output}");

        public async ValueTask DisposeAsync()
        {
            _http.Dispose();
            await _process.DisposeAsync();
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }

        private async Task<bool> IsReadyAsync()
        {
            try
            {
                using var response = await _http.GetAsync(new Uri("/-/ready", UriKind.Relative));
                return response.StatusCode == HttpStatusCode.OK;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }
    }
}
