namespace GateStream.Daemon.Http;

/// <summary>Reads a small request body whole, refusing one over a limit without reading past it.</summary>
internal static class RequestBody
{
    /// <summary>The body's bytes, or null with <paramref name="problem"/> saying why not (too large, or empty).</summary>
    public static async Task<(byte[]? Body, string? Problem)> ReadAsync(HttpContext http, int maxBytes, string expected)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (http.Request.ContentLength > maxBytes)
        {
            return (null, $"body: {http.Request.ContentLength} bytes, over the {maxBytes}-byte limit");
        }

        var buffer = new byte[maxBytes + 1];
        var read = 0;
        int n;
        while (read < buffer.Length && (n = await http.Request.Body.ReadAsync(buffer.AsMemory(read), http.RequestAborted).ConfigureAwait(false)) > 0)
        {
            read += n;
        }

        if (read > maxBytes)
        {
            return (null, $"body: over the {maxBytes}-byte limit");
        }

        return read == 0 ? (null, $"body: {expected} is required") : (buffer[..read], null);
    }
}
