using GateStream.Core.Time;
using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using GateStream.Cli.Internal;

namespace GateStream.Cli.Commands;

/// <summary>Options several commands share, declared once so they read and default the same everywhere.</summary>
internal static class CommonOptions
{
    public const string DefaultServer = "127.0.0.1:4317";

    /// <summary>The environment variable that names the daemon, as <c>--server</c> does.</summary>
    public const string ServerVariable = "GATESTREAM_SERVER";

    /// <summary>
    /// <c>--server HOST:PORT|URL</c>: the daemon's gRPC listener, as grpcurl takes it (<c>127.0.0.1:4317</c>) or as a URL
    /// (<c>https://gates.example:4317</c>); default <c>$GATESTREAM_SERVER</c>, else 127.0.0.1:4317.
    /// </summary>
    public static Option<string> Server() => new("--server", "-s")
    {
        Description = $"The daemon's gRPC listener: host:port (plaintext) or an http:// or https:// URL. Default: ${ServerVariable}, else {DefaultServer}.",
        HelpName = "host:port|url",
        DefaultValueFactory = _ => Environment.GetEnvironmentVariable(ServerVariable) is { Length: > 0 } server ? server : DefaultServer,
    };

    /// <summary><c>--token-file FILE</c>: the control API's bearer token; else <c>$GATESTREAM_TOKEN</c>.</summary>
    public static Option<FileInfo?> TokenFile() => new("--token-file")
    {
        Description = "File holding the bearer token for the control API (its first line; an 'actor token' line works too). Default: $GATESTREAM_TOKEN.",
        HelpName = "file",
    };

    public static Option<bool> Json(string description, bool sameAsOutput = true) =>
        new("--json") { Description = description + (sameAsOutput ? " Same as -o json." : "") };

    /// <summary><c>-o, --output FORMAT</c>, as kubectl spells it; <paramref name="formats"/> are the ones this command has.</summary>
    public static Option<OutputFormat?> Output(params OutputFormat[] formats)
    {
        var names = string.Join("|", formats.Select(OutputFormats.Name));
        var option = new Option<OutputFormat?>("--output", "-o")
        {
            Description = $"Output format: {string.Join(", ", formats.Select(OutputFormats.Name))}. Default: {OutputFormats.Name(formats[0])}.",
            HelpName = names,
            CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
                var format = formats.Where(f => OutputFormats.Name(f) == text).Cast<OutputFormat?>().FirstOrDefault();
                if (format is null)
                {
                    result.AddError($"-o: '{text}' is not one of {string.Join(", ", formats.Select(OutputFormats.Name))}");
                }

                return format;
            },
        };
        option.CompletionSources.Clear();
        option.CompletionSources.Add(formats.Select(OutputFormats.Name).ToArray());
        return option;
    }

    /// <summary>The format asked for by <c>-o</c>, or by <c>--json</c>, else <paramref name="fallback"/>.</summary>
    public static OutputFormat FormatOf(ParseResult parse, Option<OutputFormat?> output, Option<bool>? json, OutputFormat fallback)
    {
        ArgumentNullException.ThrowIfNull(parse);
        var chosen = parse.GetValue(output);
        if (json is not null && parse.GetValue(json))
        {
            if (chosen is { } other && other != OutputFormat.Json)
            {
                throw new UsageException($"--json and -o {OutputFormats.Name(other)}: choose one");
            }

            return OutputFormat.Json;
        }

        return chosen ?? fallback;
    }

    /// <summary>A duration option (<c>30s</c>, <c>10m</c>, <c>1h30m</c>, <c>14d</c>) whose default shows as written.</summary>
    public static DurationOption Duration(string name, string description, TimeSpan? defaultValue = null) => new(name, description, defaultValue);

    /// <summary>A whole number of at least 1 (<c>--count 3</c>), with an error that says so.</summary>
    public static Option<int?> Count(string name, string description) => new(name)
    {
        Description = description,
        HelpName = "n",
        CustomParser = result =>
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= 1)
            {
                return value;
            }

            result.AddError($"{name}: '{text}' is not a whole number of at least 1");
            return null;
        },
    };
}

/// <summary>
/// A duration option. Its default is applied in <see cref="ValueOf"/> and shown in the help as people write it
/// (<c>[default: 14d]</c>, not <c>14.00:00:00</c>).
/// </summary>
internal sealed class DurationOption : Option<TimeSpan?>
{
    public DurationOption(string name, string description, TimeSpan? defaultValue)
        : base(name)
    {
        Default = defaultValue;
        Description = defaultValue is { } value ? $"{description} [default: {Durations.Format(value)}]" : description;
        HelpName = "duration";
        CustomParser = Parse;
    }

    public TimeSpan? Default { get; }

    public TimeSpan? ValueOf(ParseResult parse)
    {
        ArgumentNullException.ThrowIfNull(parse);
        return parse.GetValue(this) ?? Default;
    }

    private TimeSpan? Parse(ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        if (Durations.TryParsePositive(text, out var value, out var problem))
        {
            return value;
        }

        result.AddError($"{Name}: '{text}' {problem} (a duration such as 250ms, 30s, 10m, 1h30m or 14d)");
        return null;
    }
}
