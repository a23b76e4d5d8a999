using Google.Protobuf;

namespace GateStream.Daemon.Http;

/// <summary>
/// The HTTP API's bodies: the gRPC services' own messages in the proto3 JSON mapping (lowerCamelCase field names,
/// enums by name, 64-bit integers as strings, timestamps as RFC 3339), so one client library reads both transports.
/// Fields at their default value are written too (a weight of 0, <c>shadow: false</c>), so a JSONPath always finds them.
/// </summary>
internal static class ProtoJson
{
    public const string ContentType = "application/json; charset=utf-8";

    public static readonly JsonFormatter Formatter = new(JsonFormatter.Settings.Default.WithFormatDefaultValues(true));

    public static readonly JsonParser Parser = new(JsonParser.Settings.Default);

    /// <summary>An <see cref="IResult"/> writing <paramref name="message"/> as JSON with <paramref name="status"/>.</summary>
    public static IResult Result(IMessage message, int status = StatusCodes.Status200OK) => new MessageResult(message, status);

    private sealed class MessageResult(IMessage message, int status) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            ArgumentNullException.ThrowIfNull(httpContext);
            httpContext.Response.StatusCode = status;
            httpContext.Response.ContentType = ContentType;
            return httpContext.Response.WriteAsync(Formatter.Format(message), httpContext.RequestAborted);
        }
    }
}
