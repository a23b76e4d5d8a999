using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Daemon.Tests.Http;

/// <summary>
/// The OpenAPI document's schemas describe what the API really answers: real answers of a running daemon (a gate
/// with rules and a last decision, the gate list, a page of decisions, an override's decision) are validated against
/// the schema the document gives for that operation, with every object closed (a field the document does not name
/// fails), so a client generated from the document reads every field the daemon writes.
/// </summary>
public class OpenApiSchemaTests
{
    [Fact]
    public async Task Answers_validate_against_the_documented_schemas()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast());
        await daemon.StartAsync();
        using var http = HttpApiTests.Client(daemon);
        await HttpApiTests.StartCheckoutAsync(daemon);
        using var paused = await HttpApiTests.OverrideAsync(http, "checkout/v2", """{"kind":"OVERRIDE_KIND_PAUSE","reason":"schema check"}""");
        var pausedBody = await paused.Content.ReadAsStringAsync();
        Assert.True(paused.IsSuccessStatusCode, pausedBody);

        var document = JsonNode.Parse(await http.GetStringAsync("/openapi/v1.json"))!;
        var paths = document["paths"]!;
        Check(document, paths["/api/v1/gates/{deployment}/{canary}"]!["get"]!, await http.GetStringAsync("/api/v1/gates/checkout/v2"));
        Check(document, paths["/api/v1/gates/{deployment}"]!["get"]!, await http.GetStringAsync("/api/v1/gates/checkout"));
        Check(document, paths["/api/v1/gates"]!["get"]!, await http.GetStringAsync("/api/v1/gates"));
        Check(document, paths["/api/v1/decisions"]!["get"]!, await http.GetStringAsync("/api/v1/decisions?from=0"));
        var overrideOperation = paths["/api/v1/gates/{deployment}/{canary}/override"]!["post"]!;
        Check(document, overrideOperation, pausedBody);

        // The request body is described too: what the docs show as an example body is valid, a misspelt kind is not.
        var request = Schema(document, overrideOperation["requestBody"]!["content"]!["application/json"]!["schema"]!);
        Assert.True(request.Evaluate(Parse("""{"kind":"OVERRIDE_KIND_SUPPRESS_RULE","rule":"latency-p99","duration":"600s","reason":"known"}""")).IsValid);
        Assert.False(request.Evaluate(Parse("""{"kind":"OVERRIDE_KIND_PAWS"}""")).IsValid);
    }

    [Fact]
    public async Task Schemas_follow_the_proto_json_mapping()
    {
        await using var daemon = new TestDaemon(TestPolicies.Fast());
        await daemon.StartAsync();
        using var http = HttpApiTests.Client(daemon);
        var schemas = JsonNode.Parse(await http.GetStringAsync("/openapi/v1.json"))!["components"]!["schemas"]!;

        var gate = schemas[V1.Gate.Descriptor.FullName]!["properties"]!;
        Assert.Contains("PHASE_HOLDING", gate["phase"]!["enum"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal($"#/components/schemas/{V1.Decision.Descriptor.FullName}", gate["lastDecision"]!["$ref"]!.GetValue<string>());
        Assert.Equal("array", gate["rules"]!["type"]!.GetValue<string>());
        var decision = schemas[V1.Decision.Descriptor.FullName]!["properties"]!;
        Assert.Equal("string", decision["sequence"]!["type"]!.GetValue<string>()); // uint64 is a string in the mapping
        Assert.Equal("date-time", decision["time"]!["format"]!.GetValue<string>());
    }

    private static void Check(JsonNode document, JsonNode operation, string answer)
    {
        var schema = Schema(document, operation["responses"]!["200"]!["content"]!["application/json"]!["schema"]!);
        var result = schema.Evaluate(Parse(answer), new EvaluationOptions { OutputFormat = OutputFormat.List });
        var errors = (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .Select(d => $"{d.InstanceLocation}: {string.Join("; ", d.Errors!.Values)}");
        Assert.True(result.IsValid, $"{operation["operationId"]}: the answer does not match its schema:\n{string.Join('\n', errors)}\n{answer}");
    }

    /// <summary>
    /// A JSON Schema (2020-12) of one operation's body: its reference, with the document's component schemas as
    /// <c>$defs</c>, every object with properties closed by <c>unevaluatedProperties: false</c>.
    /// </summary>
    private static JsonSchema Schema(JsonNode document, JsonNode body)
    {
        var defs = JsonNode.Parse(document["components"]!["schemas"]!.ToJsonString().Replace("#/components/schemas/", "#/$defs/", StringComparison.Ordinal))!;
        foreach (var (_, definition) in defs.AsObject())
        {
            if (definition!["properties"] is not null)
            {
                definition["unevaluatedProperties"] = false;
            }
        }

        var root = new JsonObject
        {
            ["$schema"] = "https://json-schema.org/draft/2020-12/schema",
            ["$ref"] = body["$ref"]!.GetValue<string>().Replace("#/components/schemas/", "#/$defs/", StringComparison.Ordinal),
            ["$defs"] = defs,
        };
        return JsonSchema.FromText(root.ToJsonString(), baseUri: new Uri($"https://gatestream.test/{Guid.NewGuid():N}"));
    }

    private static JsonElement Parse(string json)
    {
        using var parsed = JsonDocument.Parse(json);
        return parsed.RootElement.Clone();
    }
}
