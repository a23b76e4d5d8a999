using System.Net.Sockets;
using GateStream.Daemon.Decisions.Log;
using Microsoft.Extensions.Options;

namespace GateStream.Daemon.Hosting;

/// <summary>The start-up failures an operator fixes in configuration, each as one sentence naming the cause.</summary>
internal static class StartupFailure
{
    /// <summary>One line for a known start-up failure; null for anything else (a bug keeps its stack trace).</summary>
    public static string? Describe(Exception e) => e switch
    {
        DecisionLogUnavailableException log => log.Message,
        OptionsValidationException invalid => "invalid configuration: " + string.Join(" ", invalid.Failures),
        IOException { InnerException: Microsoft.AspNetCore.Connections.AddressInUseException or SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse } } inUse =>
            inUse.Message + " Another process is listening there: stop it or change GateStream:Grpc:Url, GateStream:Http:Url or GateStream:Framed:Endpoint.",
        AggregateException { InnerExceptions.Count: 1 } one => Describe(one.InnerException!),
        _ => null,
    };
}
