using Microsoft.Extensions.Options;

namespace GateStream.Daemon.Options;

/// <summary>Validates every key at start; each failure names its key so the operator knows what to fix.</summary>
internal sealed class GateStreamOptionsValidator : IValidateOptions<GateStreamOptions>
{
    public ValidateOptionsResult Validate(string? name, GateStreamOptions options)
    {
        var problems = new List<string>();
        CheckListener(problems, "Grpc", options.Grpc);
        CheckListener(problems, "Http", options.Http);

        if (!string.IsNullOrEmpty(options.Framed.Endpoint) && !options.Framed.Endpoint.StartsWith("unix:", StringComparison.Ordinal)
            && !System.Net.IPEndPoint.TryParse(options.Framed.Endpoint, out _))
        {
            problems.Add($"GateStream:Framed:Endpoint '{options.Framed.Endpoint}' is neither host:port (an IP address) nor unix:/path.");
        }

        if (string.IsNullOrWhiteSpace(options.Policies.Directory))
        {
            problems.Add("GateStream:Policies:Directory must be set.");
        }

        if (options.Policies.MaxFileBytes is < 1024 or > 64L * 1024 * 1024)
        {
            problems.Add($"GateStream:Policies:MaxFileBytes must be between 1024 and 67108864 (got {options.Policies.MaxFileBytes}).");
        }

        if (string.IsNullOrWhiteSpace(options.State.Directory))
        {
            problems.Add("GateStream:State:Directory must be set.");
        }

        problems.AddRange(options.State.ToLogOptions().Validate());
        problems.AddRange(options.MetricQueries.Validate());

        if (options.Control.TokensFile is { Length: > 0 } tokens && !File.Exists(tokens))
        {
            problems.Add($"GateStream:Control:TokensFile '{tokens}' does not exist.");
        }

        if (options.Ingest.TokensFile is { Length: > 0 } ingestTokens && !File.Exists(ingestTokens))
        {
            problems.Add($"GateStream:Ingest:TokensFile '{ingestTokens}' does not exist.");
        }

        var engine = options.Engine;
        if (engine.TickInterval < TimeSpan.FromMilliseconds(10) || engine.TickInterval > TimeSpan.FromMinutes(1))
        {
            problems.Add($"GateStream:Engine:TickInterval must be between 10 ms and 1 min (got {engine.TickInterval}).");
        }

        if (engine.SubscriberBuffer < 1)
        {
            problems.Add($"GateStream:Engine:SubscriberBuffer must be at least 1 (got {engine.SubscriberBuffer}).");
        }

        if (engine.MaxReceiveMessageBytes < 1024)
        {
            problems.Add($"GateStream:Engine:MaxReceiveMessageBytes must be at least 1024 (got {engine.MaxReceiveMessageBytes}).");
        }

        if (engine.FinishedRetention <= TimeSpan.Zero)
        {
            problems.Add($"GateStream:Engine:FinishedRetention must be positive (got {engine.FinishedRetention}).");
        }

        problems.AddRange(engine.ToIngestOptions().Validate(EngineOptions.KeyOf));
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }

    private static void CheckListener(List<string> problems, string key, ListenerOptions listener)
    {
        if (!Uri.TryCreate(listener.Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            problems.Add($"GateStream:{key}:Url '{listener.Url}' must be an absolute http:// or https:// URL.");
            return;
        }

        var tls = uri.Scheme == Uri.UriSchemeHttps;
        if (tls && (string.IsNullOrEmpty(listener.CertificatePath) || string.IsNullOrEmpty(listener.KeyPath)))
        {
            problems.Add($"GateStream:{key}:Url is https, so GateStream:{key}:CertificatePath and GateStream:{key}:KeyPath must be set.");
        }

        foreach (var (path, name) in new[] { (listener.CertificatePath, "CertificatePath"), (listener.KeyPath, "KeyPath"), (listener.ClientCaPath, "ClientCaPath") })
        {
            if (!string.IsNullOrEmpty(path) && !File.Exists(path))
            {
                problems.Add($"GateStream:{key}:{name} '{path}' does not exist.");
            }
        }

        if (!tls && !string.IsNullOrEmpty(listener.CertificatePath))
        {
            problems.Add($"GateStream:{key}:CertificatePath is set but GateStream:{key}:Url is not https.");
        }
    }
}
