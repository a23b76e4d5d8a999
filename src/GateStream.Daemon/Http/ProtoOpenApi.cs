using System.Text.Json.Nodes;
using Google.Protobuf.Reflection;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace GateStream.Daemon.Http;

/// <summary>
/// Describes the HTTP API's protobuf bodies in its OpenAPI document. The bodies are written by
/// <see cref="ProtoJson"/>, not by System.Text.Json, so ASP.NET cannot infer their shape; an endpoint names its
/// messages with <see cref="ProducesProto"/> / <see cref="AcceptsProto"/>, and this transformer turns each message's
/// descriptor into a JSON schema under <c>components.schemas</c> (named by the message's full name) following the
/// proto3 JSON mapping the bodies use: lowerCamelCase names, enums by name, 64-bit integers as strings, well-known
/// types in their JSON forms.
/// </summary>
internal static class ProtoOpenApi
{
    /// <summary>Endpoint metadata: the message an endpoint answers with (200) and the one it reads, if any.</summary>
    internal sealed record ProtoBodies(MessageDescriptor? Response, MessageDescriptor? Request);

    public static RouteHandlerBuilder ProducesProto(this RouteHandlerBuilder builder, MessageDescriptor response, MessageDescriptor? request = null)
        => builder.WithMetadata(new ProtoBodies(response, request));

    public static RouteHandlerBuilder AcceptsProto(this RouteHandlerBuilder builder, MessageDescriptor request)
        => builder.WithMetadata(new ProtoBodies(null, request));

    public static void AddProtoSchemas(this OpenApiOptions options) => options.AddOperationTransformer((operation, context, _) =>
    {
        foreach (var bodies in context.Description.ActionDescriptor.EndpointMetadata.OfType<ProtoBodies>())
        {
            // Produces(200, contentType: "application/json") without a CLR type leaves the content out: add it.
            if (bodies.Response is { } response && operation.Responses?.TryGetValue("200", out var ok) == true && ok is OpenApiResponse answer)
            {
                answer.Content ??= new Dictionary<string, OpenApiMediaType>(StringComparer.Ordinal);
                answer.Content["application/json"] = new OpenApiMediaType { Schema = Reference(context.Document!, response) };
            }

            if (bodies.Request is { } request && operation.RequestBody is OpenApiRequestBody body
                && body.Content?.TryGetValue("application/json", out var read) == true)
            {
                read.Schema = Reference(context.Document!, request);
            }
        }

        return Task.CompletedTask;
    });

    /// <summary>A reference to <paramref name="message"/>'s schema, adding it and every message it uses to the document.</summary>
    internal static IOpenApiSchema Reference(OpenApiDocument document, MessageDescriptor message)
    {
        document.Components ??= new OpenApiComponents();
        document.Components.Schemas ??= new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal);
        Define(document.Components.Schemas, document, message);
        return new OpenApiSchemaReference(message.FullName, document);
    }

    private static void Define(IDictionary<string, IOpenApiSchema> schemas, OpenApiDocument document, MessageDescriptor message)
    {
        if (schemas.ContainsKey(message.FullName))
        {
            return;
        }

        var properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal);
        var schema = new OpenApiSchema { Type = JsonSchemaType.Object, Title = message.Name, Properties = properties };
        schemas[message.FullName] = schema; // before the fields: a message may refer to itself
        foreach (var field in message.Fields.InDeclarationOrder())
        {
            IOpenApiSchema value;
            if (field.IsMap)
            {
                value = new OpenApiSchema { Type = JsonSchemaType.Object, AdditionalProperties = Value(schemas, document, field.MessageType.FindFieldByNumber(2)) };
            }
            else if (field.IsRepeated)
            {
                value = new OpenApiSchema { Type = JsonSchemaType.Array, Items = Value(schemas, document, field) };
            }
            else
            {
                value = Value(schemas, document, field);
            }

            properties[field.JsonName] = value;
        }
    }

    private static IOpenApiSchema Value(IDictionary<string, IOpenApiSchema> schemas, OpenApiDocument document, FieldDescriptor field)
    {
        switch (field.FieldType)
        {
            case FieldType.Bool:
                return new OpenApiSchema { Type = JsonSchemaType.Boolean };
            case FieldType.String:
                return new OpenApiSchema { Type = JsonSchemaType.String };
            case FieldType.Bytes:
                return new OpenApiSchema { Type = JsonSchemaType.String, Format = "byte" };
            case FieldType.Double or FieldType.Float:
                // The mapping also accepts "NaN" and "Infinity" as strings.
                return new OpenApiSchema { Type = JsonSchemaType.Number | JsonSchemaType.String, Format = field.FieldType == FieldType.Float ? "float" : "double" };
            case FieldType.Int32 or FieldType.SInt32 or FieldType.SFixed32:
                return new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32" };
            case FieldType.UInt32 or FieldType.Fixed32:
                return new OpenApiSchema { Type = JsonSchemaType.Integer, Format = "int32", Minimum = "0" };
            case FieldType.Int64 or FieldType.SInt64 or FieldType.SFixed64 or FieldType.UInt64 or FieldType.Fixed64:
                return new OpenApiSchema { Type = JsonSchemaType.String, Format = "int64", Pattern = "^-?[0-9]+$" };
            case FieldType.Enum:
                var names = new List<JsonNode>();
                foreach (var value in field.EnumType.Values)
                {
                    names.Add(JsonValue.Create(value.Name));
                }

                return new OpenApiSchema { Type = JsonSchemaType.String, Enum = names, Title = field.EnumType.Name };
            default:
                return (IOpenApiSchema?)WellKnown(field.MessageType) ?? Nested(schemas, document, field.MessageType);
        }
    }

    private static OpenApiSchemaReference Nested(IDictionary<string, IOpenApiSchema> schemas, OpenApiDocument document, MessageDescriptor message)
    {
        Define(schemas, document, message);
        return new OpenApiSchemaReference(message.FullName, document);
    }

    private static OpenApiSchema? WellKnown(MessageDescriptor message) => message.FullName switch
    {
        "google.protobuf.Timestamp" => new OpenApiSchema { Type = JsonSchemaType.String, Format = "date-time" },
        "google.protobuf.Duration" => new OpenApiSchema { Type = JsonSchemaType.String, Pattern = "^-?[0-9]+(\\.[0-9]{1,9})?s$", Description = "seconds with an 's' suffix, e.g. \"30s\", \"0.250s\"" },
        "google.protobuf.FieldMask" => new OpenApiSchema { Type = JsonSchemaType.String },
        "google.protobuf.Struct" => new OpenApiSchema { Type = JsonSchemaType.Object },
        "google.protobuf.Value" => new OpenApiSchema(),
        "google.protobuf.Empty" => new OpenApiSchema { Type = JsonSchemaType.Object },
        "google.protobuf.DoubleValue" or "google.protobuf.FloatValue" => new OpenApiSchema { Type = JsonSchemaType.Number | JsonSchemaType.Null },
        "google.protobuf.Int32Value" or "google.protobuf.UInt32Value" => new OpenApiSchema { Type = JsonSchemaType.Integer | JsonSchemaType.Null },
        "google.protobuf.Int64Value" or "google.protobuf.UInt64Value" => new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null, Format = "int64" },
        "google.protobuf.BoolValue" => new OpenApiSchema { Type = JsonSchemaType.Boolean | JsonSchemaType.Null },
        "google.protobuf.StringValue" => new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null },
        "google.protobuf.BytesValue" => new OpenApiSchema { Type = JsonSchemaType.String | JsonSchemaType.Null, Format = "byte" },
        _ => null,
    };
}
