using System.Runtime.CompilerServices;
using GateStream.Client.Internal;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Client;

/// <summary>
/// Follows GateStream's decision stream for a deployment controller: <see cref="WatchAsync"/> yields every decision
/// that matches a <see cref="DecisionFilter"/> exactly once, in sequence order, across broken connections, daemon
/// restarts and the daemon cutting off a slow reader.
/// </summary>
/// <remarks>
/// It calls <c>DecisionService.Watch</c> and remembers the sequence of the last decision it yielded. When the stream
/// breaks (UNAVAILABLE at shutdown, RESOURCE_EXHAUSTED for a reader that fell behind, a reset connection, or the
/// stream simply ending) it waits (exponential backoff with jitter) and calls Watch again with
/// <c>from_sequence</c> = that sequence: the daemon replays what was missed from its decision log, and anything
/// already yielded is skipped, so the caller sees no gap and no duplicate. Errors that retrying cannot fix
/// (OUT_OF_RANGE: the position is not in this daemon's log; INVALID_ARGUMENT, UNIMPLEMENTED, PERMISSION_DENIED,
/// UNAUTHENTICATED ...) end the enumeration with the <see cref="RpcException"/>.
/// </remarks>
public sealed class DecisionWatcher
{
    private readonly Func<CallInvoker> _connect;
    private readonly bool _fixedChannel;
    private readonly DecisionWatcherOptions _options;
    private readonly ILogger _logger;
    private long _reconnects;
    private ulong _lastSequence;

    /// <summary>Watches through <paramref name="channel"/> (gRPC reconnects its connection by itself).</summary>
    public DecisionWatcher(ChannelBase channel, DecisionWatcherOptions? options = null)
        : this((channel ?? throw new ArgumentNullException(nameof(channel))).CreateCallInvoker, options)
    {
        _fixedChannel = true;
    }

    /// <summary>
    /// Watches through whatever <paramref name="connect"/> returns, called again before every reconnection: use it
    /// to follow a daemon whose address can change, or to build a fresh channel after one was disposed.
    /// </summary>
    public DecisionWatcher(Func<CallInvoker> connect, DecisionWatcherOptions? options = null)
    {
        _connect = connect ?? throw new ArgumentNullException(nameof(connect));
        _options = options ?? new DecisionWatcherOptions();
        _logger = _options.Logger ?? NullLogger.Instance;
    }

    /// <summary>Sequence of the last decision yielded (0 before the first). Pass it as <see cref="DecisionFilter.FromSequence"/> to continue after a restart of the caller.</summary>
    public ulong LastSequence => Interlocked.Read(ref _lastSequence);

    /// <summary>Times the watch had to be re-established after it broke.</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    /// <summary>
    /// Yields the matching decisions, in sequence order, each once, until <paramref name="cancellationToken"/> fires
    /// (then it throws <see cref="OperationCanceledException"/>) or an error that retrying cannot fix occurs.
    /// </summary>
    /// <param name="filter">Which decisions, and from where; null = every non-shadow decision from now on.</param>
    /// <param name="cancellationToken">Ends the watch.</param>
    /// <remarks>
    /// Without <see cref="DecisionFilter.FromSequence"/> or <see cref="DecisionFilter.FromStart"/> the watch starts
    /// "now", anchored at the daemon's last sequence (from <c>ListGates</c>) so that even the first reconnection
    /// misses nothing.
    /// </remarks>
    public async IAsyncEnumerable<V1.Decision> WatchAsync(DecisionFilter? filter = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        filter ??= new DecisionFilter();
        var backoff = new Backoff(_options.ReconnectDelay, _options.MaxReconnectDelay);
        var last = filter.FromSequence;
        var fromStart = last == 0 && filter.FromStart;
        var anchored = last > 0 || fromStart;
        var attempt = 0;
        var watching = false;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (attempt++ > 0)
            {
                Interlocked.Increment(ref _reconnects);
            }

            AsyncServerStreamingCall<V1.Decision>? call = null;
            Exception? failure = null;
            try
            {
                var client = new V1.DecisionService.DecisionServiceClient(_connect());
                if (!anchored)
                {
                    var gates = await client.ListGatesAsync(new V1.ListGatesRequest(), cancellationToken: cancellationToken).ConfigureAwait(false);
                    last = gates.LastSequence;
                    fromStart = last == 0;
                    anchored = true;
                }

                call = client.Watch(Request(filter, last, fromStart), cancellationToken: cancellationToken);
                await call.ResponseHeadersAsync.ConfigureAwait(false);
                backoff.Reset();
            }
            catch (Exception e) when (IsRetryable(e, cancellationToken))
            {
                failure = e;
                call?.Dispose();
                call = null;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
            {
                call?.Dispose();
                throw new OperationCanceledException("The watch was cancelled.", e, cancellationToken);
            }

            if (call is not null)
            {
                using (call)
                {
                    _options.Watching?.Invoke(new DecisionWatchStarted(last, last == 0 && fromStart, watching));
                    watching = true;
                    while (true)
                    {
                        (var next, failure) = await MoveNextAsync(call, cancellationToken).ConfigureAwait(false);
                        if (!next)
                        {
                            break;
                        }

                        var decision = call.ResponseStream.Current;
                        if (decision.Sequence <= last)
                        {
                            continue; // Already yielded before the reconnection.
                        }

                        last = decision.Sequence;
                        Interlocked.Exchange(ref _lastSequence, last);
                        yield return decision;
                    }
                }
            }

            var delay = backoff.Next();
            ClientLog.WatchReconnect(_logger, last, delay, failure is null ? "the stream ended" : Describe(failure));
            _options.Reconnecting?.Invoke(new DecisionWatchReconnecting(failure, delay, anchored ? last : null, backoff.Failures));
            await Task.Delay(delay, _options.TimeProvider ?? TimeProvider.System, cancellationToken).ConfigureAwait(false);
        }
    }

