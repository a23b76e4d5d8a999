using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Text;
using GateStream.Contracts.Framed;
using GateStream.Ingest.Framed;
using GateStream.Ingest.Tests.Native;

namespace GateStream.Ingest.Tests.Framed;

/// <summary>
/// The token in the framed hello (flag 0x0001, then u16 LE length and the bytes): checked once per connection when the
/// handler has an authenticator, read and ignored when it has none, so old clients and new ones work either way.
/// </summary>
public class FramedAuthenticationTests
{
    private const string Good = "sidecar-token-7f3a";

    private sealed class OneToken : IFramedAuthenticator
    {
        public ConcurrentQueue<string> Presented { get; } = new();

        public string? Authenticate(ReadOnlySpan<byte> token, string peer)
        {
            Presented.Enqueue(Encoding.UTF8.GetString(token));
            return token.IsEmpty ? "a token is required" : token.SequenceEqual(Encoding.UTF8.GetBytes(Good)) ? null : "the token is not valid";
        }
    }

    private static FramedIngestHandler NewHandler(RecordingSink sink, IFramedAuthenticator? authenticator) =>
        new(sink, new FramedIngestOptions { CloseLinger = TimeSpan.FromMilliseconds(200), Authenticator = authenticator });

    private static byte[] HelloWithToken(string token) => HelloWithToken(Encoding.UTF8.GetBytes(token));

    private static byte[] HelloWithToken(byte[] token, int? declaredLength = null)
    {
        var hello = new byte[8 + 2 + token.Length];
        TestClient.Hello(flags: FramedWire.FlagToken).CopyTo(hello, 0);
        BinaryPrimitives.WriteUInt16LittleEndian(hello.AsSpan(8), (ushort)(declaredLength ?? token.Length));
        token.CopyTo(hello, 10);
        return hello;
    }

    private static byte[] OneEvent() => TestClient.Data(1, NativeTestData.Push([NativeTestData.Events("checkout", "v1", 3, 1)]));

    [Theory]
    [InlineData("memory")]
    [InlineData("tcp")]
    public async Task A_good_token_arriving_a_byte_at_a_time_opens_the_connection(string transport)
    {
        var sink = new RecordingSink();
        var authenticator = new OneToken();
        await using var server = Transports.Create(transport, NewHandler(sink, authenticator));
        await using var client = await server.ConnectAsync();

        foreach (var b in HelloWithToken(Good))
        {
            await client.SendAsync(new[] { b });
        }

        Assert.Null(await client.ReadFrameOrHelloAsync());
        await client.SendAsync(OneEvent());
        Assert.Equal(3u, (await client.ReadAckAsync()).AcceptedEvents);
        Assert.Equal([Good], authenticator.Presented);
    }

    [Theory]
    [InlineData(false, "")]
    [InlineData(true, "sidecar-token-7f3b")]
    public async Task Without_the_right_token_the_client_gets_error_14_and_nothing_it_sends_is_applied(bool sendToken, string token)
    {
        var sink = new RecordingSink();
        var handler = NewHandler(sink, new OneToken());
        await using var server = Transports.Create("tcp", handler);
        await using var client = await server.ConnectAsync();

        // A client that pipelines a frame right after its hello: it must not be applied.
        await client.SendAsync(sendToken ? HelloWithToken(token) : TestClient.Hello());
        await client.SendAsync(OneEvent());

        var (code, message) = await client.ReadFrameOrHelloAsync() ?? throw new InvalidOperationException("the server said hello");
        Assert.Equal(FramedErrorCode.Unauthenticated, code);
        Assert.Equal(sendToken ? "the token is not valid" : "a token is required", message);
        Assert.DoesNotContain(Good, message, StringComparison.Ordinal);
        Assert.Equal(0, sink.Events);
        Assert.Equal(1, handler.Counters.Errors(FramedErrorCode.Unauthenticated));
        Assert.Equal(14u, FramedWire.ErrorUnauthenticated);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(FramedWire.MaxTokenBytes + 1)]
    public async Task A_token_length_out_of_range_is_a_malformed_hello(int length)
    {
        var handler = NewHandler(new RecordingSink(), new OneToken());
        await using var server = Transports.Create("memory", handler);
        await using var client = await server.ConnectAsync();

        await client.SendAsync(HelloWithToken([], declaredLength: length));

        var (code, message) = await client.ReadFrameOrHelloAsync() ?? throw new InvalidOperationException("the server said hello");
        Assert.Equal(FramedErrorCode.MalformedFrame, code);
        Assert.Contains($"1 to {FramedWire.MaxTokenBytes} bytes", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_an_authenticator_a_token_is_read_and_ignored_and_a_plain_hello_still_works()
    {
        var sink = new RecordingSink();
        await using var server = Transports.Create("tcp", NewHandler(sink, authenticator: null));

        await using (var withToken = await server.ConnectAsync())
        {
            await withToken.SendAsync(HelloWithToken("anything"));
            Assert.Null(await withToken.ReadFrameOrHelloAsync());
            await withToken.SendAsync(OneEvent());
            Assert.Equal(3u, (await withToken.ReadAckAsync()).AcceptedEvents);
        }

        await using var plain = await server.ConnectAsync();
        await plain.HandshakeAsync();
        await plain.SendAsync(OneEvent());
        Assert.Equal(3u, (await plain.ReadAckAsync()).AcceptedEvents);
        Assert.Equal(6, sink.Events);
    }
}
