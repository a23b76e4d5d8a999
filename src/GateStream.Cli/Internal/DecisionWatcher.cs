using System.Globalization;
using System.Runtime.CompilerServices;
using Grpc.Core;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Internal;

/// <summary>
/// Follows DecisionService.Watch across disconnects: after a broken stream, a daemon restart or a
/// RESOURCE_EXHAUSTED cut-off it calls Watch again with <c>from_sequence</c> = the last decision received, after a
/// backoff (0.2 s doubling to 5 s), so each decision is yielded exactly once and in order.
/// </summary>
internal sealed class DecisionWatcher(DaemonConnection connection, Action<string> status)
{
    private static readonly TimeSpan FirstBackoff = TimeSpan.FromMilliseconds(200);
    private static readonly TimeSpan LongestBackoff = TimeSpan.FromSeconds(5);

    /// <summary>Say when the stream is live (and from where); problems and reconnections are always said.</summary>
    public bool AnnounceLive { get; init; } = true;

    /// <summary>
    /// Decisions matching <paramref name="filter"/>'s gates, deployments and include_shadow: every one after
    /// <paramref name="after"/> (0 = from the start of the log), or with <paramref name="after"/> null, every one
    /// taken from now on (the list-then-watch pattern: ListGates' last_sequence is the starting point).
    /// </summary>
    public async IAsyncEnumerable<V1.Decision> WatchAsync(V1.WatchRequest filter, ulong? after, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var backoff = FirstBackoff;
        var cursor = after;
        var announced = false;
        while (true)
        {
            string? problem = null;
            if (cursor is null)
            {
                try
                {
                    var snapshot = await connection.Decisions.ListGatesAsync(new V1.ListGatesRequest(), deadline: DaemonConnection.Deadline, cancellationToken: cancellationToken).ConfigureAwait(false);
                    cursor = snapshot.LastSequence;
                }
                catch (RpcException e) when (IsTransient(e, cancellationToken))
                {
                    problem = Describe(e);
                }
            }

            if (cursor is { } from)
            {
                var request = filter.Clone();
                request.FromSequence = from;
                request.FromStart = from == 0;
                using var call = connection.Decisions.Watch(request, cancellationToken: cancellationToken);
                var live = false;
                while (true)
                {
                    bool next;
                    try
                    {
                        if (!live)
                        {
                            await call.ResponseHeadersAsync.ConfigureAwait(false);
                            live = true;
                            if (AnnounceLive || announced)
                            {
                                status(announced
                                    ? Invariant($"reconnected to {connection.Server}; resuming after decision {from}.")
                                    : from == 0
                                        ? $"watching every decision from the start of the log on {connection.Server} (Ctrl+C to stop)."
                                        : Invariant($"watching decisions after {from} on {connection.Server} (Ctrl+C to stop)."));
                            }

                            announced = true;
                        }

                        next = await call.ResponseStream.MoveNext(cancellationToken).ConfigureAwait(false);
                    }
                    catch (RpcException e) when (IsTransient(e, cancellationToken))
                    {
                        problem = Describe(e);
                        break;
                    }
                    catch (RpcException e) when (cancellationToken.IsCancellationRequested)
                    {
                        throw new OperationCanceledException("Watch cancelled.", e, cancellationToken);
                    }
                    catch (RpcException e)
                    {
                        throw connection.Describe(e, "watch");
                    }

                    if (!next)
                    {
                        problem = "the daemon ended the stream";
                        break;
                    }

                    var decision = call.ResponseStream.Current;
                    cursor = decision.Sequence;
                    backoff = FirstBackoff;
                    yield return decision;
                }
            }

            status(Invariant($"{problem}; reconnecting in {CliDuration.Format(backoff)}") + (cursor is { } c ? Invariant($" (resuming after decision {c}).") : "."));
            await Task.Delay(backoff, cancellationToken).ConfigureAwait(false);
            backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, LongestBackoff.Ticks));
        }
    }

    /// <summary>Worth calling again: the daemon was unreachable, restarted, cut us off or failed in passing.</summary>
    private static bool IsTransient(RpcException e, CancellationToken cancellationToken) =>
        !cancellationToken.IsCancellationRequested && e.StatusCode is StatusCode.Unavailable or StatusCode.ResourceExhausted or StatusCode.Internal
            or StatusCode.Unknown or StatusCode.Aborted or StatusCode.Cancelled or StatusCode.DeadlineExceeded;

    private string Describe(RpcException e) =>
        connection.Describe(e, "watch").Message;

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
