using GateStream.Ingest.Native;

namespace GateStream.Ingest.Framed;

/// <summary>
/// What a framed listener counts, over all its connections. Updated once per frame or connection (never per event)
/// with interlocked adds; read from any thread, each value atomically, possibly a moment old.
/// </summary>
public sealed class FramedCounters
{
    private static readonly int CodeCount = Enum.GetValues<FramedErrorCode>().Length;
    private readonly long[] _errors = new long[CodeCount + 1];
    private long _connectionsOpened;
    private long _connectionsClosed;
    private long _dataFrames;
    private long _bytesReceived;
    private long _acks;
    private long _pings;
    private long _acceptedEvents;
    private long _rejectedEvents;
    private long _acceptedSamples;
    private long _rejectedSamples;
    private long _rejectedBatches;
    private long _transportFaults;
    private long _partialFrameBytes;

    /// <summary>Connections accepted since start.</summary>
    public long ConnectionsOpened => Volatile.Read(ref _connectionsOpened);

    /// <summary>Connections ended since start, for any reason.</summary>
    public long ConnectionsClosed => Volatile.Read(ref _connectionsClosed);

    /// <summary>Connections open now.</summary>
    public long ConnectionsActive => ConnectionsOpened - ConnectionsClosed;

    /// <summary>DATA frames received whole (decodable or not).</summary>
    public long DataFrames => Volatile.Read(ref _dataFrames);

    /// <summary>Bytes received: handshakes and whole frames, headers included.</summary>
    public long BytesReceived => Volatile.Read(ref _bytesReceived);

    /// <summary>ACK frames sent.</summary>
    public long Acks => Volatile.Read(ref _acks);

    /// <summary>PING frames answered.</summary>
    public long Pings => Volatile.Read(ref _pings);

    /// <summary>Events acknowledged as accepted (handed to the engine).</summary>
    public long AcceptedEvents => Volatile.Read(ref _acceptedEvents);

    /// <summary>Events in refused event batches.</summary>
    public long RejectedEvents => Volatile.Read(ref _rejectedEvents);

    /// <summary>Metric samples acknowledged as accepted.</summary>
    public long AcceptedSamples => Volatile.Read(ref _acceptedSamples);

    /// <summary>Metric samples refused.</summary>
    public long RejectedSamples => Volatile.Read(ref _rejectedSamples);

    /// <summary>Batches with a rejection, in DATA frames that were otherwise applied.</summary>
    public long RejectedBatches => Volatile.Read(ref _rejectedBatches);

    /// <summary>Connections that ended on a transport failure (reset, abort) or an unexpected fault.</summary>
    public long TransportFaults => Volatile.Read(ref _transportFaults);

    /// <summary>ERROR frames sent (connections closed) for <paramref name="code"/>.</summary>
    public long Errors(FramedErrorCode code) => (uint)code < (uint)_errors.Length ? Volatile.Read(ref _errors[(int)code]) : 0;

    /// <summary>Bytes held now by frames over <see cref="FramedIngestOptions.MaxBufferedPartialFrameBytes"/> that are still arriving.</summary>
    public long PartialFrameBytes => Volatile.Read(ref _partialFrameBytes);

    /// <summary>ERROR frames sent, all codes.</summary>
    public long TotalErrors
    {
        get
        {
            long sum = 0;
            for (var i = 0; i < _errors.Length; i++)
            {
                sum += Volatile.Read(ref _errors[i]);
            }

            return sum;
        }
    }

    /// <summary>Takes <paramref name="bytes"/> of the partial-frame budget; false (nothing taken) when they would exceed <paramref name="limit"/>.</summary>
    internal bool TryReservePartial(long bytes, long limit)
    {
        var held = Volatile.Read(ref _partialFrameBytes);
        while (true)
        {
            if (held + bytes > limit)
            {
                return false;
            }

            var seen = Interlocked.CompareExchange(ref _partialFrameBytes, held + bytes, held);
            if (seen == held)
            {
                return true;
            }

            held = seen;
        }
    }

    internal void ReleasePartial(long bytes) => Interlocked.Add(ref _partialFrameBytes, -bytes);

    internal void ConnectionOpened() => Interlocked.Increment(ref _connectionsOpened);

    internal void ConnectionClosed() => Interlocked.Increment(ref _connectionsClosed);

    internal void Received(long bytes) => Interlocked.Add(ref _bytesReceived, bytes);

    internal void DataFrame() => Interlocked.Increment(ref _dataFrames);

    internal void Ping() => Interlocked.Increment(ref _pings);

    internal void TransportFault() => Interlocked.Increment(ref _transportFaults);

    internal void Error(FramedErrorCode code)
    {
        if ((uint)code < (uint)_errors.Length)
        {
            Interlocked.Increment(ref _errors[(int)code]);
        }
    }

    internal void Acknowledged(in NativeIngestCounts counts)
    {
        Interlocked.Increment(ref _acks);
        Add(ref _acceptedEvents, counts.AcceptedEvents);
        Add(ref _rejectedEvents, counts.RejectedEvents);
        Add(ref _acceptedSamples, counts.AcceptedSamples);
        Add(ref _rejectedSamples, counts.RejectedSamples);
        Add(ref _rejectedBatches, counts.RejectedBatches);

        static void Add(ref long counter, int amount)
        {
            if (amount != 0)
            {
                Interlocked.Add(ref counter, amount);
            }
        }
    }
}
