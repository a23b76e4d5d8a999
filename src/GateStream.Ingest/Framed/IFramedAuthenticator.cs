namespace GateStream.Ingest.Framed;

/// <summary>
/// Decides, once per connection during the handshake, whether a framed client may send (see
/// <see cref="FramedIngestOptions.Authenticator"/>). Called on connection threads, concurrently: implementations must
/// be thread-safe and must not throw. They count and log refusals themselves; never the token.
/// </summary>
public interface IFramedAuthenticator
{
    /// <summary>Null when the client may send; otherwise the message of the ERROR <see cref="FramedErrorCode.Unauthenticated"/> frame.</summary>
    /// <param name="token">The token from the hello, UTF-8; empty when the client sent none.</param>
    /// <param name="peer">The peer's address, for logs.</param>
    string? Authenticate(ReadOnlySpan<byte> token, string peer);
}
