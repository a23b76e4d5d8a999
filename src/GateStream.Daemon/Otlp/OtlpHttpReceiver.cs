using System.Buffers;
using System.IO.Compression;
using GateStream.Daemon.Diagnostics;
using GateStream.Daemon.Options;
using GateStream.Ingest.Otlp;
using Google.Protobuf;
using Microsoft.Extensions.Options;
using Metrics = GateStream.Contracts.Otlp.Collector.Metrics.V1;
using Trace = GateStream.Contracts.Otlp.Collector.Trace.V1;

namespace GateStream.Daemon.Otlp;

/// <summary>
/// The OTLP/HTTP receiver on the HTTP listener: <c>POST /v1/traces</c> and <c>POST /v1/metrics</c>, binary protobuf
/// (<c>application/x-protobuf</c>) or JSON (<c>application/json</c>), optionally gzip-compressed. The body goes through
/// the same decoder and the same apply path as OTLP/gRPC; answers follow the OTLP/HTTP specification: 200 with the
/// export response (partial success when items were rejected) in the request's encoding, 400 with a
/// <c>google.rpc.Status</c> for a body that cannot be decoded, 413 past <c>GateStream:Engine:MaxReceiveMessageBytes</c>
/// (after decompression), 415 for another content type or encoding.
/// </summary>
internal sealed class OtlpHttpReceiver(OtlpService service, IOptions<GateStreamOptions> options)
{
    public const string TracesPath = "/v1/traces";
    public const string MetricsPath = "/v1/metrics";

    private const string Protobuf = "application/x-protobuf";
    private const string Json = "application/json";

    // The OTLP JSON encoding is protobuf's JSON mapping; unknown fields (a newer sender's) are skipped, as in binary.
    private static readonly JsonParser Parser = new(JsonParser.Settings.Default.WithIgnoreUnknownFields(true));

    private readonly int _limit = options.Value.Engine.MaxReceiveMessageBytes;

    public async Task HandleAsync(HttpContext context, bool traces)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        var json = IsMediaType(request.ContentType, Json);
        if (!json && !IsMediaType(request.ContentType, Protobuf))
        {
            await FailAsync(context, StatusCodes.Status415UnsupportedMediaType, json: false, $"content type '{request.ContentType}' is not supported: send {Protobuf} or {Json}", Peers.Of(context)).ConfigureAwait(false);
            return;
        }

        var encoding = request.Headers.ContentEncoding.ToString();
        if (encoding.Length > 0 && !encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase) && !encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
        {
            await FailAsync(context, StatusCodes.Status415UnsupportedMediaType, json, $"content encoding '{encoding}' is not supported: send gzip or none", Peers.Of(context)).ConfigureAwait(false);
            return;
        }

