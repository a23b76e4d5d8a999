using Google.Protobuf;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Cli.Replay;

/// <summary>
/// The events file <c>gatestream record</c> writes and <c>gatestream replay</c> reads (<c>.gse</c>): a sequence of
/// <c>gatestream.v1.RecordingEntry</c> messages, each preceded by its length as a base-128 varint (protobuf's
/// <c>writeDelimitedTo</c> framing), and nothing else: no header, no trailer. An empty file holds no message. An entry
/// is a <c>PushRequest</c> with two more fields (the gates at the recording's start, a live decision), so files of
/// PushRequests alone read as entries (<c>proto/gatestream/v1/recording.proto</c>).
/// </summary>
public static class EventsFile
{
    /// <summary>Appends one message (length prefix, then the message).</summary>
    public static void Write(Stream output, V1.PushRequest message)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(message);
        message.WriteDelimitedTo(output);
    }

    /// <summary>Appends one entry (length prefix, then the entry).</summary>
    public static void Write(Stream output, V1.RecordingEntry entry)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(entry);
        entry.WriteDelimitedTo(output);
    }

    /// <summary>
    /// The entries of <paramref name="input"/> in file order. Throws <see cref="EventsFileException"/> at an entry that is
    /// cut short or not a RecordingEntry, saying how many whole entries came before it.
    /// </summary>
    public static IEnumerable<V1.RecordingEntry> ReadEntries(Stream input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return ReadIterator<V1.RecordingEntry>(input);
    }

    /// <summary>
    /// The messages of <paramref name="input"/> in file order, as PushRequests (the batches of each entry; the start and
    /// live decisions are skipped as unknown fields). Throws <see cref="EventsFileException"/> at a
    /// message that is cut short or not a PushRequest, saying how many whole messages came before it.
    /// </summary>
    public static IEnumerable<V1.PushRequest> Read(Stream input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return ReadIterator<V1.PushRequest>(input);
    }

    private static IEnumerable<T> ReadIterator<T>(Stream input)
        where T : IMessage<T>, new()
    {
        using var coded = new CodedInputStream(input, leaveOpen: true);
        long count = 0;
        while (true)
        {
            T message;
            try
            {
                if (coded.IsAtEnd)
                {
                    yield break;
                }

                message = new T();
                coded.ReadMessage(message);
            }
            catch (InvalidProtocolBufferException e)
            {
                throw new EventsFileException(count, e);
            }

            count++;
            yield return message;
        }
    }
}

/// <summary>An events file that ends inside a message or holds something that is not a length-prefixed PushRequest.</summary>
public sealed class EventsFileException : Exception
{
    public EventsFileException()
    {
    }

    public EventsFileException(string message)
        : base(message)
    {
    }

    public EventsFileException(string message, Exception inner)
        : base(message, inner)
    {
    }

    internal EventsFileException(long wholeMessages, Exception inner)
        : base($"the events file is damaged after {wholeMessages} whole message(s): {inner.Message}", inner)
    {
        WholeMessages = wholeMessages;
    }

    /// <summary>Messages read whole before the damage.</summary>
    public long WholeMessages { get; }
}
