using GateStream.Contracts.Framed;
using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Options;
using GateStream.Daemon.Otlp;
using GateStream.Daemon.Push;
using GateStream.Ingest.Framed;
using Grpc.AspNetCore.Server;
using Microsoft.Extensions.Options;

namespace GateStream.Daemon.Auth;

/// <summary>
/// Optional bearer tokens for senders, from <c>GateStream:Ingest:TokensFile</c> (a <see cref="TokenFile"/> of its own,
/// separate from the control API's): when set, OTLP/gRPC exports and <c>IngestService.Push</c> calls need
/// <c>authorization: Bearer &lt;token&gt;</c> metadata (checked once per call, before the request is read) and framed
/// connections a token in their hello (checked once per connection). Off by default. Refusals are
/// <c>UNAUTHENTICATED</c> or the framed ERROR 14, counted and logged by <see cref="AuthRefusals"/>.
/// </summary>
internal sealed class IngestAuthentication : IFramedAuthenticator
{
    public const string Otlp = "otlp";
    public const string Push = "push";
    public const string Framed = "framed";

    private const string MissingBearer = "missing 'authorization: Bearer <token>' metadata: this server requires an ingest token";
    private const string Invalid = "the token is not valid";
    private const string Unusable = "no token is accepted now: the server's ingest tokens file cannot be used";

    private static readonly string MissingFramed =
        $"this server requires a token: set handshake flag 0x{FramedWire.FlagToken:x4} and send the token after the hello (docs/framed-protocol.md)";

    private readonly TokenFile? _tokens;
    private readonly AuthRefusals _refusals;

    public IngestAuthentication(IOptions<GateStreamOptions> options, AuthRefusals refusals, ILogger<IngestAuthentication> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _refusals = refusals;
        if (options.Value.Ingest.TokensFile is { Length: > 0 } path)
        {
            _tokens = new TokenFile(path, "ingest", logger);
            foreach (var listener in new[] { Otlp, Push, Framed })
            {
                foreach (var reason in new[] { Reason(TokenCheck.Missing), Reason(TokenCheck.Invalid), Reason(TokenCheck.FileUnusable) })
                {
                    refusals.Declare(listener, reason);
                }
            }
        }
    }

    /// <summary>Whether senders must present a token.</summary>
    public bool Enabled => _tokens is not null;

    /// <summary>The framed handshake's check (<see cref="IFramedAuthenticator"/>).</summary>
    public string? Authenticate(ReadOnlySpan<byte> token, string peer)
    {
        if (_tokens is null)
        {
            return null;
        }

        var check = _tokens.Check(token, out _);
        return check == TokenCheck.Accepted ? null : Refuse(Framed, check, peer, MissingFramed);
    }

    /// <summary>
    /// Middleware in front of the ingest endpoints: an OTLP Export or a Push call without a valid token is answered
    /// <c>UNAUTHENTICATED</c> (a trailers-only gRPC response), an OTLP/HTTP request 401, before its body is read or
    /// decoded. Other endpoints pass untouched. Installed only when tokens are configured.
    /// </summary>
    public Task InvokeAsync(HttpContext context, RequestDelegate next)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(next);
        var method = context.GetEndpoint()?.Metadata.GetMetadata<GrpcMethodMetadata>();
        var http = method is null && context.Request.Path.Value is OtlpHttpReceiver.TracesPath or OtlpHttpReceiver.MetricsPath;
        var listener = http ? Otlp
            : method is null ? null
            : method.ServiceType == typeof(OtlpService) ? Otlp
            : method.ServiceType == typeof(IngestService) && method.Method.Name == "Push" ? Push
            : null;
        if (listener is null || _tokens is null)
        {
            return next(context);
        }

        var check = _tokens.CheckBearer(context.Request.Headers.Authorization, out _);
        if (check == TokenCheck.Accepted)
        {
            return next(context);
        }

        var message = Refuse(listener, check, Peers.Of(context), MissingBearer);
        var response = context.Response;
        if (http)
        {
            // OTLP/HTTP: 401 with the challenge; the exporter does not retry it.
            response.StatusCode = StatusCodes.Status401Unauthorized;
            response.Headers.WWWAuthenticate = "Bearer";
            response.ContentType = "text/plain; charset=utf-8";
            return response.WriteAsync(message, context.RequestAborted);
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/grpc";
        response.Headers["grpc-status"] = "16"; // UNAUTHENTICATED
        response.Headers["grpc-message"] = message; // ASCII without '%': no percent-encoding needed
        return Task.CompletedTask;
    }

    private string Refuse(string listener, TokenCheck check, string peer, string missing)
    {
        var message = check switch
        {
            TokenCheck.Missing => missing,
            TokenCheck.Invalid => Invalid,
            _ => Unusable,
        };
        _refusals.Refused(listener, Reason(check), peer, message);
        return message;
    }

    private static string Reason(TokenCheck check) => check switch
    {
        TokenCheck.Missing => "missing_token",
        TokenCheck.Invalid => "invalid_token",
        _ => "tokens_file_unusable",
    };
}
