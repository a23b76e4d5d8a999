using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text;
using GateStream.Core.Time;
using GateStream.Daemon.Kafka;
using GateStream.Daemon.Options;

namespace GateStream.Daemon.Hosting;

/// <summary>
/// <c>gatestreamd --help</c> and <c>--version</c>, answered before any host is built: the daemon takes its settings as
/// configuration keys (<c>--GateStream:Grpc:Url=...</c>), so these two are the only words of its own.
/// </summary>
internal static class DaemonCommandLine
{
    /// <summary>The text to print and exit 0 with, or null when the arguments are for the host.</summary>
    public static string? Answer(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        if (args.Any(a => a is "--help" or "-h" or "-?"))
        {
            return Help();
        }

        return args.Any(a => a is "--version" or "-V") ? "gatestreamd " + Version + "\n" : null;
    }

    /// <summary>The informational version (with the source revision when the build knew it).</summary>
    public static string Version =>
        typeof(DaemonCommandLine).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion
        ?? typeof(DaemonCommandLine).Assembly.GetName().Version?.ToString()
        ?? "unknown";

    public static string Help()
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $$"""
            gatestreamd {{Version}}: the GateStream daemon. Reads request events (OTLP, framed TCP, gRPC Push, Kafka),
            evaluates gating policies and publishes promote/hold/pause/rollback decisions over gRPC and HTTP.

            Usage: gatestreamd [--KEY=VALUE ...]
                   gatestreamd --help | --version

            Every setting is a configuration key, read in this order, later ones winning: appsettings.json beside the
            binary, {{DaemonApp.SystemConfigFile}} (gatestream.json in $CONFIGURATION_DIRECTORY under systemd),
            environment variables, the command line. The key GateStream:Grpc:Url is written
              --GateStream:Grpc:Url=http://0.0.0.0:4317      on the command line
              GateStream__Grpc__Url=http://0.0.0.0:4317      in the environment
              { "GateStream": { "Grpc": { "Url": "..." } } } in a JSON file
            Durations are .NET time spans: 00:00:00.250 is 250 ms, 14.00:00:00 is 14 days.
            DOTNET_ENVIRONMENT=Development runs the demo (README.md, "Quick start").


            """);
        var rows = new List<(string Key, string Default)>();
        Walk(GateStreamOptions.Section, new GateStreamOptions(), rows);
        Walk(KafkaOptions.Section, new KafkaOptions(), rows);
        var width = rows.Max(r => r.Key.Length);
        var defaults = Math.Max(7, rows.Max(r => r.Default.Length));
        text.Append(CultureInfo.InvariantCulture, $"{"KEY".PadRight(width)}  {"DEFAULT".PadRight(defaults)}  ENVIRONMENT VARIABLE\n");
        foreach (var (key, value) in rows)
        {
            text.Append(CultureInfo.InvariantCulture, $"{key.PadRight(width)}  {value.PadRight(defaults)}  {key.Replace(":", "__", StringComparison.Ordinal)}\n");
        }

        text.Append("""

            Exit codes: 0 stopped cleanly; 1 the configuration or the machine refused the start (one line on stderr
            names the key or resource and the fix); 70 an unexpected failure (with its stack trace, for a bug report).

            """);
        return text.ToString();
    }

    /// <summary>Every settable scalar of an options object, with its default, as configuration keys.</summary>
    private static void Walk(string prefix, object options, List<(string Key, string Default)> rows)
    {
        foreach (var property in options.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite && p.GetIndexParameters().Length == 0))
        {
            var key = prefix + ":" + property.Name;
            var value = property.GetValue(options);
            var type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (type == typeof(string) || type.IsPrimitive || type.IsEnum || type == typeof(TimeSpan) || type == typeof(decimal))
            {
                rows.Add((key, Show(value)));
            }
            else if (typeof(IDictionary).IsAssignableFrom(type))
            {
                rows.Add((key + ":*", "(passed on)"));
            }
            else if (typeof(IEnumerable).IsAssignableFrom(type) && type.IsGenericType)
            {
                var element = type.GetGenericArguments()[0];
                foreach (var item in element.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.CanWrite))
                {
                    rows.Add((key + ":N:" + item.Name, "(none)"));
                }
            }
            else if (value is not null && type.IsClass)
            {
                Walk(key, value, rows);
            }
        }
    }

    private static string Show(object? value) => value switch
    {
        null or "" => "(unset)",
        TimeSpan span => TrimFraction(span.ToString("c", CultureInfo.InvariantCulture)) + " (" + Durations.Format(span) + ")",
        bool flag => flag ? "true" : "false",
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };

    /// <summary><c>00:00:00.2500000</c> -> <c>00:00:00.25</c>.</summary>
    private static string TrimFraction(string span) => span.Contains('.', StringComparison.Ordinal) && span.LastIndexOf('.') > span.LastIndexOf(':') ? span.TrimEnd('0') : span;
}
