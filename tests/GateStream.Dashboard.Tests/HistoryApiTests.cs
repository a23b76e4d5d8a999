using System.Globalization;
using System.Net;
using System.Text.Json;

namespace GateStream.Dashboard.Tests;

/// <summary>The chart history the dashboard draws, over plain HTTP: <c>/api/v1/gates/{d}/{c}/history[/stream]</c>.</summary>
public sealed class HistoryApiTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task History_counts_every_request_once_and_the_stream_resumes_after_Last_Event_ID()
    {
        await using var daemon = await TestDaemon.StartAsync(TestPolicies.Fast(stepInterval: "1h"));
        await daemon.StartRolloutAsync("checkout");
        using var http = new HttpClient { BaseAddress = new Uri(DashboardTests.Root(daemon)) };
        var history = new Uri("api/v1/gates/checkout/v2/history", UriKind.Relative);

        // 100 canary requests (every 50th an error: within the policy's 5%) and 300 baseline ones, then wait for a point after they were applied.
        await daemon.PushAsync(EventBatches.Batch("checkout", "v2", 100, errorEvery: 50), EventBatches.Batch("checkout", "v1", 300));
        JsonElement body = default;
        await Eventually.Until(async () =>
        {
            body = JsonDocument.Parse(await http.GetStringAsync(history)).RootElement;
            return Sum(body, "canaryRequests") == 100 && Sum(body, "baselineRequests") == 300;
        }, Patience, () => body.ToString());

        Assert.Equal("checkout/v2", body.GetProperty("gate").GetString());
        Assert.Equal(2, Sum(body, "canaryErrors"));
        Assert.Equal(0, Sum(body, "baselineErrors"));
        var times = body.GetProperty("timeUnixMs").EnumerateArray().Select(t => t.GetDouble()).ToArray();
        Assert.True(times.Zip(times.Skip(1)).All(p => p.First < p.Second), "points out of order");
        Assert.All(body.GetProperty("spanMs").EnumerateArray(), span => Assert.True(span.GetInt64() >= 1_000, $"a point of {span} ms"));
        Assert.All(body.GetProperty("weight").EnumerateArray(), w => Assert.Equal(25, w.GetInt32()));
        Assert.Contains(body.GetProperty("canaryP99Ms").EnumerateArray(), p => p.GetDouble() > 0);

        // The stream from the last point: only points after it, the first of them with an id past it.
        var lastMicros = (long)Math.Round(times[^1] * 1_000);
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("api/v1/gates/checkout/v2/history/stream", UriKind.Relative));
        request.Headers.Add("Last-Event-ID", lastMicros.ToString(CultureInfo.InvariantCulture));
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        using var timeout = new CancellationTokenSource(Patience);

        var first = await ReadEventAsync(reader, timeout.Token);
        Assert.Equal("history", first.Name);
        Assert.All(first.Data.GetProperty("timeUnixMs").EnumerateArray(), t => Assert.True(t.GetDouble() > times[^1]));

        var next = first;
        while (next.Data.GetProperty("timeUnixMs").GetArrayLength() == 0)
        {
            next = await ReadEventAsync(reader, timeout.Token);
        }

        Assert.True(long.Parse(next.Id, CultureInfo.InvariantCulture) > lastMicros);
        Assert.True(next.Data.GetProperty("timeUnixMs")[0].GetDouble() > times[^1]);

        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync(new Uri("api/v1/gates/checkout/v9/history", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync(new Uri("api/v1/gates/checkout/v2/history?after=soon", UriKind.Relative))).StatusCode);
    }

    private static long Sum(JsonElement history, string field) => history.GetProperty(field).EnumerateArray().Sum(v => v.GetInt64());

    private static async Task<(string Name, string Id, JsonElement Data)> ReadEventAsync(StreamReader reader, CancellationToken cancellationToken)
    {
        string? name = null, id = null, data = null;
        while (await reader.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length == 0)
            {
                if (name is not null && data is not null)
                {
                    return (name, id ?? "", JsonDocument.Parse(data).RootElement.Clone());
                }

                continue;
            }

            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                name = line[7..];
            }
            else if (line.StartsWith("id: ", StringComparison.Ordinal))
            {
                id = line[4..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                data = line[6..];
            }
        }

        throw new EndOfStreamException("the event stream ended");
    }
}
