using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using GateStream.Contracts.Framed;
using GateStream.Ingest.Native;

namespace GateStream.Ingest.Framed;

/// <summary>
/// One framed connection: handshake, then the frame loop. Single-threaded by construction (one loop per connection);
/// the only state shared with other connections is the handler's counters, sink and observer.
/// </summary>
internal sealed class FramedSession
{
    private static readonly TimeSpan ErrorFlushTimeout = TimeSpan.FromSeconds(5);

    private readonly FramedIngestHandler _handler;
    private readonly IDuplexPipe _transport;
    private readonly string _peer;
    private readonly FramedIngestOptions _options;
    private readonly FramedCounters _counters;
    private readonly IFramedIngestObserver _observer;
    private readonly NativeBatchReader _reader;
    private readonly byte[] _hello = new byte[FramedProtocol.ClientHelloSize];

    // A frame larger than MaxBufferedPartialFrameBytes is copied here as it arrives (from ArrayPool, returned after).
    private byte[]? _large;
    private int _largeLength;
    private int _largeFilled;
    private FrameType _largeType;

    private bool _unflushed;

    public FramedSession(FramedIngestHandler handler, IDuplexPipe transport, string peer)
    {
        _handler = handler;
        _transport = transport;
        _peer = peer;
        _options = handler.Options;
        _counters = handler.Counters;
        _observer = handler.Observer;
        _reader = new NativeBatchReader(handler.Sink.EventPool, handler.Sink.MetricPool, _options.Source);
    }

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        _counters.ConnectionOpened();
        _observer.OnConnected(_peer);
        var reason = FramedCloseReason.ClientClosed;
        var entered = _handler.TryEnter();
        try
        {
            if (!entered)
            {
                reason = await CloseWithErrorAsync(FramedErrorCode.Overloaded,
                    $"the server is at its limit of {_options.MaxConnections} framed connections; retry later", linger: false).ConfigureAwait(false);
            }
            else
            {
                reason = await HandshakeAsync(cancellationToken).ConfigureAwait(false) ?? await ReadFramesAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            reason = await CloseWithErrorAsync(FramedErrorCode.ShuttingDown,
                "GateStream is shutting down; reconnect later and resend the frames that were not acknowledged", linger: false).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // A connection's failure (reset, abort, a bug) must end that connection only; it is counted and reported.
        catch (Exception e)
#pragma warning restore CA1031
        {
            _counters.TransportFault();
            _observer.OnFault(_peer, e);
            reason = FramedCloseReason.TransportFault;
        }
        finally
        {
            ReleaseLarge();
            if (entered)
            {
                _handler.Leave();
            }

            // Output first: completing it sends what is still buffered, which must happen before a stream-backed
            // reader's completion disposes the stream under it.
            await CompleteAsync(_transport.Output.CompleteAsync()).ConfigureAwait(false);
            await CompleteAsync(_transport.Input.CompleteAsync()).ConfigureAwait(false);
            _counters.ConnectionClosed();
            _observer.OnDisconnected(_peer, reason);
        }
    }

    private static async ValueTask CompleteAsync(ValueTask completion)
    {
        try
        {
            await completion.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Completing a pipe over a connection the peer already broke can throw; it is closing anyway.
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }

    /// <summary>Null when the handshake succeeded; otherwise how the connection ended.</summary>
    private async ValueTask<FramedCloseReason?> HandshakeAsync(CancellationToken cancellationToken)
    {
        var input = _transport.Input;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.HandshakeTimeout);
        while (true)
        {
            ReadResult result;
            try
            {
                result = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return await CloseWithErrorAsync(FramedErrorCode.HandshakeTimeout,
                    $"no handshake within {_options.HandshakeTimeout.TotalSeconds:0.#} s: a connection starts with \"GSF1\", u16 LE version 1, u16 LE flags 0").ConfigureAwait(false);
            }

            var buffer = result.Buffer;
            if (!MagicSoFar(buffer))
            {
                input.AdvanceTo(buffer.End);
                return await CloseWithErrorAsync(FramedErrorCode.BadMagic,
                    "not a GateStream framed connection: it must start with the 4 ASCII bytes \"GSF1\"").ConfigureAwait(false);
            }

            if (buffer.Length >= FramedProtocol.ClientHelloSize)
            {
                buffer.Slice(0, FramedProtocol.ClientHelloSize).CopyTo(_hello);
                var version = BinaryPrimitives.ReadUInt16LittleEndian(_hello.AsSpan(4));
                var flags = BinaryPrimitives.ReadUInt16LittleEndian(_hello.AsSpan(6));
                if (version != FramedProtocol.Version)
                {
                    input.AdvanceTo(buffer.GetPosition(FramedProtocol.ClientHelloSize));
                    _counters.Received(FramedProtocol.ClientHelloSize);
                    return await CloseWithErrorAsync(FramedErrorCode.UnsupportedVersion,
                        $"protocol version {version} is not supported; this server speaks version {FramedProtocol.Version}").ConfigureAwait(false);
                }

                if ((flags & ~FramedWire.FlagToken) != 0)
                {
                    input.AdvanceTo(buffer.GetPosition(FramedProtocol.ClientHelloSize));
                    _counters.Received(FramedProtocol.ClientHelloSize);
                    return await CloseWithErrorAsync(FramedErrorCode.UnsupportedFlags,
                        $"handshake flags 0x{flags:x4} are not supported; version {FramedProtocol.Version} defines only 0x{FramedWire.FlagToken:x4} (a token follows)").ConfigureAwait(false);
                }

                if (HelloLength(buffer, flags) is not { } helloLength)
                {
                    input.AdvanceTo(buffer.End);
                    return await CloseWithErrorAsync(FramedErrorCode.MalformedFrame,
                        $"the token after the hello must be 1 to {FramedWire.MaxTokenBytes} bytes long").ConfigureAwait(false);
                }

                if (buffer.Length >= helloLength)
                {
                    return await CompleteHandshakeAsync(input, buffer, helloLength, cancellationToken).ConfigureAwait(false);
                }
            }

            input.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                // Connected and left without a whole hello (a port probe): nobody to tell.
                return FramedCloseReason.ClientClosed;
            }
        }
    }

