using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using GateStream.Core.Policies;

namespace GateStream.Daemon.Queries;

/// <summary>How one query ended.</summary>
internal enum QueryOutcome
{
    /// <summary>A value (ready for the check).</summary>
    Value,

    /// <summary>An empty result or NaN: Flagger's "no values found", a failed check.</summary>
    NoValues,

    /// <summary>The provider answered with an error, or with something that is not an instant vector.</summary>
    Failed,

    /// <summary>No answer within the timeout.</summary>
    TimedOut,
}

internal readonly record struct QueryResult(QueryOutcome Outcome, double Value, string Error)
{
    public static QueryResult Fail(string error) => new(QueryOutcome.Failed, 0, error);
}

/// <summary>
/// Runs a PromQL instant query (<c>GET ADDRESS/api/v1/query?query=...</c>) as Flagger's Prometheus provider does: the
/// template's headers, a bearer token or basic auth, an error for HTTP status 400 and above, and the value of the last
/// sample of the result vector; an empty vector or NaN is "no values", a range result is an error.
/// </summary>
internal sealed class PrometheusQuery(HttpClient verifying, HttpClient skipVerify)
{
    /// <summary>An answer larger than this is refused; an instant query for one number is a few hundred bytes.</summary>
    public const int MaxResponseBytes = 4 * 1024 * 1024;

    private const int MaxErrorBodyChars = 300;

    public async Task<QueryResult> RunAsync(MetricProviderSpec provider, string query, QueryCredentials? credentials, CancellationToken cancellationToken)
    {
        var url = provider.Address.TrimEnd('/') + "/api/v1/query?query=" + Uri.EscapeDataString(query);
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        foreach (var (name, values) in provider.Headers)
        {
            request.Headers.TryAddWithoutValidation(name, values);
        }

        if (credentials?.Token is { } token)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        else if (credentials is { Username: { } user, Password: { } password })
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));
        }

        var client = provider.InsecureSkipVerify ? skipVerify : verifying;
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken).ConfigureAwait(false);
        var body = await ReadBodyAsync(response, cancellationToken).ConfigureAwait(false);
        if (body is null)
        {
            return QueryResult.Fail($"the answer is larger than {MaxResponseBytes} bytes");
        }

        var status = (int)response.StatusCode;
        if (status >= 400)
        {
            return QueryResult.Fail($"error response: status {status} {response.ReasonPhrase}: {Clip(Encoding.UTF8.GetString(body))}");
        }

        return Parse(body);
    }

    /// <summary>Reads an instant query's JSON answer as Flagger does.</summary>
    public static QueryResult Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            using var document = JsonDocument.ParseValue(ref reader);
            if (!document.RootElement.TryGetProperty("data", out var data) || data.ValueKind != JsonValueKind.Object
                || !data.TryGetProperty("result", out var result) || result.ValueKind == JsonValueKind.Null)
            {
                return new QueryResult(QueryOutcome.NoValues, 0, "the answer has no data.result");
            }

            if (result.ValueKind != JsonValueKind.Array)
            {
                return QueryResult.Fail($"data.result is a {result.ValueKind}, not a list of samples");
            }

            double? value = null;
            foreach (var sample in result.EnumerateArray())
            {
                if (sample.ValueKind != JsonValueKind.Object)
                {
                    // A scalar or string result: [time, "value"]. Flagger cannot read it either.
                    return QueryResult.Fail("the result is not an instant vector (write the query so it returns a vector, e.g. wrap a scalar in vector())");
                }

                if (sample.TryGetProperty("values", out _))
                {
                    return QueryResult.Fail("the query returned a range of values (a matrix); it must return one value per series");
                }

                if (!sample.TryGetProperty("value", out var pair) || pair.ValueKind != JsonValueKind.Array || pair.GetArrayLength() < 2)
                {
                    return QueryResult.Fail("a sample of the result has no [time, value] pair");
                }

                if (pair[1].ValueKind == JsonValueKind.String)
                {
                    if (!TryParseGoFloat(pair[1].GetString()!, out var parsed))
                    {
                        return QueryResult.Fail($"the value '{Clip(pair[1].GetString()!)}' is not a number");
                    }

                    value = parsed;
                }
            }

            return value is { } v && !double.IsNaN(v)
                ? new QueryResult(QueryOutcome.Value, v, "")
                : new QueryResult(QueryOutcome.NoValues, 0, value is null ? "the result is empty" : "the value is NaN");
        }
        catch (JsonException e)
        {
            return QueryResult.Fail($"the answer is not JSON: {Clip(e.Message)}");
        }
    }

    /// <summary>Prometheus writes sample values as Go formats floats: decimals, exponents, <c>NaN</c>, <c>+Inf</c>, <c>-Inf</c>.</summary>
    private static bool TryParseGoFloat(string text, out double value)
    {
        switch (text)
        {
            case "NaN":
                value = double.NaN;
                return true;
            case "+Inf" or "Inf":
                value = double.PositiveInfinity;
                return true;
            case "-Inf":
                value = double.NegativeInfinity;
                return true;
            default:
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
        }
    }

    private static async Task<byte[]?> ReadBodyAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentLength > MaxResponseBytes)
        {
            return null;
        }

        var stream = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false);
        await using (stream.ConfigureAwait(false))
        {
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await stream.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > MaxResponseBytes)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }

            return buffer.ToArray();
        }
    }

    private static string Clip(string text)
    {
        var flat = text.ReplaceLineEndings(" ");
        return flat.Length <= MaxErrorBodyChars ? flat : string.Concat(flat.AsSpan(0, MaxErrorBodyChars), "...");
    }
}
