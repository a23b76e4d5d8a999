using Google.Protobuf;
using Grpc.Core;

namespace GateStream.Daemon.Push;

/// <summary>
/// The marshaller the generated code would use for a message type, for methods bound by hand (a raw request
/// marshaller on one side, the generated message on the other).
/// </summary>
internal static class GeneratedMarshaller
{
    public static Marshaller<T> For<T>(MessageParser<T> parser)
        where T : IMessage<T> => Marshallers.Create<T>(
            static (message, context) =>
            {
                context.SetPayloadLength(message.CalculateSize());
                message.WriteTo(context.GetBufferWriter());
                context.Complete();
            },
            context => parser.ParseFrom(context.PayloadAsReadOnlySequence()));
}
