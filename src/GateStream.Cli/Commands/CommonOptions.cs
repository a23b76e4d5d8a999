using GateStream.Core.Time;
using System.CommandLine;
using System.CommandLine.Parsing;
using GateStream.Cli.Internal;

namespace GateStream.Cli.Commands;

/// <summary>Options several commands share, declared once so they read and default the same everywhere.</summary>
internal static class CommonOptions
{
    public const string DefaultServer = "http://127.0.0.1:4317";

    /// <summary><c>--server URL</c>: the daemon's gRPC listener; default <c>$GATESTREAM_SERVER</c>, else http://127.0.0.1:4317.</summary>
    public static Option<string> Server() => new("--server")
    {
        Description = "The daemon's gRPC listener (GateStream:Grpc:Url). Default: $GATESTREAM_SERVER, else " + DefaultServer + ".",
        HelpName = "url",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable("GATESTREAM_SERVER") is { Length: > 0 } server ? server : DefaultServer,
    };

    /// <summary><c>--token-file FILE</c>: the control API's bearer token; else <c>$GATESTREAM_TOKEN</c>.</summary>
    public static Option<FileInfo?> TokenFile() => new("--token-file")
    {
        Description = "File holding the bearer token for the control API (its first line; an 'actor token' line works too). Default: $GATESTREAM_TOKEN.",
        HelpName = "file",
    };

    public static Option<bool> Json(string description) => new("--json") { Description = description };

    /// <summary>A duration option (<c>30s</c>, <c>10m</c>, <c>1h30m</c>, <c>14d</c>).</summary>
    public static Option<TimeSpan?> Duration(string name, string description, TimeSpan? defaultValue = null)
    {
        var option = new Option<TimeSpan?>(name)
        {
            Description = description,
            HelpName = "duration",
            CustomParser = ParseDuration,
        };
        if (defaultValue is { } value)
        {
            option.DefaultValueFactory = _ => value;
        }

        return option;
    }

    private static TimeSpan? ParseDuration(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        if (Durations.TryParsePositive(text, out var value, out var problem))
        {
            return value;
        }

        result.AddError($"'{text}' {problem}");
        return null;
    }
}