    private static V1.WatchRequest Request(DecisionFilter filter, ulong last, bool fromStart)
    {
        var request = new V1.WatchRequest { FromSequence = last, FromStart = last == 0 && fromStart, IncludeShadow = filter.IncludeShadow };
        request.Gates.Add(filter.Gates);
        request.Deployments.Add(filter.Deployments);
        return request;
    }

    /// <summary>The next decision, false at the end of the stream; a retryable failure ends it too and is returned.</summary>
    private async Task<(bool Next, Exception? Failure)> MoveNextAsync(AsyncServerStreamingCall<V1.Decision> call, CancellationToken cancellationToken)
    {
        try
        {
            return (await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false), null);
        }
        catch (Exception e) when (IsRetryable(e, cancellationToken))
        {
            return (false, e);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Cancelled && cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException("The watch was cancelled.", e, cancellationToken);
        }
    }

    private bool IsRetryable(Exception e, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return false;
        }

        return e switch
        {
            RpcException rpc => rpc.StatusCode is StatusCode.Unavailable or StatusCode.ResourceExhausted or StatusCode.Internal
                or StatusCode.Unknown or StatusCode.Aborted or StatusCode.DeadlineExceeded or StatusCode.Cancelled,
            ObjectDisposedException => !_fixedChannel, // a factory may hand out a fresh channel next time
            IOException or HttpRequestException or OperationCanceledException => true,
            _ => false,
        };
    }

    private static string Describe(Exception e) => e is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : e.Message;
}

/// <summary>Which decisions a <see cref="DecisionWatcher"/> yields, and from where (the fields of <c>WatchRequest</c>).</summary>
public sealed class DecisionFilter
{
    /// <summary>Only decisions about these gates (ids <c>deployment/canaryVersion</c>); empty = all gates.</summary>
    public IList<string> Gates { get; } = [];

    /// <summary>Only decisions about gates of these deployments; empty = all deployments.</summary>
    public IList<string> Deployments { get; } = [];

    /// <summary>Also yield shadow decisions (dry runs a controller must not act on). Off by default.</summary>
    public bool IncludeShadow { get; set; }

    /// <summary>Yield every decision after this sequence first (from the log), then live ones: a saved position. 0 = none.</summary>
    public ulong FromSequence { get; set; }

    /// <summary>Replay every retained decision from the start of the log first. Ignored when <see cref="FromSequence"/> is set.</summary>
    public bool FromStart { get; set; }
}

/// <summary>Reconnection behaviour of a <see cref="DecisionWatcher"/>.</summary>
public sealed class DecisionWatcherOptions
{
    /// <summary>First delay before re-establishing a broken watch; doubles (with jitter) up to <see cref="MaxReconnectDelay"/>. Default 100 ms.</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Longest delay between attempts. Default 5 s.</summary>
    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Clock for the delays. Default <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Where interruptions are logged. Optional.</summary>
    public ILogger? Logger { get; set; }

    /// <summary>
    /// Called each time the daemon accepts a Watch call (its response headers arrived), before any decision of that
    /// call is yielded: to tell a user the stream is live, or live again. Optional.
    /// </summary>
    /// <remarks>Called on the enumerating thread; an exception it throws ends the enumeration.</remarks>
    public Action<DecisionWatchStarted>? Watching { get; set; }

    /// <summary>
    /// Called each time the watch broke, or could not be established, just before the watcher waits to try again
    /// (it always tries again, however long the daemon is away): to show a status line while retrying. Optional.
    /// </summary>
    /// <remarks>Called on the enumerating thread; an exception it throws ends the enumeration.</remarks>
    public Action<DecisionWatchReconnecting>? Reconnecting { get; set; }
}

/// <summary>A Watch call the daemon accepted (see <see cref="DecisionWatcherOptions.Watching"/>).</summary>
/// <param name="AfterSequence">The call yields decisions after this sequence (0 with <paramref name="FromStart"/>: the whole retained log).</param>
/// <param name="FromStart">The call starts at the beginning of the daemon's retained log.</param>
/// <param name="Resumed">An earlier call of this enumeration was accepted too: this one resumes after an interruption.</param>
public sealed record DecisionWatchStarted(ulong AfterSequence, bool FromStart, bool Resumed);

/// <summary>The watch broke or could not be established; the watcher waits <see cref="Delay"/>, then tries again (see <see cref="DecisionWatcherOptions.Reconnecting"/>).</summary>
/// <param name="Failure">What went wrong: an <see cref="RpcException"/> (the daemon unreachable, restarting, cutting off a slow reader ...) or another I/O error; null when the daemon simply ended the stream.</param>
/// <param name="Delay">How long the watcher waits before the next attempt.</param>
/// <param name="ResumeAfter">The sequence the next attempt resumes after; null while the starting point of a watch "from now on" is not known yet (<c>ListGates</c> has not answered).</param>
/// <param name="Attempt">Consecutive failed attempts so far, this one included (1 after a stream that had been working).</param>
public sealed record DecisionWatchReconnecting(Exception? Failure, TimeSpan Delay, ulong? ResumeAfter, int Attempt);
