using System.Diagnostics;
using System.Threading.Channels;
using GateStream.Core.Gates;
using GateStream.Daemon.Decisions.Log;
using GateStream.Daemon.Diagnostics;
using GateStream.Wire;
using Google.Protobuf;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Decisions;

/// <summary>
/// Where every decision goes: numbered, written to the decision log and flushed to disk, and only then handed
/// to the subscribers. Each subscriber has a bounded buffer; one that falls behind is cut off (it resumes from
/// its last sequence) so it never slows evaluation or the other subscribers.
/// </summary>
/// <remarks>
/// Group commit: the hub's lock covers numbering and writing, not the fsync. Decisions published at the same time (by
/// several shards, or overrides) are made durable by one fsync (<see cref="DecisionLog.WaitDurable"/>), and whoever
/// returns from it first hands every durable decision to the subscribers, in sequence order, under the lock; so a
/// subscriber sees a decision only once it is durable, and sees them in order.
/// </remarks>
internal sealed class DecisionHub : IDecisionSink
{
    private readonly DecisionLog _log;
    private readonly DaemonMetrics _metrics;
    private readonly int _bufferSize;
    private readonly Lock _lock = new();
    private readonly List<Subscriber> _subscribers = [];
    private IDecisionObserver[] _observers = [];

    // Written to the log, waiting for their fsync before they are published; in sequence order.
    private readonly List<(ulong Sequence, V1.Decision Proto, DecisionAction Action, bool Shadow, long Started)> _unpublished = [];
    private ulong _sequence;
    private ulong _published;

    private readonly Prometheus.Counter _appendFailures;

    public DecisionHub(DecisionLog log, DaemonMetrics metrics, int bufferSize)
    {
        _log = log;
        _metrics = metrics;
        _bufferSize = bufferSize;
        _sequence = log.LastSequence;
        _published = _sequence;
        _appendFailures = DecisionLogMetrics.Register(metrics.Registry, log);
    }

    /// <summary>
    /// Accepts a payload only if it is a <c>Decision</c> carrying the record's sequence and a gate: what <see cref="Publish"/>
    /// writes. The log skips (and reports) any other record, so neither the restore nor a watcher's replay trips on it.
    /// </summary>
    public static string? ValidatePayload(ulong sequence, ReadOnlySpan<byte> payload)
    {
        V1.Decision decision;
        try
        {
            decision = V1.Decision.Parser.ParseFrom(payload);
        }
        catch (InvalidProtocolBufferException e)
        {
            return "not a Decision (" + e.Message.TrimEnd('.') + ")";
        }

        if (decision.Sequence != sequence)
        {
            return $"a Decision numbered {decision.Sequence} in a record numbered {sequence}";
        }

        return string.IsNullOrEmpty(decision.Gate) ? "a Decision without a gate" : null;
    }

    /// <summary>The last sequence published: durable, and handed to the subscribers.</summary>
    public ulong LastSequence
    {
        get
        {
            lock (_lock)
            {
                return _published;
            }
        }
    }

    public DecisionLog Log => _log;

    /// <summary>Adds an observer of every durable decision (see <see cref="IDecisionObserver"/>).</summary>
    public void AddObserver(IDecisionObserver observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        lock (_lock)
        {
            _observers = [.. _observers, observer];
        }
    }

    public void RemoveObserver(IDecisionObserver observer)
    {
        lock (_lock)
        {
            _observers = [.. _observers.Where(o => !ReferenceEquals(o, observer))];
        }
    }

    /// <summary>Called on shard threads. The decision is durable before any subscriber sees it, and before this returns.</summary>
    /// <exception cref="DecisionLogUnavailableException">
    /// The log could not make it durable: nothing was published and the sequence was not used (the gate puts itself back).
    /// </exception>
    public GateDecision Publish(GateDecision decision)
    {
        var numbered = Write(decision);
        WaitDurable(numbered.Sequence);
        return numbered;
    }

    /// <summary>
    /// Numbers the decision and writes it to the log without waiting for the disk; it reaches the subscribers once
    /// <see cref="WaitDurable"/> (this caller's or another's) has made it durable.
    /// </summary>
    /// <exception cref="DecisionLogUnavailableException">The log could not write it: the sequence was not used.</exception>
    public GateDecision Write(GateDecision decision)
    {
        ArgumentNullException.ThrowIfNull(decision);
        var started = Stopwatch.GetTimestamp();
        GateDecision numbered;
        lock (_lock)
        {
            numbered = decision with { Sequence = _sequence + 1 };
            var proto = DecisionMapper.ToProto(numbered);
            try
            {
                _log.Write(numbered.Sequence, proto.ToByteArray());
            }
            catch (DecisionLogUnavailableException)
            {
                _appendFailures.Inc();
                throw;
            }

            _sequence = numbered.Sequence;
            _unpublished.Add((numbered.Sequence, proto, decision.Action, decision.Shadow, started));
        }

        return numbered;
    }

