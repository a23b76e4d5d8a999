using System.Net.Sockets;
using System.Text.RegularExpressions;
using GateStream.Daemon.Decisions.Log;
using Microsoft.Extensions.Options;

namespace GateStream.Daemon.Hosting;

/// <summary>The start-up failures an operator fixes in configuration, each as one sentence naming the cause and the fix.</summary>
internal static partial class StartupFailure
{
    /// <summary>One line for a known start-up failure; null for anything else (a bug keeps its stack trace).</summary>
    public static string? Describe(Exception e) => e switch
    {
        DecisionLogUnavailableException log => log.Message,
        OptionsValidationException invalid => "invalid configuration: " + string.Join(" ", invalid.Failures),
        IOException { InnerException: Microsoft.AspNetCore.Connections.AddressInUseException or SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } } inUse =>
            inUse.Message + " Another process is listening there: stop it or change GateStream:Grpc:Url, GateStream:Http:Url or GateStream:Framed:Endpoint.",
        InvalidOperationException conversion when NotConvertible().Match(conversion.Message) is { Success: true } match =>
            Unconvertible(match.Groups["key"].Value, match.Groups["value"].Value, match.Groups["type"].Value),
        InvalidOperationException { Message: var message } when message.StartsWith("Listener host", StringComparison.Ordinal)
            || message.StartsWith("GateStream:", StringComparison.Ordinal) => message,
        UsageException usage => usage.Message,
        AggregateException { InnerExceptions.Count: 1 } one => Describe(one.InnerException!),
        _ => null,
    };

    /// <summary>Refuses command-line words the host would silently ignore (a typo would otherwise run with defaults).</summary>
    /// <exception cref="UsageException">An argument is not a configuration key the daemon reads.</exception>
    public static void CheckArguments(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) && !arg.StartsWith('/'))
            {
                throw new UsageException($"unexpected argument '{arg}': settings are written --Section:Key=value (see gatestreamd --help).");
            }

            var key = arg.TrimStart('-', '/');
            var equals = key.IndexOf('=', StringComparison.Ordinal);
            if (equals < 0 && (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal)))
            {
                throw new UsageException($"'{arg}' has no value: write {arg}=VALUE (see gatestreamd --help).");
            }

            if (equals < 0)
            {
                i++; // "--key value"
            }
            else
            {
                key = key[..equals];
            }

            if (!KnownPrefixes.Any(p => key.StartsWith(p, StringComparison.OrdinalIgnoreCase)) && !HostKeys.Contains(key, StringComparer.OrdinalIgnoreCase))
            {
                throw new UsageException($"unknown setting '{key}': the daemon's keys start with GateStream: (see gatestreamd --help).");
            }
        }
    }

    private static readonly string[] KnownPrefixes = ["GateStream:", "Logging:", "Kestrel:"];

    private static readonly string[] HostKeys = ["environment", "contentRoot", "applicationName"];

    private static string Unconvertible(string key, string value, string type) => type switch
    {
        "System.TimeSpan" => $"invalid configuration: {key} '{value}' is not a duration; write it as a .NET time span: 00:00:00.250 for 250 ms, 00:05:00 for 5 min, 14.00:00:00 for 14 days.",
        "System.Boolean" => $"invalid configuration: {key} '{value}' is not true or false.",
        "System.Int32" or "System.Int64" => $"invalid configuration: {key} '{value}' is not a whole number.",
        _ => $"invalid configuration: {key} '{value}' cannot be read as {type.Replace("System.", "", StringComparison.Ordinal)}.",
    };

    [GeneratedRegex("^Failed to convert configuration value '(?<value>.*)' at '(?<key>[^']+)' to type '(?<type>[^']+)'")]
    private static partial Regex NotConvertible();
}

/// <summary>The daemon's command line cannot be used as given.</summary>
internal sealed class UsageException(string message) : Exception(message);
