using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace GateStream.Client.Internal;

/// <summary>Where an <see cref="EventSender"/> sends: a framed TCP or Unix-socket endpoint, or a gRPC URL.</summary>
internal sealed class ClientEndpoint
{
    private ClientEndpoint(EndPoint? socket, Uri? grpc, string text)
    {
        Socket = socket;
        Grpc = grpc;
        Text = text;
    }

    /// <summary>The framed protocol's socket address (TCP or Unix); null for gRPC.</summary>
    public EndPoint? Socket { get; }

    /// <summary>The gRPC URL; null for the framed protocol.</summary>
    public Uri? Grpc { get; }

    public string Text { get; }

    public bool IsUnix => Socket is UnixDomainSocketEndPoint;

    public override string ToString() => Text;

    /// <summary>
    /// <c>host:port</c> or <c>tcp://host:port</c> (framed TCP), <c>unix:/path</c> (framed Unix socket),
    /// <c>http://host:port</c> or <c>https://host:port</c> (gRPC <c>IngestService.Push</c>).
    /// </summary>
    public static ClientEndpoint Parse(string endpoint)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(endpoint);
        if (endpoint.StartsWith("unix:", StringComparison.Ordinal))
        {
            var path = endpoint["unix:".Length..];
            if (path.Length == 0)
            {
                throw new ArgumentException($"'{endpoint}': unix: needs a socket path, e.g. unix:/run/gatestream/framed.sock", nameof(endpoint));
            }

            return new ClientEndpoint(new UnixDomainSocketEndPoint(path), null, endpoint);
        }

        if (endpoint.StartsWith("http://", StringComparison.OrdinalIgnoreCase) || endpoint.StartsWith("https://", StringComparison.OrdinalIgnoreCase))
        {
            return Uri.TryCreate(endpoint, UriKind.Absolute, out var uri)
                ? new ClientEndpoint(null, uri, endpoint)
                : throw new ArgumentException($"'{endpoint}' is not a valid URL", nameof(endpoint));
        }

        var hostPort = endpoint.StartsWith("tcp://", StringComparison.OrdinalIgnoreCase) ? endpoint["tcp://".Length..] : endpoint;
        var colon = hostPort.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(hostPort.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new ArgumentException($"'{endpoint}' is neither host:port, unix:/path nor an http(s):// URL", nameof(endpoint));
        }

        var host = hostPort[..colon].Trim('[', ']');
        EndPoint address = IPAddress.TryParse(host, out var ip) ? new IPEndPoint(ip, port) : new DnsEndPoint(host, port);
        return new ClientEndpoint(address, null, endpoint);
    }
}