    /// <summary>Returns once every decision written up to <paramref name="sequence"/> is durable and handed to the subscribers.</summary>
    /// <exception cref="DecisionLogUnavailableException">
    /// They could not be made durable: none is published, and the log refuses appends until a restart, so their
    /// sequences are not used again.
    /// </exception>
    public void WaitDurable(ulong sequence)
    {
        try
        {
            _log.WaitDurable(sequence);
        }
        catch (DecisionLogUnavailableException)
        {
            lock (_lock)
            {
                // Written, maybe on disk, never published.
                var failed = _unpublished.RemoveAll(u => u.Sequence <= sequence);
                _appendFailures.Inc(failed);
            }

            throw;
        }

        lock (_lock)
        {
            PublishDurable(_log.DurableSequence);
        }
    }

    // Under _lock: every decision the log holds durably goes to the observers and subscribers, oldest first.
    private void PublishDurable(ulong durable)
    {
        var done = 0;
        foreach (var (sequence, proto, action, shadow, started) in _unpublished)
        {
            if (sequence > durable)
            {
                break;
            }

            foreach (var observer in _observers)
            {
                observer.OnDecision(proto);
            }

            for (var i = _subscribers.Count - 1; i >= 0; i--)
            {
                var subscriber = _subscribers[i];
                if (subscriber.Wants(proto) && !subscriber.Queue.Writer.TryWrite(proto))
                {
                    // Full: this subscriber is too slow. Cut it off; it resumes from its last sequence.
                    subscriber.Queue.Writer.TryComplete(new SubscriberOverflowException(_bufferSize));
                    _subscribers.RemoveAt(i);
                    _metrics.SubscriberDropped();
                }
            }

            _published = sequence;
            _metrics.DecisionPublished(action, shadow, Stopwatch.GetElapsedTime(started), _subscribers.Count);
            done++;
        }

        _unpublished.RemoveRange(0, done);
    }

    /// <summary>
    /// Registers a live subscriber. Returns it together with the last sequence already published: decisions up to that
    /// one come from the log, later ones through the subscriber's queue, so a resume has neither gap nor duplicate.
    /// </summary>
    public (Subscriber Subscriber, ulong LiveAfter) Subscribe(V1.WatchRequest request)
    {
        var subscriber = new Subscriber(request, _bufferSize);
        lock (_lock)
        {
            _subscribers.Add(subscriber);
            _metrics.SetSubscribers(_subscribers.Count);
            // Everything after the last published decision reaches this subscriber through its queue (the ones
            // written and waiting for their fsync included); everything up to it is durable in the log.
            return (subscriber, _published);
        }
    }

    public void Unsubscribe(Subscriber subscriber)
    {
        lock (_lock)
        {
            _subscribers.Remove(subscriber);
            _metrics.SetSubscribers(_subscribers.Count);
        }
    }

    /// <summary>Ends every stream (shutdown): each watcher gets a status telling it to resume elsewhere or later.</summary>
    public void CompleteAll()
    {
        lock (_lock)
        {
            foreach (var subscriber in _subscribers)
            {
                subscriber.Queue.Writer.TryComplete(new OperationCanceledException("GateStream is shutting down"));
            }

            _subscribers.Clear();
        }
    }

    internal sealed class Subscriber(V1.WatchRequest request, int bufferSize)
    {
        private readonly DecisionFilter _filter = new(request);

        public Channel<V1.Decision> Queue { get; } = Channel.CreateBounded<V1.Decision>(new BoundedChannelOptions(bufferSize)
        {
            SingleReader = true,
            SingleWriter = true,
            FullMode = BoundedChannelFullMode.Wait, // TryWrite then fails instead of waiting: that is the overflow signal.
        });

        public bool Wants(V1.Decision decision) => _filter.Wants(decision);
    }
}

/// <summary>A subscriber fell further behind than its buffer.</summary>
internal sealed class SubscriberOverflowException(int buffer)
    : Exception($"this watcher fell more than {buffer} decisions behind and was disconnected so it cannot slow GateStream down; resume with from_sequence set to the last sequence you received")
{
}

/// <summary>Which decisions a reader asked for (<see cref="V1.WatchRequest"/>'s filters): an empty list matches everything.</summary>
internal sealed class DecisionFilter(V1.WatchRequest request)
{
    private readonly HashSet<string> _gates = [.. request.Gates];
    private readonly HashSet<string> _deployments = [.. request.Deployments];

    public bool Wants(V1.Decision decision) =>
        (request.IncludeShadow || !decision.Shadow)
        && (_gates.Count == 0 || _gates.Contains(decision.Gate))
        && (_deployments.Count == 0 || _deployments.Contains(decision.Deployment));
}
