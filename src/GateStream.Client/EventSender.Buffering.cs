using GateStream.Client.Internal;
using Google.Protobuf;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Client;

// Buffering: open per-series columns, sealed batches waiting to be sent, frames in flight, the bound and what it drops.
// Everything here is guarded by _lock; the network code only takes and returns whole frames under it.
public sealed partial class EventSender
{
    private readonly Lock _lock = new();
    private readonly Dictionary<(string Deployment, string Version), SeriesBuffer> _open = [];
    private readonly LinkedList<SealedBatch> _queue = new();
    private readonly LinkedList<Frame> _inFlight = new();
    private readonly SortedSet<long> _unresolved = [];
    private readonly List<(long Through, TaskCompletionSource Done)> _flushWaiters = [];
    private readonly AsyncSignal _work = new();
    private long _nextBatchId = 1;
    private ulong _nextSequence = 1;
    private long _buffered;
    private long _recorded;
    private long _acknowledged;
    private long _rejected;
    private long _dropped;
    private long _connects;
    private bool _disposed;
    private bool _connected;
    private string? _lastError;
    private string? _lastRejection;

    private void Add(string deployment, string version, long timeUnixMicros, uint latencyMicros, uint statusCode, bool isError)
    {
        lock (_lock)
        {
            if (_disposed)
            {
                Interlocked.Increment(ref _dropped);
                return;
            }

            if (_buffered >= _options.MaxBufferedEvents && !MakeRoom())
            {
                // Every held event is still in an open batch: the newest (this one) is the one to go.
                Interlocked.Increment(ref _dropped);
                return;
            }

            if (!_open.TryGetValue((deployment, version), out var series))
            {
                series = new SeriesBuffer(deployment, version, _options.MaxBatchEvents);
                _open[(deployment, version)] = series;
            }

            series.Add(timeUnixMicros, latencyMicros, statusCode, isError);
            _buffered++;
            _recorded++;
            if (series.Count == _options.MaxBatchEvents)
            {
                Seal(series);
            }
        }
    }

    /// <summary>Drops the oldest waiting batch(es) until there is room for one event. Caller holds the lock.</summary>
    private bool MakeRoom()
    {
        long dropped = 0;
        while (_buffered >= _options.MaxBufferedEvents && _queue.First is { } oldest)
        {
            _queue.RemoveFirst();
            _buffered -= oldest.Value.Events;
            dropped += oldest.Value.Events;
            Resolve(oldest.Value.Id);
        }

        if (dropped > 0)
        {
            Interlocked.Add(ref _dropped, dropped);
            ClientLog.Dropped(_logger, dropped, $"more than {_options.MaxBufferedEvents} events held (the oldest waiting batches go first)");
        }

        return _buffered < _options.MaxBufferedEvents;
    }

    /// <summary>Turns a series' open columns into a wire batch waiting to be sent. Caller holds the lock.</summary>
    private void Seal(SeriesBuffer series)
    {
        var batch = series.ToProto();
        var sealedBatch = new SealedBatch(_nextBatchId++, batch, series.Count, batch.CalculateSize());
        series.Reset();
        _queue.AddLast(sealedBatch);
        _unresolved.Add(sealedBatch.Id);
        _work.Set();
    }

    private void SealAll()
    {
        foreach (var series in _open.Values)
        {
            if (series.Count > 0)
            {
                Seal(series);
            }
        }
    }

