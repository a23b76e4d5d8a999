using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using GateStream.Core.Events;
using GateStream.Core.Ingest;
using GateStream.Ingest;
using GateStream.Ingest.Framed;
using GateStream.Ingest.Native;

namespace GateStream.Fuzz;

/// <summary>
/// One framed connection through the public seam the listener uses (<see cref="FramedIngestHandler.RunAsync"/>),
/// over in-memory pipes whose continuations run inline, so a run is deterministic and needs no socket. The first byte
/// says how the client's bytes arrive (all at once, or in chunks of 1 + b*b bytes, each flushed: partial headers and
/// frames, the large-frame path); the rest is what the client sends, handshake included.
/// </summary>
/// <remarks>
/// A session must end when the client's bytes end, report no fault (over memory pipes there is no transport to
/// fail, so a fault is a bug in the session), and write only well-formed server frames: the hello, then ACK and PONG
/// frames, and at most one ERROR, last. The ACKs' accepted counts must add up to what reached the engine.
/// </remarks>
internal static class FramedSessionTarget
{
    private static readonly FramedIngestOptions Options = new()
    {
        // Small limits so short inputs reach them: the frame-size check, and the large-frame (copied) path.
        MaxFrameBytes = 4096,
        MaxBufferedPartialFrameBytes = 64,
        MaxPartialFrameMemoryBytes = 8192,
    };

