using System.Net.Sockets;
using System.Text;

namespace GateStream.Examples.Haproxy;

/// <summary>
/// HAProxy's runtime API over its admin socket (<c>stats socket PATH level admin</c>): one command per connection,
/// the answer read to the end. An empty answer means success for <c>set weight</c>.
/// </summary>
public sealed class HaproxyRuntime(string socketPath)
{
    /// <summary>Sets a server's weight (0..256); throws <see cref="HaproxyException"/> with HAProxy's answer if refused.</summary>
    public async Task SetWeightAsync(string backend, string server, int weight, CancellationToken cancellationToken)
    {
        var answer = await CommandAsync($"set weight {backend}/{server} {weight}", cancellationToken).ConfigureAwait(false);
        if (answer.Trim().Length > 0)
        {
            throw new HaproxyException($"HAProxy refused 'set weight {backend}/{server} {weight}': {answer.Trim()}");
        }
    }

    /// <summary>A server's current weight, from <c>get weight</c> ("50 (initial 100)").</summary>
    public async Task<int> GetWeightAsync(string backend, string server, CancellationToken cancellationToken)
    {
        var answer = (await CommandAsync($"get weight {backend}/{server}", cancellationToken).ConfigureAwait(false)).Trim();
        var end = answer.IndexOf(' ', StringComparison.Ordinal);
        return int.TryParse(end < 0 ? answer : answer[..end], System.Globalization.CultureInfo.InvariantCulture, out var weight)
            ? weight
            : throw new HaproxyException($"HAProxy answered 'get weight {backend}/{server}' with: {answer}");
    }

    public async Task<string> CommandAsync(string command, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        await socket.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), cancellationToken).ConfigureAwait(false);
        await socket.SendAsync(Encoding.ASCII.GetBytes(command + "\n"), SocketFlags.None, cancellationToken).ConfigureAwait(false);
        var answer = new StringBuilder();
        var buffer = new byte[4096];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false)) > 0)
        {
            answer.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        return answer.ToString();
    }
}

public sealed class HaproxyException(string message) : Exception(message);