    /// <summary>Every flush interval: seal what is open, and forget series that recorded nothing since the last tick.</summary>
    private async Task TickLoopAsync(CancellationToken cancellationToken)
    {
        try
        {
            while (true)
            {
                await Task.Delay(_options.FlushInterval, _clock, cancellationToken).ConfigureAwait(false);
                lock (_lock)
                {
                    List<(string, string)>? idle = null;
                    foreach (var (key, series) in _open)
                    {
                        if (series.Count > 0)
                        {
                            Seal(series);
                        }
                        else if (!series.Touched)
                        {
                            (idle ??= []).Add(key);
                        }

                        series.Touched = false;
                    }

                    foreach (var key in idle ?? [])
                    {
                        _open.Remove(key);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>
    /// Takes waiting batches, oldest first, into one frame no bigger than <paramref name="maxPayload"/> and moves it
    /// in flight. A batch too big for any frame on its own is dropped (it could never be sent).
    /// </summary>
    private bool TryTakeFrame(int maxPayload, out Frame frame)
    {
        lock (_lock)
        {
            var request = new V1.PushRequest();
            var batches = new List<SealedBatch>();
            var size = 8; // the DATA frame's sequence
            var events = 0;
            while (_queue.First is { } node)
            {
                var batch = node.Value;
                var add = 1 + CodedOutputStream.ComputeLengthSize(batch.Size) + batch.Size;
                if (size + add > maxPayload)
                {
                    if (batches.Count > 0)
                    {
                        break;
                    }

                    _queue.RemoveFirst();
                    DropLocked(batch, $"a batch of {batch.Size} bytes does not fit in a {maxPayload}-byte frame; lower MaxBatchEvents");
                    continue;
                }

                _queue.RemoveFirst();
                request.Events.Add(batch.Batch);
                batches.Add(batch);
                size += add;
                events += batch.Events;
            }

            if (batches.Count == 0)
            {
                frame = null!;
                return false;
            }

            frame = new Frame(_nextSequence++, request, batches, events);
            _inFlight.AddLast(frame);
            return true;
        }
    }

    /// <summary>The server acknowledged the oldest frame in flight. False when the ACK is not for it (a protocol violation).</summary>
    private bool Acknowledge(ulong sequence, long accepted, long rejected, string? reason)
    {
        lock (_lock)
        {
            if (_inFlight.First is not { } head || head.Value.Sequence != sequence)
            {
                return false;
            }

            _inFlight.RemoveFirst();
            CompleteLocked(head.Value, accepted, rejected, reason);
            return true;
        }
    }

    /// <summary>A gRPC Push call covering <paramref name="frames"/> succeeded.</summary>
    private void Acknowledge(List<Frame> frames, V1.PushResponse response)
    {
        lock (_lock)
        {
            for (var i = 0; i < frames.Count; i++)
            {
                _inFlight.Remove(frames[i]);
                // The response has totals for the call: attribute them to its last frame.
                var last = i == frames.Count - 1;
                CompleteLocked(frames[i], last ? (long)response.AcceptedEvents : 0, last ? (long)response.RejectedEvents : 0, last ? NullIfEmpty(response.ErrorMessage) : null);
            }
        }

        static string? NullIfEmpty(string s) => s.Length == 0 ? null : s;
    }

    private void CompleteLocked(Frame frame, long accepted, long rejected, string? reason)
    {
        _buffered -= frame.Events;
        _acknowledged += accepted;
        _rejected += rejected;
        if (reason is not null)
        {
            Volatile.Write(ref _lastRejection, reason);
            ClientLog.Rejected(_logger, reason);
        }

        foreach (var batch in frame.Batches)
        {
            Resolve(batch.Id);
        }
    }

    /// <summary>The server refused the oldest frame in flight as undecodable: drop it, resending cannot help.</summary>
    private void DropOldestInFlight(string reason)
    {
        lock (_lock)
        {
            if (_inFlight.First is { } head)
            {
                _inFlight.RemoveFirst();
                foreach (var batch in head.Value.Batches)
                {
                    DropLocked(batch, reason);
                }
            }
        }
    }

    /// <summary>The connection failed: frames in flight go back to the front of the queue, in order, to be sent again.</summary>
    private void Requeue()
    {
        lock (_lock)
        {
            for (var frame = _inFlight.Last; frame is not null; frame = frame.Previous)
            {
                for (var i = frame.Value.Batches.Count - 1; i >= 0; i--)
                {
                    _queue.AddFirst(frame.Value.Batches[i]);
                }
            }

            _inFlight.Clear();
            if (_queue.Count > 0)
            {
                _work.Set();
            }
        }
    }

    private void DropLocked(SealedBatch batch, string reason)
    {
        _buffered -= batch.Events;
        Interlocked.Add(ref _dropped, batch.Events);
        Resolve(batch.Id);
        ClientLog.Dropped(_logger, batch.Events, reason);
    }

    private void DropEverything(string reason)
    {
        lock (_lock)
        {
            var events = _buffered;
            _inFlight.Clear();
            _queue.Clear();
            _open.Clear();
            _buffered = 0;
            _unresolved.Clear();
            if (events > 0)
            {
                Interlocked.Add(ref _dropped, events);
                ClientLog.Dropped(_logger, events, reason);
            }

            foreach (var (_, done) in _flushWaiters)
            {
                done.TrySetResult();
            }

            _flushWaiters.Clear();
        }
    }

    private void Resolve(long batchId)
    {
        _unresolved.Remove(batchId);
        if (_flushWaiters.Count == 0)
        {
            return;
        }

        var oldest = _unresolved.Count == 0 ? long.MaxValue : _unresolved.Min;
        for (var i = _flushWaiters.Count - 1; i >= 0; i--)
        {
            if (_flushWaiters[i].Through < oldest)
            {
                _flushWaiters[i].Done.TrySetResult();
                _flushWaiters.RemoveAt(i);
            }
        }
    }

    private async Task FlushCoreAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource done;
        lock (_lock)
        {
            SealAll();
            var through = _nextBatchId - 1;
            if (_unresolved.Count == 0 || _unresolved.Min > through)
            {
                return;
            }

            done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _flushWaiters.Add((through, done));
        }

        try
        {
            await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            lock (_lock)
            {
                _flushWaiters.RemoveAll(w => w.Done == done);
            }

            throw;
        }
    }

    /// <summary>One series' events since its last batch, as columns.</summary>
    private sealed class SeriesBuffer(string deployment, string version, int capacity)
    {
        private readonly long[] _times = new long[capacity];
        private readonly uint[] _latencies = new uint[capacity];
        private readonly uint[] _statusCodes = new uint[capacity];
        private readonly bool[] _errors = new bool[capacity];
        private bool _anyStatus;
        private bool _errorsDifferFromStatus;

        public int Count { get; private set; }

        /// <summary>Recorded into since the last tick.</summary>
        public bool Touched { get; set; }

        public void Add(long time, uint latency, uint statusCode, bool isError)
        {
            _times[Count] = time;
            _latencies[Count] = latency;
            _statusCodes[Count] = statusCode;
            _errors[Count] = isError;
            _anyStatus |= statusCode != 0;
            _errorsDifferFromStatus |= isError != statusCode >= 500;
            Count++;
            Touched = true;
        }

        /// <summary>
        /// The wire batch: times as deltas from the first, and only the columns that carry information (no status
        /// codes when none was given, no error flags when the status codes already say which requests failed).
        /// </summary>
        public V1.EventBatch ToProto()
        {
            var batch = new V1.EventBatch { Deployment = deployment, Version = version, BaseTimeUnixMicros = _times[0] };
            var previous = _times[0];
            for (var i = 0; i < Count; i++)
            {
                batch.TimeDeltasMicros.Add(_times[i] - previous);
                previous = _times[i];
                batch.LatencyMicros.Add(_latencies[i]);
            }

            if (_anyStatus)
            {
                for (var i = 0; i < Count; i++)
                {
                    batch.StatusCodes.Add(_statusCodes[i]);
                }
            }

            if (_errorsDifferFromStatus)
            {
                for (var i = 0; i < Count; i++)
                {
                    batch.Errors.Add(_errors[i]);
                }
            }

            return batch;
        }

        public void Reset()
        {
            Count = 0;
            _anyStatus = false;
            _errorsDifferFromStatus = false;
        }
    }

    private sealed record SealedBatch(long Id, V1.EventBatch Batch, int Events, int Size);

    /// <summary>A DATA frame (framed) or one message of a Push call (gRPC), with the batches it carries.</summary>
    private sealed record Frame(ulong Sequence, V1.PushRequest Request, List<SealedBatch> Batches, int Events);
}