    /// <summary>
    /// The client's whole hello in bytes: 8, or with the token flag 8 + 2 + the token's length (0 while that length has
    /// not arrived, so the caller waits for more); null when the announced token length is out of range.
    /// </summary>
    private static int? HelloLength(in ReadOnlySequence<byte> buffer, ushort flags)
    {
        if ((flags & FramedWire.FlagToken) == 0)
        {
            return FramedProtocol.ClientHelloSize;
        }

        if (buffer.Length < FramedProtocol.ClientHelloSize + 2)
        {
            return int.MaxValue;
        }

        Span<byte> length = stackalloc byte[2];
        buffer.Slice(FramedProtocol.ClientHelloSize, 2).CopyTo(length);
        var tokenLength = BinaryPrimitives.ReadUInt16LittleEndian(length);
        return tokenLength is 0 or > FramedWire.MaxTokenBytes ? null : FramedProtocol.ClientHelloSize + 2 + tokenLength;
    }

    /// <summary>The whole hello is in <paramref name="buffer"/>: checks the token when the server wants one, then replies.</summary>
    private async ValueTask<FramedCloseReason?> CompleteHandshakeAsync(PipeReader input, ReadOnlySequence<byte> buffer, int helloLength, CancellationToken cancellationToken)
    {
        // Once per connection: the token is copied out of the pipe, checked, and wiped.
        var token = helloLength > FramedProtocol.ClientHelloSize ? buffer.Slice(FramedProtocol.ClientHelloSize + 2, helloLength - FramedProtocol.ClientHelloSize - 2).ToArray() : [];
        input.AdvanceTo(buffer.GetPosition(helloLength));
        _counters.Received(helloLength);
        var refusal = _options.Authenticator?.Authenticate(token, _peer);
        CryptographicOperations.ZeroMemory(token);
        if (refusal is not null)
        {
            return await CloseWithErrorAsync(FramedErrorCode.Unauthenticated, refusal).ConfigureAwait(false);
        }

        FramedProtocol.WriteServerHello(_transport.Output, FramedProtocol.Version, _options.MaxFrameBytes);
        await _transport.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return null;
    }

