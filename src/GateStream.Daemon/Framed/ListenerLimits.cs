using System.Runtime.InteropServices;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace GateStream.Daemon.Framed;

/// <summary>
/// Connection limits and timeouts of every listener, kept below the process's file-descriptor limit so that a flood
/// of connections is refused by the daemon (an ERROR frame on the framed listener, a closed connection on Kestrel's)
/// instead of reaching EMFILE, where accept fails and everything else that opens a file (the decision log, policy
/// reloads) fails with it.
/// </summary>
/// <remarks>
/// Keys under <c>GateStream:Limits</c> (documented in docs/framed-protocol.md): <c>MaxConnections</c> (Kestrel, all
/// listeners together; default: the file-descriptor limit minus those open at start and <see cref="ReservedDescriptors"/>),
/// <c>KeepAliveTimeout</c> (HTTP/1.1 idle keep-alive, default 2 min), <c>Http2KeepAlivePingDelay</c> (default 30 s)
/// and <c>Http2KeepAlivePingTimeout</c> (default 20 s: a gRPC peer that does not answer a ping is closed).
/// </remarks>
internal static class ListenerLimits
{
    public const string Section = "GateStream:Limits";

    /// <summary>Descriptors kept for everything that is not a connection: log segments, policy files, the runtime's own.</summary>
    public const int ReservedDescriptors = 128;

    public static readonly TimeSpan DefaultKeepAliveTimeout = TimeSpan.FromMinutes(2);
    public static readonly TimeSpan DefaultHttp2PingDelay = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan DefaultHttp2PingTimeout = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Connections the process can hold: its soft RLIMIT_NOFILE minus the descriptors open now (the runtime alone holds
    /// a couple of hundred) and the reserve; null when unknown (not Linux).
    /// </summary>
    public static int? DescriptorBudget()
    {
        if (!OperatingSystem.IsLinux() || GetRLimit(RLimitNoFile, out var limit) != 0)
        {
            return null;
        }

        var soft = limit.Current > int.MaxValue ? int.MaxValue : (int)limit.Current;
        return Math.Max(16, soft - OpenDescriptors() - ReservedDescriptors);
    }

    /// <summary>Kestrel's limits for the gRPC and HTTP listeners (and its overall connection cap) from <c>GateStream:Limits</c>.</summary>
    public static void Apply(KestrelServerOptions kestrel, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(kestrel);
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(Section);
        var limits = kestrel.Limits;
        var budget = DescriptorBudget();
        var max = section.GetValue<long?>("MaxConnections") ?? budget;
        if (max is { } m)
        {
            limits.MaxConcurrentConnections = budget is { } b ? Math.Min(m, b) : m;
            limits.MaxConcurrentUpgradedConnections = limits.MaxConcurrentConnections;
        }

        limits.KeepAliveTimeout = section.GetValue<TimeSpan?>("KeepAliveTimeout") ?? DefaultKeepAliveTimeout;
        limits.Http2.KeepAlivePingDelay = section.GetValue<TimeSpan?>("Http2KeepAlivePingDelay") ?? DefaultHttp2PingDelay;
        limits.Http2.KeepAlivePingTimeout = section.GetValue<TimeSpan?>("Http2KeepAlivePingTimeout") ?? DefaultHttp2PingTimeout;
    }

    private static int OpenDescriptors()
    {
        try
        {
            return Directory.GetFileSystemEntries("/proc/self/fd").Length;
        }
        catch (IOException)
        {
            return 0;
        }
        catch (UnauthorizedAccessException)
        {
            return 0;
        }
    }

    private const int RLimitNoFile = 7;

    [StructLayout(LayoutKind.Sequential)]
    private struct RLimit
    {
        public ulong Current;
        public ulong Maximum;
    }

    [DllImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static extern int GetRLimit(int resource, out RLimit limit);
}
