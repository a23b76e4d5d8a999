using System.Text.Json;
using Google.Protobuf;
using YamlDotNet.Serialization;

namespace GateStream.Cli.Internal;

/// <summary>What <c>-o</c> asks for, with kubectl's names.</summary>
internal enum OutputFormat
{
    /// <summary>Columns for people (the default of list commands).</summary>
    Table,

    /// <summary>The table with more columns.</summary>
    Wide,

    /// <summary>Lines or a description for people (the default of the other commands).</summary>
    Text,

    /// <summary>Protobuf's JSON mapping of the gatestream.v1 messages.</summary>
    Json,

    /// <summary>The same document as JSON, written as YAML.</summary>
    Yaml,
}

internal static class OutputFormats
{
    public static string Name(OutputFormat format) => format.ToString().ToLowerInvariant();

    /// <summary>
    /// A message as YAML: its protobuf JSON mapping (the same field names and values <c>-o json</c> gives) converted
    /// node by node, so the two formats never disagree.
    /// </summary>
    public static string Yaml(IMessage message) => Yaml(DecisionFormat.Json.Format(message));

    /// <summary>Several messages as one YAML sequence.</summary>
    public static string Yaml(IEnumerable<IMessage> messages) => Yaml("[" + string.Join(",", messages.Select(m => DecisionFormat.Json.Format(m))) + "]");

    private static readonly ISerializer Serializer = new SerializerBuilder().DisableAliases().Build();

    private static string Yaml(string json)
    {
        using var document = JsonDocument.Parse(json);
        return Serializer.Serialize(ToPlain(document.RootElement));
    }

    private static object? ToPlain(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().ToDictionary(p => p.Name, p => ToPlain(p.Value), StringComparer.Ordinal),
        JsonValueKind.Array => element.EnumerateArray().Select(ToPlain).ToList(),
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.TryGetInt64(out var whole) ? whole : element.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };
}