    private static bool MagicSoFar(in ReadOnlySequence<byte> buffer)
    {
        Span<byte> head = stackalloc byte[4];
        var n = (int)Math.Min(buffer.Length, 4);
        buffer.Slice(0, n).CopyTo(head);
        return head[..n].SequenceEqual(FramedProtocol.Magic[..n]);
    }

    /// <summary>
    /// The frame loop: parse every whole frame the buffer holds, consume them, mark the rest examined, and flush the
    /// ACKs once per read. A partial frame stays in the pipe (not re-scanned: examined = end) unless it is large.
    /// </summary>
    private async ValueTask<FramedCloseReason> ReadFramesAsync(CancellationToken cancellationToken)
    {
        var input = _transport.Input;
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        long pending = 0;
        long frameStarted = 0;
        while (true)
        {
            // Between frames the idle timeout runs from now; once a frame has started, the frame timeout runs from
            // its first byte and further bytes do not extend it (a slowloris sender cannot keep a frame open).
            if (pending == 0 && _large is null)
            {
                frameStarted = 0;
                deadline.CancelAfter(_options.IdleTimeout);
            }
            else
            {
                var now = Environment.TickCount64;
                if (frameStarted == 0)
                {
                    frameStarted = now;
                }

                deadline.CancelAfter(TimeSpan.FromMilliseconds(Math.Max(0, _options.FrameTimeout.TotalMilliseconds - (now - frameStarted))));
            }

            ReadResult result;
            try
            {
                result = await input.ReadAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                var partial = frameStarted != 0;
                ReleaseLarge();
                return partial
                    ? await CloseWithErrorAsync(FramedErrorCode.FrameTimeout,
                        $"a frame was not received whole within {_options.FrameTimeout.TotalSeconds:0.###} s of its first byte; it was not applied", linger: false).ConfigureAwait(false)
                    : await CloseWithErrorAsync(FramedErrorCode.IdleTimeout,
                        $"nothing received for {_options.IdleTimeout.TotalSeconds:0.###} s; reconnect when there is data (a PING keeps a quiet connection open)", linger: false).ConfigureAwait(false);
            }

            var buffer = result.Buffer;
            var rest = buffer;
            Problem? problem = null;
            while (problem is null)
            {
                if (_large is not null)
                {
                    var take = (int)Math.Min(rest.Length, _largeLength - _largeFilled);
                    rest.Slice(0, take).CopyTo(_large.AsSpan(_largeFilled));
                    _largeFilled += take;
                    rest = rest.Slice(take);
                    if (_largeFilled < _largeLength)
                    {
                        break;
                    }

                    problem = await HandleFrameAsync(_largeType, new ReadOnlySequence<byte>(_large, 0, _largeLength), cancellationToken).ConfigureAwait(false);
                    ReleaseLarge();
                    frameStarted = 0;
                    continue;
                }

                if (!FramedProtocol.TryReadHeader(rest, out var type, out var length))
                {
                    break;
                }

                problem = CheckHeader(type, length);
                if (problem is not null)
                {
                    break;
                }

                var frameLength = FramedProtocol.FrameHeaderSize + (long)length;
                if (rest.Length >= frameLength)
                {
                    var payload = rest.Slice(FramedProtocol.FrameHeaderSize, length);
                    rest = rest.Slice(frameLength);
                    problem = await HandleFrameAsync((FrameType)type, payload, cancellationToken).ConfigureAwait(false);
                    frameStarted = 0;
                    continue;
                }

                if (length <= (uint)_options.MaxBufferedPartialFrameBytes)
                {
                    break;
                }

                if (!_counters.TryReservePartial(length, _options.MaxPartialFrameMemoryBytes))
                {
                    problem = new Problem(FramedErrorCode.Overloaded,
                        $"the server's memory for partly received frames ({_options.MaxPartialFrameMemoryBytes} bytes) is in use; this {length}-byte frame was not applied, retry later");
                    break;
                }

                _large = ArrayPool<byte>.Shared.Rent((int)length);
                _largeLength = (int)length;
                _largeFilled = 0;
                _largeType = (FrameType)type;
                rest = rest.Slice(FramedProtocol.FrameHeaderSize);
            }

            var leftover = rest.Length;
            pending = leftover;
            input.AdvanceTo(rest.Start, buffer.End);
            if (problem is { } p)
            {
                return await CloseWithErrorAsync(p.Code, p.Message).ConfigureAwait(false);
            }

            if (_unflushed)
            {
                await FlushAsync(cancellationToken).ConfigureAwait(false);
            }

            if (result.IsCompleted)
            {
                if (leftover > 0 || _large is not null)
                {
                    return await CloseWithErrorAsync(FramedErrorCode.MalformedFrame,
                        "the connection was closed in the middle of a frame; that frame was not applied", linger: false).ConfigureAwait(false);
                }

                return FramedCloseReason.ClientClosed;
            }
        }
    }

