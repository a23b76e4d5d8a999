using System.Globalization;
using System.Security.Authentication;
using System.Text.Json;
using System.Threading.Channels;
using GateStream.Core.Gates;
using GateStream.Core.Policies;
using GateStream.Daemon.Diagnostics;
using Prometheus;

namespace GateStream.Daemon.Webhooks;

/// <summary>
/// Calls the webhooks of imported Flagger Canaries as Flagger does (fluxcd/flagger pkg/controller/webhook.go): a POST of
/// the JSON payload, each attempt bounded by the hook's timeout, up to <c>retries</c> more attempts on a connection
/// error, 429 or a 5xx other than 501, waiting 1 s, 2 s, 4 s... (at most 30 s, or the Retry-After of a 429 or 503)
/// between them; 200-202 is success. Gates ask from their shard loop (<see cref="TryDispatch"/> only enqueues); a fixed
/// number of workers run the calls, and every answer goes to <see cref="Results"/>, which the engine delivers to the
/// gate's shard as a command.
/// </summary>
internal sealed class WebhookCaller : BackgroundService, IWebhookDispatcher
{
    /// <summary>Calls running at once, across all gates: a slow hook holds one worker, never a shard.</summary>
    public const int MaxConcurrentCalls = 16;

    /// <summary>Calls waiting for a worker; past it a gate's call fails at once (counted, logged).</summary>
    public const int QueueCapacity = 1024;

    /// <summary>Of a refusal's body, what is kept as the error (Flagger reports the body as the error).</summary>
    public const int MaxErrorChars = 200;

    /// <summary>A larger answer is not read: the call fails with an error.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    public const string ClientName = "gatestream-webhooks";

    /// <summary>For hooks with <c>disableTLS</c>: the server's certificate is not verified.</summary>
    public const string InsecureClientName = "gatestream-webhooks-insecure";

    private static readonly TimeSpan RetryWaitMin = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan RetryWaitMax = TimeSpan.FromSeconds(30);

    private readonly Channel<WebhookCall> _calls = Channel.CreateBounded<WebhookCall>(new BoundedChannelOptions(QueueCapacity)
    {
        SingleReader = false,
        SingleWriter = false,
        FullMode = BoundedChannelFullMode.Wait,
    });

    private readonly Channel<WebhookResult> _results = Channel.CreateUnbounded<WebhookResult>(new UnboundedChannelOptions { SingleReader = true });
    private readonly IHttpClientFactory _clients;
    private readonly TimeProvider _clock;
    private readonly ILogger<WebhookCaller> _logger;
    private readonly Counter _answers;
    private readonly Histogram _latency;

