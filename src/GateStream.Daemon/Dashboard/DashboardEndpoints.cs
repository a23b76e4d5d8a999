using System.Collections.Frozen;
using System.Reflection;
using System.Security.Cryptography;
using Microsoft.Net.Http.Headers;

namespace GateStream.Daemon.Dashboard;

/// <summary>
/// The dashboard at <c>/</c> on the HTTP listener: static files embedded in gatestreamd (the page, its script and style,
/// and the uPlot chart library restored by npm at build time), which read everything from the HTTP API under
/// <c>/api/v1</c>. Off with <c>GateStream:Dashboard:Enabled=false</c>: then nothing is mapped and <c>/</c> is 404.
/// </summary>
internal static class DashboardEndpoints
{
    /// <summary>Where the dashboard's files are served from (the page itself is <c>/</c>).</summary>
    public const string AssetPrefix = "/dashboard/";

    private const string ResourcePrefix = "dashboard/";

    // Scripts and styles from this origin only, no inline script, no framing: the page shows decisions and takes tokens.
    private const string ContentSecurityPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

    private static readonly FrozenDictionary<string, string> ContentTypes = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".txt"] = "text/plain; charset=utf-8",
    }.ToFrozenDictionary(StringComparer.Ordinal);

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder endpoints, bool enabled)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        if (!enabled)
        {
            return endpoints;
        }

        var assets = Load(typeof(DashboardEndpoints).Assembly);
        if (!assets.TryGetValue("index.html", out var page))
        {
            throw new InvalidOperationException("the dashboard's page (index.html) is not embedded in gatestreamd: the build is incomplete");
        }

        endpoints.MapGet("/", (HttpContext http) => Serve(http, page)).ExcludeFromDescription();
        endpoints.MapGet(AssetPrefix + "{file}", (HttpContext http, string file) =>
            assets.TryGetValue(file, out var asset) ? Serve(http, asset) : Results.NotFound())
            .ExcludeFromDescription();
        return endpoints;
    }

    private static FrozenDictionary<string, Asset> Load(Assembly assembly)
    {
        var assets = new Dictionary<string, Asset>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames())
        {
            if (!name.StartsWith(ResourcePrefix, StringComparison.Ordinal))
            {
                continue;
            }

            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var bytes = copy.ToArray();
            var file = name[ResourcePrefix.Length..];
            var type = ContentTypes.GetValueOrDefault(Path.GetExtension(file), "application/octet-stream");
            var etag = new EntityTagHeaderValue("\"" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..16] + "\"");
            assets[file] = new Asset(bytes, type, etag);
        }

        return assets.ToFrozenDictionary(StringComparer.Ordinal);
    }

    private static IResult Serve(HttpContext http, Asset asset)
    {
        var headers = http.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "no-referrer";
        // Revalidated on every load (cheap: 304 by ETag), so a new daemon's dashboard is never mixed with an old cached script.
        headers.CacheControl = "no-cache";
        headers.ETag = asset.ETag.ToString();
        var ifNoneMatch = http.Request.GetTypedHeaders().IfNoneMatch;
        if (ifNoneMatch.Any(tag => tag.Compare(asset.ETag, useStrongComparison: false)))
        {
            return Results.StatusCode(StatusCodes.Status304NotModified);
        }

        return Results.Bytes(asset.Bytes, asset.ContentType);
    }

    private sealed record Asset(byte[] Bytes, string ContentType, EntityTagHeaderValue ETag);
}