    private Problem? CheckHeader(byte type, uint length)
    {
        switch ((FrameType)type)
        {
            case FrameType.Data or FrameType.Ping:
                break;
            case FrameType.Ack or FrameType.Error or FrameType.Pong:
                return new Problem(FramedErrorCode.UnknownFrameType, $"frame type {type} ({(FrameType)type}) is sent by the server only");
            default:
                return new Problem(FramedErrorCode.UnknownFrameType, $"unknown frame type {type}; version {FramedProtocol.Version} clients send DATA (1) and PING (4)");
        }

        if (length > (uint)_options.MaxFrameBytes)
        {
            return new Problem(FramedErrorCode.FrameTooLarge,
                $"{(FrameType)type} frame of {length} bytes is over the {_options.MaxFrameBytes}-byte maximum announced in the handshake; split batches across more frames");
        }

        if ((FrameType)type == FrameType.Data && length < FramedProtocol.DataSequenceSize)
        {
            return new Problem(FramedErrorCode.MalformedFrame, $"DATA frame of {length} bytes: it needs at least the 8-byte sequence");
        }

        if ((FrameType)type == FrameType.Ping && length > FramedProtocol.MaxPingPayload)
        {
            return new Problem(FramedErrorCode.MalformedFrame, $"PING frame of {length} bytes: at most {FramedProtocol.MaxPingPayload} are allowed");
        }

        return null;
    }

    private ValueTask<Problem?> HandleFrameAsync(FrameType type, ReadOnlySequence<byte> payload, CancellationToken cancellationToken)
    {
        _counters.Received(FramedProtocol.FrameHeaderSize + payload.Length);
        if (type == FrameType.Ping)
        {
            _counters.Ping();
            FramedProtocol.WritePong(_transport.Output, payload);
            _unflushed = true;
            return ValueTask.FromResult<Problem?>(null);
        }

        return HandleDataAsync(payload, cancellationToken);
    }

