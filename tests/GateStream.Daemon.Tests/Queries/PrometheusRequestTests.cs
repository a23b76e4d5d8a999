using System.Net;
using System.Text;
using GateStream.Core.Policies;
using GateStream.Daemon.Queries;

namespace GateStream.Daemon.Tests.Queries;

/// <summary>
/// The request an instant query sends, read by a listener on a real socket: the path under the address's own path,
/// the query collapsed and escaped, the template's headers and a bearer token (which Prometheus itself does not check,
/// so the full Prometheus test covers basic auth instead).
/// </summary>
public sealed class PrometheusRequestTests
{
    [Fact]
    public async Task The_query_goes_under_the_address_path_with_the_templates_headers_and_the_token()
    {
        using var listener = await LoopbackListener.StartAsync();
        var port = listener.Port();
        var served = Task.Run(async () =>
        {
            var context = await listener.GetContextAsync();
            var body = Encoding.UTF8.GetBytes("""{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"7.25"]}]}}""");
            context.Response.OutputStream.Write(body);
            context.Response.Close();
            return context.Request;
        });
        var provider = new MetricProviderSpec("prometheus", $"http://127.0.0.1:{port}/prom/", false, "prom-token", "apps")
        {
            Headers = new Dictionary<string, IReadOnlyList<string>> { ["X-Scope-OrgID"] = ["tenant-a"] },
        };
        var credentials = Token("tok-123");
        using var http = new HttpClient();

        var result = await new PrometheusQuery(http, http).RunAsync(provider, "sum(rate(x{a=\"b c\"}[1m]))", credentials, CancellationToken.None);
        var request = await served;

        Assert.Equal((QueryOutcome.Value, 7.25), (result.Outcome, result.Value));
        Assert.Equal("/prom/api/v1/query", request.Url!.AbsolutePath);
        Assert.Equal("sum(rate(x{a=\"b c\"}[1m]))", request.QueryString["query"]);
        Assert.Equal("tenant-a", request.Headers["X-Scope-OrgID"]);
        Assert.Equal("Bearer tok-123", request.Headers["Authorization"]);
    }

    [Fact]
    public async Task An_error_status_is_a_failed_query_with_the_status_and_the_start_of_the_body()
    {
        using var listener = await LoopbackListener.StartAsync();
        var port = listener.Port();
        var served = Task.Run(async () =>
        {
            var context = await listener.GetContextAsync();
            context.Response.StatusCode = 422;
            context.Response.OutputStream.Write("""{"status":"error","errorType":"execution","error":"many-to-many matching not allowed"}"""u8);
            context.Response.Close();
        });
        using var http = new HttpClient();

        var result = await new PrometheusQuery(http, http).RunAsync(new MetricProviderSpec("prometheus", $"http://127.0.0.1:{port}", false, null, "apps"), "up", null, CancellationToken.None);
        await served;

        Assert.Equal(QueryOutcome.Failed, result.Outcome);
        Assert.Contains("status 422", result.Error, StringComparison.Ordinal);
        Assert.Contains("many-to-many matching not allowed", result.Error, StringComparison.Ordinal);
    }

    private static QueryCredentials Token(string token)
    {
        var root = Directory.CreateTempSubdirectory("gatestream-token-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "apps", "prom-token"));
            File.WriteAllText(Path.Combine(root, "apps", "prom-token", "token"), token);
            return QueryCredentials.Read(root, "apps", "prom-token", out _)!;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
