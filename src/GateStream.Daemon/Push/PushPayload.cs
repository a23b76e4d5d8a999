using System.Buffers;
using GateStream.Core.Events;

namespace GateStream.Daemon.Push;

/// <summary>
/// One <c>PushRequest</c> of a Push stream as its raw bytes, copied out of the HTTP/2 frames by the request marshaller
/// into a pooled buffer: the frames are only valid while the marshaller runs, and the handler decodes the message
/// batch by batch, posting each (and waiting for room) before decoding the next. Pooled, with its buffer, so a message
/// costs a copy but no allocation.
/// </summary>
internal sealed class PushPayload
{
    private static readonly BatchPool<PushPayload> Pool = new(static () => new PushPayload(), static p => p.Release(), 64);

    private byte[] _buffer = [];
    private int _length;

    public ReadOnlyMemory<byte> Bytes => _buffer.AsMemory(0, _length);

    public static PushPayload Copy(in ReadOnlySequence<byte> payload)
    {
        var copy = Pool.Rent();
        var length = checked((int)payload.Length);
        copy._buffer = length == 0 ? [] : ArrayPool<byte>.Shared.Rent(length);
        copy._length = length;
        payload.CopyTo(copy._buffer);
        return copy;
    }

    /// <summary>Back to the pool, its buffer to the shared array pool. Not to be used afterwards.</summary>
    public void Return() => Pool.Return(this);

    private void Release()
    {
        if (_buffer.Length > 0)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = [];
        _length = 0;
    }
}