        var peer = Peers.Of(context);
        var gzip = encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase);
        using var body = new PooledBody((int)Math.Clamp(request.ContentLength ?? 64 * 1024, 1024, _limit + 1L));
        try
        {
            await ReadBodyAsync(request.Body, gzip, body, context.RequestAborted).ConfigureAwait(false);
        }
        catch (InvalidDataException e)
        {
            await FailAsync(context, StatusCodes.Status400BadRequest, json, "the gzip body cannot be decompressed: " + e.Message, peer).ConfigureAwait(false);
            return;
        }

        var length = body.Length;
        if (length > _limit)
        {
            await FailAsync(context, StatusCodes.Status413PayloadTooLarge, json, $"the request is larger than {_limit} bytes (GateStream:Engine:MaxReceiveMessageBytes)", peer).ConfigureAwait(false);
            return;
        }

        ReadOnlySequence<byte> payload;
        if (json)
        {
            if (!TryFromJson(body.Buffer.AsSpan(0, length), traces, out var binary, out var problem))
            {
                await FailAsync(context, StatusCodes.Status400BadRequest, json, problem, peer).ConfigureAwait(false);
                return;
            }

            payload = new ReadOnlySequence<byte>(binary);
        }
        else
        {
            payload = new ReadOnlySequence<byte>(body.Buffer, 0, length);
        }

        var result = await service.ExportAsync(service.Decode(payload, traces), peer, traces, context.RequestAborted).ConfigureAwait(false);
        if (result.Malformed)
        {
            // Already counted and logged by the service.
            await WriteStatusAsync(context, StatusCodes.Status400BadRequest, json, result.ErrorMessage ?? "malformed request").ConfigureAwait(false);
            return;
        }

        await RespondAsync(context, json, Response(result, traces)).ConfigureAwait(false);
    }

    private static IMessage Response(OtlpDecodeResult result, bool traces)
    {
        if (traces)
        {
            var response = new Trace.ExportTraceServiceResponse();
            if (result.ErrorMessage is { } message)
            {
                response.PartialSuccess = new Trace.ExportTracePartialSuccess { RejectedSpans = result.Rejected, ErrorMessage = message };
            }

            return response;
        }

        var metrics = new Metrics.ExportMetricsServiceResponse();
        if (result.ErrorMessage is { } why)
        {
            metrics.PartialSuccess = new Metrics.ExportMetricsPartialSuccess { RejectedDataPoints = result.Rejected, ErrorMessage = why };
        }

        return metrics;
    }

    /// <summary>Reads the body, decompressed when gzip, into <paramref name="into"/>; stops one byte past the limit.</summary>
    private async Task ReadBodyAsync(Stream body, bool gzip, PooledBody into, CancellationToken cancellationToken)
    {
        var source = gzip ? new GZipStream(body, CompressionMode.Decompress, leaveOpen: true) : null;
        try
        {
            var input = source ?? body;
            while (into.Length <= _limit)
            {
                if (into.Length == into.Buffer.Length)
                {
                    into.Grow(Math.Min(into.Buffer.Length * 2, _limit + 1));
                }

                var room = Math.Min(into.Buffer.Length, _limit + 1) - into.Length;
                var read = await input.ReadAsync(into.Buffer.AsMemory(into.Length, room), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                into.Length += read;
            }
        }
        finally
        {
            if (source is not null)
            {
                await source.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>A request body in a buffer rented from the shared pool, returned once on dispose.</summary>
    private sealed class PooledBody(int capacity) : IDisposable
    {
        public byte[] Buffer { get; private set; } = ArrayPool<byte>.Shared.Rent(capacity);

        public int Length { get; set; }

        public void Grow(int capacity)
        {
            var larger = ArrayPool<byte>.Shared.Rent(capacity);
            Buffer.AsSpan(0, Length).CopyTo(larger);
            ArrayPool<byte>.Shared.Return(Buffer);
            Buffer = larger;
        }

        public void Dispose() => ArrayPool<byte>.Shared.Return(Buffer);
    }

    private static bool TryFromJson(ReadOnlySpan<byte> utf8, bool traces, out byte[] binary, out string problem)
    {
        try
        {
            var text = System.Text.Encoding.UTF8.GetString(utf8);
            IMessage message = traces ? Parser.Parse<Trace.ExportTraceServiceRequest>(text) : Parser.Parse<Metrics.ExportMetricsServiceRequest>(text);
            binary = message.ToByteArray();
            problem = string.Empty;
            return true;
        }
        catch (Exception e) when (e is InvalidJsonException or InvalidProtocolBufferException or FormatException or ArgumentException)
        {
            binary = [];
            problem = "the JSON body is not an OTLP export request: " + e.Message;
            return false;
        }
    }

    private static bool IsMediaType(string? contentType, string expected) =>
        contentType is not null
        && contentType.AsSpan().Trim().StartsWith(expected, StringComparison.OrdinalIgnoreCase)
        && (contentType.Trim().Length == expected.Length || contentType.Trim()[expected.Length] == ';');

    private static Task RespondAsync(HttpContext context, bool json, IMessage message)
    {
        context.Response.StatusCode = StatusCodes.Status200OK;
        return json
            ? WriteJsonAsync(context, JsonFormatter.Default.Format(message))
            : WriteProtobufAsync(context, message.ToByteArray());
    }

    /// <summary>Bad input refused whole: counted, logged with the peer (rate-limited), and answered.</summary>
    private Task FailAsync(HttpContext context, int status, bool json, string message, string peer)
    {
        service.ReportMalformed(message, peer);
        return WriteStatusAsync(context, status, json, message);
    }

    /// <summary>A failure answered with a <c>google.rpc.Status</c> (code INVALID_ARGUMENT, the message), as the specification asks.</summary>
    private static Task WriteStatusAsync(HttpContext context, int status, bool json, string message)
    {
        context.Response.StatusCode = status;
        if (json)
        {
            return WriteJsonAsync(context, System.Text.Json.JsonSerializer.Serialize(new RpcStatus(3, message), RpcStatusJson.Default.RpcStatus));
        }

        // google.rpc.Status { int32 code = 1; string message = 2; }, written with protobuf's own encoder.
        var size = CodedOutputStream.ComputeTagSize(1) + CodedOutputStream.ComputeInt32Size(3)
            + CodedOutputStream.ComputeTagSize(2) + CodedOutputStream.ComputeStringSize(message);
        var bytes = new byte[size];
        var output = new CodedOutputStream(bytes);
        output.WriteTag(1, WireFormat.WireType.Varint);
        output.WriteInt32(3);
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteString(message);
        output.CheckNoSpaceLeft();
        return WriteProtobufAsync(context, bytes);
    }

    private static Task WriteJsonAsync(HttpContext context, string json)
    {
        context.Response.ContentType = Json;
        return context.Response.WriteAsync(json, context.RequestAborted);
    }

    private static Task WriteProtobufAsync(HttpContext context, byte[] bytes)
    {
        context.Response.ContentType = Protobuf;
        context.Response.ContentLength = bytes.Length;
        return context.Response.Body.WriteAsync(bytes, context.RequestAborted).AsTask();
    }
}

/// <summary><c>google.rpc.Status</c> in its JSON form.</summary>
internal sealed record RpcStatus(int Code, string Message);

[System.Text.Json.Serialization.JsonSourceGenerationOptions(PropertyNamingPolicy = System.Text.Json.Serialization.JsonKnownNamingPolicy.CamelCase)]
[System.Text.Json.Serialization.JsonSerializable(typeof(RpcStatus))]
internal sealed partial class RpcStatusJson : System.Text.Json.Serialization.JsonSerializerContext;
