using System.Runtime.CompilerServices;
using System.Threading.Channels;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Decisions;

/// <summary>
/// One reader of the decision stream, whatever carries it (gRPC Watch, HTTP server-sent events): the logged decisions
/// after a position first, then live ones, with no gap and no duplicate between the two. Opening it subscribes at
/// once, so every decision published after <see cref="LiveAfter"/> is queued for it while the log is read.
/// </summary>
internal sealed class DecisionFeed : IDisposable
{
    private readonly DecisionHub _hub;
    private readonly DecisionHub.Subscriber _subscriber;
    private readonly V1.WatchRequest _request;

    private DecisionFeed(DecisionHub hub, V1.WatchRequest request)
    {
        _hub = hub;
        _request = request;
        (_subscriber, LiveAfter) = hub.Subscribe(request);
    }

    /// <summary>The last sequence published before the subscription: up to it from the log, after it from the queue.</summary>
    public ulong LiveAfter { get; }

    /// <summary>Subscribes, and checks that the resume position is one the log can serve.</summary>
    /// <exception cref="ResumePositionException">The position is past the log's end or before what it still retains.</exception>
    public static DecisionFeed Open(DecisionHub hub, V1.WatchRequest request)
    {
        ArgumentNullException.ThrowIfNull(hub);
        ArgumentNullException.ThrowIfNull(request);
        var feed = new DecisionFeed(hub, request);
        if (CheckPosition(hub, request.FromSequence, feed.LiveAfter) is { } problem)
        {
            feed.Dispose();
            throw new ResumePositionException(problem, request.FromSequence > feed.LiveAfter);
        }

        return feed;
    }

    /// <summary>Why the log cannot serve the decisions after <paramref name="fromSequence"/>, or null when it can.</summary>
    public static string? CheckPosition(DecisionHub hub, ulong fromSequence, ulong lastSequence)
    {
        ArgumentNullException.ThrowIfNull(hub);
        if (fromSequence > lastSequence)
        {
            return $"from_sequence {fromSequence} is past the last decision ({lastSequence}); resume with at most {lastSequence}";
        }

        var first = hub.Log.FirstSequence;
        return fromSequence > 0 && first > 0 && fromSequence + 1 < first
            ? $"decisions after {fromSequence} are no longer retained (the log starts at {first}); list gates and watch from {first - 1}"
            : null;
    }

    /// <summary>
    /// The decisions in order: logged ones (when the request resumes), then live ones until the caller stops or the hub
    /// ends the subscription. A subscriber cut off for falling behind ends with <see cref="SubscriberOverflowException"/>;
    /// one ended by shutdown with <see cref="OperationCanceledException"/> while <paramref name="cancellationToken"/> is
    /// not set. With a finite <paramref name="idle"/>, a null is yielded each time that long passes without a live
    /// decision, so a transport can keep an idle connection open.
    /// </summary>
    public async IAsyncEnumerable<V1.Decision?> ReadAllAsync(TimeSpan idle, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        if (_request.FromSequence > 0 || _request.FromStart)
        {
            foreach (var record in _hub.Log.ReadFrom(_request.FromSequence))
            {
                if (record.Sequence > LiveAfter)
                {
                    break;
                }

                var decision = V1.Decision.Parser.ParseFrom(record.Payload.Span);
                if (_subscriber.Wants(decision))
                {
                    yield return decision;
                }
            }
        }

        var reader = _subscriber.Queue.Reader;
        Task<bool>? waiting = null;
        while (true)
        {
            waiting ??= reader.WaitToReadAsync(cancellationToken).AsTask();
            if (idle != Timeout.InfiniteTimeSpan && !await ArrivesWithinAsync(waiting, idle, cancellationToken).ConfigureAwait(false))
            {
                yield return null;
                continue;
            }

            bool more;
            try
            {
                more = await waiting.ConfigureAwait(false);
            }
            catch (ChannelClosedException e) when (e.InnerException is SubscriberOverflowException overflow)
            {
                throw overflow;
            }

            waiting = null;
            if (!more)
            {
                yield break;
            }

            while (reader.TryRead(out var decision))
            {
                yield return decision;
            }
        }
    }

    public void Dispose() => _hub.Unsubscribe(_subscriber);

    /// <summary>Whether <paramref name="waiting"/> completes within <paramref name="idle"/>; the timer is stopped when it does, not left to run out.</summary>
    private static async Task<bool> ArrivesWithinAsync(Task<bool> waiting, TimeSpan idle, CancellationToken cancellationToken)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(idle, timer.Token);
        var first = await Task.WhenAny(waiting, delay).ConfigureAwait(false);
        await timer.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return first == waiting;
    }
}

/// <summary>A resume position the decision log cannot serve: past its end, or before what retention kept.</summary>
internal sealed class ResumePositionException(string message, bool pastEnd) : Exception(message)
{
    /// <summary>True when the position is past the last decision; false when retention deleted what it asks for.</summary>
    public bool PastEnd { get; } = pastEnd;
}