    public static void Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return;
        }

        var chunk = input[0] == 0 ? int.MaxValue : 1 + (input[0] * input[0]);
        var sent = input[1..];
        var sink = new CountingSink();
        var observer = new Observer();
        var handler = new FramedIngestHandler(sink, Options, observer);
        var inline = new PipeOptions(readerScheduler: PipeScheduler.Inline, writerScheduler: PipeScheduler.Inline, pauseWriterThreshold: 0, useSynchronizationContext: false);
        var clientToServer = new Pipe(inline);
        var serverToClient = new Pipe(inline);
        var session = handler.RunAsync(new DuplexPipe(clientToServer.Reader, serverToClient.Writer), "fuzz");

        for (var at = 0; at < sent.Length && !session.IsCompleted; at += chunk)
        {
            var piece = sent.Slice(at, Math.Min(chunk, sent.Length - at));
            clientToServer.Writer.Write(piece);
            var flush = clientToServer.Writer.FlushAsync().AsTask();
            Check(flush.IsCompleted, "the session reads what it is sent without blocking the sender");
            if (flush.Result.IsCompleted)
            {
                break;
            }
        }

        clientToServer.Writer.Complete();
        Check(session.Wait(TimeSpan.FromSeconds(30)), "the session ends when the client's bytes end");
        Check(observer.Fault is null, $"no fault over memory pipes (got {observer.Fault?.GetType().Name}: {observer.Fault?.Message})");

        var reader = serverToClient.Reader;
        reader.TryRead(out var result);
        var written = result.Buffer;
        CheckServerFrames(written, sink, observer);
        reader.AdvanceTo(written.End);
        reader.Complete();
        sink.CheckAllReturned();
    }

    private static void CheckServerFrames(ReadOnlySequence<byte> written, CountingSink sink, Observer observer)
    {
        var bytes = written.ToArray().AsSpan();
        long acceptedEvents = 0, acceptedSamples = 0;
        var errors = 0;
        if (bytes.Length >= FramedProtocol.ServerHelloSize && bytes[..4].SequenceEqual(FramedProtocol.Magic))
        {
            bytes = bytes[FramedProtocol.ServerHelloSize..];
        }

        while (!bytes.IsEmpty)
        {
            Check(errors == 0, "nothing follows an ERROR frame");
            Check(bytes.Length >= FramedProtocol.FrameHeaderSize, "the server writes whole frame headers");
            var type = (FrameType)bytes[0];
            var length = BinaryPrimitives.ReadUInt32LittleEndian(bytes[1..]);
            Check(length <= bytes.Length - FramedProtocol.FrameHeaderSize, "the server writes whole frames");
            var payload = bytes.Slice(FramedProtocol.FrameHeaderSize, (int)length);
            switch (type)
            {
                case FrameType.Ack:
                    Check(payload.Length >= FramedProtocol.AckFixedSize, "an ACK holds its counts");
                    acceptedEvents += BinaryPrimitives.ReadUInt32LittleEndian(payload[8..]);
                    acceptedSamples += BinaryPrimitives.ReadUInt32LittleEndian(payload[16..]);
                    break;
                case FrameType.Pong:
                    Check(payload.Length <= FramedProtocol.MaxPingPayload, "a PONG echoes a PING's payload");
                    break;
                case FrameType.Error:
                    Check(payload.Length >= 4 && payload.Length - 4 <= FramedProtocol.MaxReasonBytes, "an ERROR holds a code and a bounded reason");
                    errors++;
                    break;
                default:
                    Check(false, $"the server sends ACK, PONG and ERROR frames only (got type {(byte)type})");
                    break;
            }

            bytes = bytes[(FramedProtocol.FrameHeaderSize + (int)length)..];
        }

        Check(errors == observer.ProtocolErrors, "every ERROR sent is reported, once");
        Check(acceptedEvents == sink.Events && acceptedSamples == sink.Samples, "the ACKs accept exactly what reached the engine");
    }

    private static void Check(bool condition, string invariant)
    {
        if (!condition)
        {
            throw new InvalidOperationException($"FramedSession invariant broken: {invariant}.");
        }
    }

    /// <summary>An engine that takes every batch at once, refuses the series of deployments starting with 'r' (to reach the refusal path), and counts.</summary>
    private sealed class CountingSink : IBatchSink
    {
        private int _createdEvents;
        private int _createdMetrics;

        public CountingSink()
        {
            EventPool = new(() => { _createdEvents++; return new EventBatch(); }, b => b.Clear(), int.MaxValue);
            MetricPool = new(() => { _createdMetrics++; return new MetricSampleBatch(); }, b => b.Clear(), int.MaxValue);
        }

        public BatchPool<EventBatch> EventPool { get; }

        public BatchPool<MetricSampleBatch> MetricPool { get; }

        public long Events { get; private set; }

        public long Samples { get; private set; }

        public ValueTask PostAsync(EventBatch batch, CancellationToken cancellationToken)
        {
            Events += batch.Count;
            EventPool.Return(batch);
            return ValueTask.CompletedTask;
        }

        public ValueTask PostAsync(MetricSampleBatch batch, CancellationToken cancellationToken)
        {
            Samples += batch.Count;
            MetricPool.Return(batch);
            return ValueTask.CompletedTask;
        }

        public RefusalReason? Admit(EventBatch batch) => Refuse(batch.Key);

        public RefusalReason? Admit(MetricSampleBatch batch) => Refuse(batch.Key);

        private static RefusalReason? Refuse(SeriesKeyBuffer key) =>
            key.Deployment.Length > 0 && key.Deployment[0] == (byte)'r' ? RefusalReason.SeriesCapReached : null;

        /// <summary>Every batch the session rented went back: renting as many as were created creates none.</summary>
        public void CheckAllReturned()
        {
            var (events, metrics) = (_createdEvents, _createdMetrics);
            for (var i = 0; i < events; i++)
            {
                EventPool.Rent();
            }

            for (var i = 0; i < metrics; i++)
            {
                MetricPool.Rent();
            }

            Check(_createdEvents == events && _createdMetrics == metrics, "every batch rented goes back to its pool");
        }
    }

    private sealed class Observer : IFramedIngestObserver
    {
        public Exception? Fault { get; private set; }

        public int ProtocolErrors { get; private set; }

        public void OnProtocolError(string peer, FramedErrorCode code, string message) => ProtocolErrors++;

        public void OnFault(string peer, Exception exception) => Fault ??= exception;
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input { get; } = input;

        public PipeWriter Output { get; } = output;
    }
}