    /// <summary>Decodes a DATA frame, posts its batches in order, then writes its ACK (flushed with the read's others).</summary>
    private async ValueTask<Problem?> HandleDataAsync(ReadOnlySequence<byte> payload, CancellationToken cancellationToken)
    {
        _counters.DataFrame();
        var sequence = ReadSequence(payload);
        if (!_reader.TryBegin(payload.Slice(FramedProtocol.DataSequenceSize), out var malformed))
        {
            return new Problem(FramedErrorCode.MalformedPayload, $"DATA frame {sequence}: the PushRequest is not decodable, nothing of it was applied: {malformed}");
        }

        NativeIngestCounts refused = default;
        while (_reader.TryReadNext(out var batch))
        {
            if (Admit(batch, ref refused))
            {
                continue;
            }

            var post = batch.Events is { } events
                ? _handler.Sink.PostAsync(events, cancellationToken)
                : _handler.Sink.PostAsync(batch.Metrics!, cancellationToken);
            if (post.IsCompletedSuccessfully)
            {
                post.GetAwaiter().GetResult();
                continue;
            }

            // The engine is full: this is the backpressure. Let the ACKs written so far go out while waiting.
            Exception? flushFailure = null;
            if (_unflushed)
            {
                try
                {
                    await FlushAsync(cancellationToken).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // Rethrown below, once the pending post is settled.
                catch (Exception e)
#pragma warning restore CA1031
                {
                    flushFailure = e;
                }
            }

            try
            {
                await post.ConfigureAwait(false);
            }
            catch
            {
                // Not handed over: the batch is still ours.
                Return(batch);
                throw;
            }

            if (flushFailure is not null)
            {
                ExceptionDispatchInfo.Throw(flushFailure);
            }
        }

        var counts = _reader.Counts;
        if (refused.RejectedBatches > 0)
        {
            // Refused for the series cap or a budget: the ACK counts those events as rejected and says why.
            counts.AcceptedEvents -= refused.RejectedEvents;
            counts.RejectedEvents += refused.RejectedEvents;
            counts.AcceptedSamples -= refused.RejectedSamples;
            counts.RejectedSamples += refused.RejectedSamples;
            counts.RejectedBatches += refused.RejectedBatches;
            counts.FirstProblem ??= refused.FirstProblem;
        }

        FramedProtocol.WriteAck(_transport.Output, sequence, counts);
        _unflushed = true;
        _counters.Acknowledged(counts);
        _observer.OnFrameAcknowledged(_peer, sequence, counts);
        return null;
    }

    // True when the engine refused the batch's series: the batch went back to its pool and is tallied in `refused`.
    private bool Admit(NativeBatch batch, ref NativeIngestCounts refused)
    {
        var sink = _handler.Sink;
        var reason = batch.Events is { } events ? sink.Admit(events) : sink.Admit(batch.Metrics!);
        if (reason is not { } refusal)
        {
            return false;
        }

        var (key, source) = batch.Events is { } e ? (e.Key, e.Source) : (batch.Metrics!.Key, batch.Metrics.Source);
        refused.FirstProblem ??= sink.DescribeRefusal(refusal, key, source);
        refused.RejectedBatches++;
        if (batch.Events is not null)
        {
            refused.RejectedEvents += batch.Events.Count;
        }
        else
        {
            refused.RejectedSamples += batch.Metrics!.Count;
        }

        Return(batch);
        return true;
    }

    private void Return(NativeBatch batch)
    {
        if (batch.Events is { } events)
        {
            _handler.Sink.EventPool.Return(events);
        }
        else if (batch.Metrics is { } metrics)
        {
            _handler.Sink.MetricPool.Return(metrics);
        }
    }

    private static ulong ReadSequence(in ReadOnlySequence<byte> payload)
    {
        Span<byte> bytes = stackalloc byte[FramedProtocol.DataSequenceSize];
        payload.Slice(0, FramedProtocol.DataSequenceSize).CopyTo(bytes);
        return BinaryPrimitives.ReadUInt64LittleEndian(bytes);
    }

    private async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        _unflushed = false;
        await _transport.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Counts and reports the error, sends the ERROR frame (bounded wait), lingers, and says how the connection ends.</summary>
    private async ValueTask<FramedCloseReason> CloseWithErrorAsync(FramedErrorCode code, string message, bool linger = true)
    {
        _counters.Error(code);
        _observer.OnProtocolError(_peer, code, message);
        try
        {
            FramedProtocol.WriteError(_transport.Output, code, message);
            using (var timeout = new CancellationTokenSource(ErrorFlushTimeout))
            {
                await _transport.Output.FlushAsync(timeout.Token).ConfigureAwait(false);
            }

            if (linger)
            {
                await DrainAsync().ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // The peer may be gone already; the connection is closing either way.
        catch (Exception)
#pragma warning restore CA1031
        {
        }

        return code == FramedErrorCode.ShuttingDown ? FramedCloseReason.ShuttingDown : FramedCloseReason.ProtocolError;
    }

    private async ValueTask DrainAsync()
    {
        using var timeout = new CancellationTokenSource(_options.CloseLinger);
        var input = _transport.Input;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
                input.AdvanceTo(result.Buffer.End);
                if (result.IsCompleted || result.IsCanceled)
                {
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private void ReleaseLarge()
    {
        if (_large is not null)
        {
            ArrayPool<byte>.Shared.Return(_large);
            _large = null;
            _counters.ReleasePartial(_largeLength);
        }
    }

    private readonly record struct Problem(FramedErrorCode Code, string Message);
}