    public WebhookCaller(IHttpClientFactory clients, TimeProvider clock, DaemonMetrics metrics, ILogger<WebhookCaller> logger)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _clients = clients;
        _clock = clock;
        _logger = logger;
        var factory = Metrics.WithCustomRegistry(metrics.Registry);
        _answers = factory.CreateCounter("gatestream_webhook_calls_total",
            "Webhook calls of imported Flagger Canaries by hook type and outcome (success = 200-202; failure = another status; error = no answer).",
            new CounterConfiguration { LabelNames = ["type", "outcome"] });
        _latency = factory.CreateHistogram("gatestream_webhook_call_seconds",
            "Time from the first attempt of a webhook call to its answer, retries included.",
            new HistogramConfiguration { LabelNames = ["type"], Buckets = Histogram.ExponentialBuckets(0.001, 4, 9) });
    }

    /// <summary>Answers in completion order; read by the engine, which delivers each to its gate's shard.</summary>
    public ChannelReader<WebhookResult> Results => _results.Reader;

    public bool TryDispatch(WebhookCall request)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (_calls.Writer.TryWrite(request))
        {
            return true;
        }

        _answers.WithLabels(WebhookSpec.NameOf(request.Type), "error").Inc(request.Hooks.Count);
        DaemonLog.WebhookQueueFull(_logger, request.Gate, WebhookSpec.NameOf(request.Type), _calls.Reader.Count);
        return false;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        Task.WhenAll(Enumerable.Range(0, MaxConcurrentCalls).Select(_ => WorkAsync(stoppingToken)));

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        _calls.Writer.TryComplete();
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        _results.Writer.TryComplete();
    }

    private async Task WorkAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var call in _calls.Reader.ReadAllAsync(stoppingToken).ConfigureAwait(false))
            {
                _results.Writer.TryWrite(new WebhookResult(call.Gate, call.CallId, await CallAsync(call, stoppingToken).ConfigureAwait(false)));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>The call's hooks in order, stopping where Flagger stops (first failure, or first rollback request).</summary>
    internal async Task<IReadOnlyList<WebhookOutcome>> CallAsync(WebhookCall call, CancellationToken cancellationToken)
    {
        var outcomes = new List<WebhookOutcome>(call.Hooks.Count);
        foreach (var hook in call.Hooks)
        {
            var outcome = await CallHookAsync(hook, call.Payload, cancellationToken).ConfigureAwait(false);
            outcomes.Add(outcome);
            var type = WebhookSpec.NameOf(call.Type);
            _answers.WithLabels(type, outcome.Succeeded ? "success" : outcome.Status is null ? "error" : "failure").Inc();
            _latency.WithLabels(type).Observe(outcome.Latency.TotalSeconds);
            var text = Describe(outcome);
            if (outcome.Succeeded)
            {
                DaemonLog.WebhookAnswered(_logger, hook.Name, type, call.Gate, text);
            }
            else
            {
                DaemonLog.WebhookFailed(_logger, hook.Name, type, call.Gate, text);
            }

            if ((call.Stop == WebhookStop.AtFirstFailure && !outcome.Succeeded) || (call.Stop == WebhookStop.AtFirstSuccess && outcome.Succeeded))
            {
                break;
            }
        }

        return outcomes;
    }

    private async Task<WebhookOutcome> CallHookAsync(WebhookSpec hook, WebhookPayload payload, CancellationToken cancellationToken)
    {
        var body = PayloadJson(hook, payload);
        var client = _clients.CreateClient(hook.DisableTls ? InsecureClientName : ClientName);
        var started = _clock.GetTimestamp();
        int? status = null;
        string? error = null;
        var attempts = 0;
        while (true)
        {
            attempts++;
            TimeSpan? retryAfter = null;
            bool retry;
            using (var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                attempt.CancelAfter(hook.Timeout);
                try
                {
                    using var request = new HttpRequestMessage(HttpMethod.Post, hook.Url) { Content = new ByteArrayContent(body) };
                    request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
                    using var response = await client.SendAsync(request, HttpCompletionOption.ResponseContentRead, attempt.Token).ConfigureAwait(false);
                    status = (int)response.StatusCode;
                    error = status is >= 200 and <= 202 ? null : Clip(await response.Content.ReadAsStringAsync(attempt.Token).ConfigureAwait(false), status.Value);
                    retry = status == 429 || status == 0 || (status >= 500 && status != 501);
                    if (status is 429 or 503)
                    {
                        retryAfter = RetryAfter(response);
                    }
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    (status, error, retry) = (null, $"no answer within the timeout ({hook.Timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)}s)", true);
                }
                catch (HttpRequestException e)
                {
                    // A certificate that does not verify is not retried (as in Flagger); a refused or broken connection is.
                    (status, error, retry) = (null, e.InnerException is AuthenticationException ? $"TLS: {e.InnerException.Message}" : e.Message, e.InnerException is not AuthenticationException);
                }
                catch (OperationCanceledException)
                {
                    return new WebhookOutcome(hook.Name, null, _clock.GetElapsedTime(started), attempts, "not answered: the daemon is stopping");
                }
            }

            if (!retry || attempts > hook.Retries)
            {
                return new WebhookOutcome(hook.Name, status, _clock.GetElapsedTime(started), attempts, error);
            }

            try
            {
                await Task.Delay(retryAfter ?? Backoff(attempts - 1), _clock, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return new WebhookOutcome(hook.Name, status, _clock.GetElapsedTime(started), attempts, error ?? "not answered: the daemon is stopping");
            }
        }
    }

    /// <summary>Flagger's wait before retry n (0-based): 1 s x 2^n, at most 30 s.</summary>
    internal static TimeSpan Backoff(int retry)
    {
        var wait = RetryWaitMin * Math.Pow(2, Math.Min(retry, 16));
        return wait > RetryWaitMax ? RetryWaitMax : wait;
    }

    private static TimeSpan? RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - DateTimeOffset.UtcNow > TimeSpan.Zero ? date - DateTimeOffset.UtcNow : TimeSpan.Zero,
            _ => null,
        };

    /// <summary>
    /// Flagger's <c>CanaryWebhookPayload</c>: name, namespace, phase, checksum, and metadata when there is any (the
    /// hook's, under an event's eventMessage, eventType and timestamp, which win as in Flagger).
    /// </summary>
    internal static byte[] PayloadJson(WebhookSpec hook, WebhookPayload payload)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("name", payload.Name);
            json.WriteString("namespace", payload.Namespace);
            json.WriteString("phase", payload.Phase);
            json.WriteString("checksum", payload.Checksum);
            if (hook.Metadata.Count > 0 || payload.EventMetadata is { Count: > 0 })
            {
                json.WriteStartObject("metadata");
                if (payload.EventMetadata is { } events)
                {
                    foreach (var (key, value) in events)
                    {
                        json.WriteString(key, value);
                    }
                }

                foreach (var (key, value) in hook.Metadata)
                {
                    if (payload.EventMetadata?.ContainsKey(key) != true)
                    {
                        json.WriteString(key, value);
                    }
                }

                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static string Clip(string body, int status)
    {
        var text = body.Trim();
        if (text.Length == 0)
        {
            return $"HTTP {status.ToString(CultureInfo.InvariantCulture)} with an empty body";
        }

        return text.Length <= MaxErrorChars ? text : string.Concat(text.AsSpan(0, MaxErrorChars), "...");
    }

    private static string Describe(WebhookOutcome outcome) =>
        $"{(outcome.Status is { } s ? "HTTP " + s.ToString(CultureInfo.InvariantCulture) : "no answer")} after {outcome.Attempts} attempt(s) in "
        + $"{outcome.Latency.TotalMilliseconds.ToString("0.#", CultureInfo.InvariantCulture)} ms{(outcome.Error is { } e ? ": " + e : "")}";

    /// <summary>Registers the caller, its HTTP clients (no overall timeout: each attempt has its own) and the engine's use of it.</summary>
    public static void AddWebhooks(IServiceCollection services)
    {
        services.AddHttpClient(ClientName, Configure);
        services.AddHttpClient(InsecureClientName, Configure)
#pragma warning disable CA5359 // Only for hooks whose Canary says disableTLS: Flagger's InsecureSkipVerify, stated in the policy.
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                SslOptions = { RemoteCertificateValidationCallback = static (_, _, _, _) => true },
            });
#pragma warning restore CA5359
        services.AddSingleton<WebhookCaller>();
        static void Configure(HttpClient client)
        {
            client.Timeout = Timeout.InfiniteTimeSpan;
            client.MaxResponseContentBufferSize = MaxBodyBytes;
        }

        services.AddHostedService(sp => sp.GetRequiredService<WebhookCaller>());
    }
}
