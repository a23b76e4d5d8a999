using GateStream.Core.Time;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using GateStream.Client;
using Grpc.Core;
using Grpc.Net.Client;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Internal;

/// <summary>A gRPC channel to one daemon, its clients, and how its errors read on one line.</summary>
internal sealed class DaemonConnection : IDisposable
{
    /// <summary>Unary calls that take longer than this have lost the daemon.</summary>
    public static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);

    private readonly GrpcChannel _channel;

    private DaemonConnection(Uri server)
    {
        Server = server.ToString().TrimEnd('/');
        _channel = GrpcChannel.ForAddress(server, new GrpcChannelOptions
        {
            MaxReceiveMessageSize = 64 * 1024 * 1024,
        });
        Decisions = new V1.DecisionService.DecisionServiceClient(_channel);
        Control = new V1.ControlService.ControlServiceClient(_channel);
        Ingest = new V1.IngestService.IngestServiceClient(_channel);
    }

    public string Server { get; }

    public V1.DecisionService.DecisionServiceClient Decisions { get; }

    public V1.ControlService.ControlServiceClient Control { get; }

    public V1.IngestService.IngestServiceClient Ingest { get; }

    public static DateTime Deadline => DateTime.UtcNow + CallTimeout;

    public static DaemonConnection Open(string server) => new(Address(server));

    /// <summary>
    /// <c>host:port</c> (plaintext, as grpcurl takes it; <c>[::1]:4317</c> for IPv6) or an http:// or https:// URL.
    /// </summary>
    /// <exception cref="UsageException">Neither.</exception>
    public static Uri Address(string server)
    {
        ArgumentNullException.ThrowIfNull(server);
        if (server.Contains("://", StringComparison.Ordinal))
        {
            if (Uri.TryCreate(server, UriKind.Absolute, out var url) && (url.Scheme == Uri.UriSchemeHttp || url.Scheme == Uri.UriSchemeHttps) && url.Host.Length > 0)
            {
                return url;
            }

            throw new UsageException($"--server: '{server}' is not host:port or an http:// or https:// URL (e.g. 127.0.0.1:4317)");
        }

        var colon = server.LastIndexOf(':');
        var hasPort = colon > 0 && colon > server.LastIndexOf(']') && colon < server.Length - 1 && server[(colon + 1)..].All(char.IsAsciiDigit);
        if (hasPort && Uri.TryCreate("http://" + server, UriKind.Absolute, out var plain) && plain.Host.Length > 0
            && plain.AbsolutePath == "/" && plain.Query.Length == 0)
        {
            return plain;
        }

        throw new UsageException($"--server: '{server}' is not host:port or an http:// or https:// URL (e.g. 127.0.0.1:4317)");
    }

    /// <summary>
    /// The bearer token for the control API: the file's first line that is not blank or a comment (on an
    /// <c>actor token</c> line, as in the daemon's tokens file, the token), else <c>GATESTREAM_TOKEN</c>.
    /// </summary>
    public static Metadata BearerFrom(FileInfo? tokenFile)
    {
        string? token = null;
        if (tokenFile is not null)
        {
            string[] lines;
            try
            {
                lines = File.ReadAllLines(tokenFile.FullName);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new CliException($"--token-file: cannot read {tokenFile.FullName}: {e.Message}");
            }

            var line = lines.Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0 && !l.StartsWith('#'));
            token = line?.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[^1];
            if (token is null)
            {
                throw new CliException($"--token-file: {tokenFile.FullName} holds no token");
            }
        }
        else if (Environment.GetEnvironmentVariable("GATESTREAM_TOKEN") is { } fromEnvironment && fromEnvironment.Trim().Length > 0)
        {
            token = fromEnvironment.Trim();
        }

        if (token is null)
        {
            throw new CliException("no token: the control API needs one; pass --token-file FILE or set GATESTREAM_TOKEN");
        }

        return new Metadata { { "authorization", "Bearer " + token } };
    }

    /// <summary>
    /// Decisions from <c>DecisionService.Watch</c>, through GateStream.Client's <see cref="DecisionWatcher"/>: each
    /// once and in order across disconnects and daemon restarts (it resumes with <c>from_sequence</c>), retrying
    /// forever with a backoff of 0.2 s doubling to 5 s. Interruptions and reconnections are said through
    /// <paramref name="status"/>, and with <paramref name="announceLive"/> also the first time the stream is live.
    /// Errors that retrying cannot fix end it with a <see cref="CliException"/>.
    /// </summary>
    public async IAsyncEnumerable<V1.Decision> WatchAsync(DecisionFilter filter, Action<string> status, bool announceLive, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var watcher = new DecisionWatcher(_channel, new DecisionWatcherOptions
        {
            ReconnectDelay = TimeSpan.FromMilliseconds(200),
            MaxReconnectDelay = TimeSpan.FromSeconds(5),
            Watching = started =>
            {
                if (started.Resumed)
                {
                    status(Invariant($"reconnected to {Server}; resuming after decision {started.AfterSequence}."));
                }
                else if (announceLive)
                {
                    status(filter.FromStart
                        ? $"watching every decision from the start of the log on {Server} (Ctrl+C to stop)."
                        : filter.FromSequence > 0
                            ? Invariant($"watching decisions after #{started.AfterSequence} on {Server} (Ctrl+C to stop).")
                            : Invariant($"watching decisions from now on (after #{started.AfterSequence}) on {Server} (Ctrl+C to stop)."));
                }
            },
            Reconnecting = retry =>
            {
                var problem = retry.Failure switch
                {
                    null => "the daemon ended the stream",
                    RpcException e => Describe(e, "watch").Message,
                    var e => $"watch: {Innermost(e).Message}",
                };
                var delay = Durations.Format(TimeSpan.FromMilliseconds(Math.Round(retry.Delay.TotalMilliseconds)));
                status(Invariant($"{problem}; reconnecting in {delay}") + (retry.ResumeAfter is { } after ? Invariant($" (resuming after decision {after}).") : "."));
            },
        });
        var decisions = watcher.WatchAsync(filter, cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using (decisions.ConfigureAwait(false))
        {
            while (true)
            {
                try
                {
                    if (!await decisions.MoveNextAsync().ConfigureAwait(false))
                    {
                        yield break;
                    }
                }
                catch (RpcException e) when (cancellationToken.IsCancellationRequested)
                {
                    throw new OperationCanceledException("Watch cancelled.", e, cancellationToken);
                }
                catch (RpcException e)
                {
                    throw Describe(e, "watch");
                }

                yield return decisions.Current;
            }
        }
    }

    /// <summary>One line for a failed call: what was attempted, the daemon's message, and the status code.</summary>
    public CliException Describe(RpcException e, string what)
    {
        ArgumentNullException.ThrowIfNull(e);
        var detail = e.Status.Detail;
        var message = e.StatusCode switch
        {
            StatusCode.Unavailable when e.Status.DebugException is { } inner =>
                $"cannot reach the GateStream daemon at {Server}: {Innermost(inner).Message}",
            StatusCode.Unavailable => $"cannot reach the GateStream daemon at {Server}: {detail}",
            StatusCode.DeadlineExceeded => $"the GateStream daemon at {Server} did not answer within {Durations.Format(CallTimeout)}",
            StatusCode.Unauthenticated => $"{what}: not authenticated: {detail} (check --token-file or GATESTREAM_TOKEN)",
            StatusCode.Unimplemented => $"{what}: the server at {Server} does not offer this call; is it a GateStream daemon of this version?",
            _ => $"{what}: {detail}",
        };
        return new CliException($"{message} ({CodeName(e.StatusCode)})");
    }

    /// <summary><c>FailedPrecondition</c> -> <c>FAILED_PRECONDITION</c>, as gRPC documents its codes.</summary>
    public static string CodeName(StatusCode code)
    {
        var name = code.ToString();
        var text = new StringBuilder(name.Length + 4);
        for (var i = 0; i < name.Length; i++)
        {
            if (i > 0 && char.IsUpper(name[i]))
            {
                text.Append('_');
            }

            text.Append(char.ToUpperInvariant(name[i]));
        }

        return text.ToString();
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is not null)
        {
            e = e.InnerException;
        }

        return e;
    }

    public void Dispose() => _channel.Dispose();
}
