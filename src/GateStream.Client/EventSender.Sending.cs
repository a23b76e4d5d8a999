using System.Buffers.Binary;
using System.Text;
using GateStream.Client.Internal;
using Grpc.Core;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Client;

// Sending: one background loop per sender that connects, pumps frames until the connection fails, puts what was in
// flight back at the front of the queue, waits (exponential backoff with jitter) and connects again.
public sealed partial class EventSender
{
    private async Task SendLoopAsync(CancellationToken cancellationToken)
    {
        var backoff = new Backoff(_options.ReconnectDelay, _options.MaxReconnectDelay);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (_channel is not null)
                {
                    await PumpGrpcAsync(backoff, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await PumpFramedAsync(backoff, cancellationToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // Any failure of a connection means: reconnect later. It is logged and kept in LastError.
            catch (Exception e)
#pragma warning restore CA1031
            {
                Volatile.Write(ref _connected, false);
                Requeue();
                var reason = e is RpcException rpc ? $"{rpc.StatusCode}: {rpc.Status.Detail}" : e.Message;
                Volatile.Write(ref _lastError, reason);
                var delay = backoff.Next();
                ClientLog.SendFailed(_logger, _endpoint.Text, delay, reason);
                try
                {
                    await Task.Delay(delay, _clock, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>One framed connection: a writer (bounded by the in-flight window) and a reader of ACKs, until either fails.</summary>
    private async Task PumpFramedAsync(Backoff backoff, CancellationToken cancellationToken)
    {
        var connection = await FramedClientConnection.ConnectAsync(_endpoint.Socket!, _options.Token, _options.ConnectTimeout, cancellationToken).ConfigureAwait(false);
        await using var _ = connection.ConfigureAwait(false);
        Volatile.Write(ref _connected, true);
        Interlocked.Increment(ref _connects);
        backoff.Reset();
        ClientLog.Connected(_logger, _endpoint.Text);
        var maxPayload = Math.Min(_options.MaxFrameBytes, connection.MaxFramePayload);
        using var window = new SemaphoreSlim(_options.MaxFramesInFlight);
        using var failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var writer = WriteFramesAsync(connection, window, maxPayload, failed.Token);
        var reader = ReadAcksAsync(connection, window, failed.Token);
        var first = await Task.WhenAny(writer, reader).ConfigureAwait(false);
        await failed.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(writer, reader).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && first.Exception is not null)
        {
        }

        // Surface why the connection ended (the other task only saw the cancellation).
        await first.ConfigureAwait(false);
    }

    private async Task WriteFramesAsync(FramedClientConnection connection, SemaphoreSlim window, int maxPayload, CancellationToken cancellationToken)
    {
        while (true)
        {
            await window.WaitAsync(cancellationToken).ConfigureAwait(false);
            Frame frame;
            while (!TryTakeFrame(maxPayload, out frame))
            {
                // A quiet connection sends a PING now and then, so the server's idle timeout does not close it.
                if (_options.KeepAliveInterval == Timeout.InfiniteTimeSpan)
                {
                    await _work.WaitAsync(cancellationToken).ConfigureAwait(false);
                }
                else if (!await _work.WaitAsync(_options.KeepAliveInterval, _clock, cancellationToken).ConfigureAwait(false))
                {
                    await connection.WritePingAsync(cancellationToken).ConfigureAwait(false);
                }
            }

            await connection.WriteDataAsync(frame.Sequence, frame.Request, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task ReadAcksAsync(FramedClientConnection connection, SemaphoreSlim window, CancellationToken cancellationToken)
    {
        while (true)
        {
            var (type, payload) = await connection.ReadFrameAsync(cancellationToken).ConfigureAwait(false);
            switch (type)
            {
                case FramedClientConnection.Ack when payload.Length >= 24:
                    var sequence = BinaryPrimitives.ReadUInt64LittleEndian(payload);
                    var reason = payload.Length > 24 ? Encoding.UTF8.GetString(payload.AsSpan(24)) : null;
                    if (!Acknowledge(sequence, BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(8)), BinaryPrimitives.ReadUInt32LittleEndian(payload.AsSpan(12)), reason))
                    {
                        throw new IOException($"the server acknowledged frame {sequence}, which is not the oldest in flight");
                    }

                    window.Release();
                    break;
                case FramedClientConnection.Error:
                    var error = FramedErrorException.From(payload);
                    if (error.Code is FramedClientConnection.MalformedPayload or FramedClientConnection.FrameTooLarge)
                    {
                        // The server stopped at the frame after the last acknowledged one: that frame can never succeed.
                        DropOldestInFlight($"the server refused the frame: {error.ServerMessage}");
                    }

                    throw error;
                case FramedClientConnection.Pong:
                    break;
                default:
                    throw new IOException($"the server sent an unexpected frame (type {type}, {payload.Length} bytes)");
            }
        }
    }

    /// <summary>
    /// gRPC: each round is one Push call carrying up to MaxFramesInFlight messages; its response acknowledges them all.
    /// A failed call leaves its messages to be sent again.
    /// </summary>
    private async Task PumpGrpcAsync(Backoff backoff, CancellationToken cancellationToken)
    {
        var client = new V1.IngestService.IngestServiceClient(_channel!);
        var headers = _options.Token is { } token ? new Metadata { { "authorization", $"Bearer {token}" } } : null;
        var frames = new List<Frame>(_options.MaxFramesInFlight);
        while (true)
        {
            frames.Clear();
            Frame frame;
            while (!TryTakeFrame(_options.MaxFrameBytes, out frame))
            {
                await _work.WaitAsync(cancellationToken).ConfigureAwait(false);
            }

            frames.Add(frame);
            while (frames.Count < _options.MaxFramesInFlight && TryTakeFrame(_options.MaxFrameBytes, out frame))
            {
                frames.Add(frame);
            }

            using var call = client.Push(headers, cancellationToken: cancellationToken);
            foreach (var f in frames)
            {
                await call.RequestStream.WriteAsync(f.Request, cancellationToken).ConfigureAwait(false);
            }

            await call.RequestStream.CompleteAsync().ConfigureAwait(false);
            var response = await call.ResponseAsync.ConfigureAwait(false);
            Acknowledge(frames, response);
            if (!Volatile.Read(ref _connected))
            {
                Volatile.Write(ref _connected, true);
                ClientLog.Connected(_logger, _endpoint.Text);
            }

            Interlocked.Increment(ref _connects);
            backoff.Reset();
        }
    }
}
