using System.IO.Hashing;
using System.Text;

namespace GateStream.Core;

/// <summary>The identity of a series: a deployment and one of its versions.</summary>
public sealed class SeriesKey : IEquatable<SeriesKey>
{
    private readonly byte[] _deployment;
    private readonly byte[] _version;

    internal SeriesKey(ReadOnlySpan<byte> deployment, ReadOnlySpan<byte> version)
    {
        _deployment = deployment.ToArray();
        _version = version.ToArray();
        Deployment = Encoding.UTF8.GetString(deployment);
        Version = Encoding.UTF8.GetString(version);
        Hash = ComputeHash(deployment, version);
    }

    public SeriesKey(string deployment, string version)
        : this(Encoding.UTF8.GetBytes(deployment), Encoding.UTF8.GetBytes(version))
    {
    }

    public string Deployment { get; }

    public string Version { get; }

    internal int Hash { get; }

    internal ReadOnlySpan<byte> DeploymentBytes => _deployment;

    internal ReadOnlySpan<byte> VersionBytes => _version;

    public bool Equals(SeriesKey? other) =>
        other is not null && _deployment.AsSpan().SequenceEqual(other._deployment) && _version.AsSpan().SequenceEqual(other._version);

    public override bool Equals(object? obj) => obj is SeriesKey other && Equals(other);

    public override int GetHashCode() => Hash;

    public override string ToString() => $"{Deployment}@{Version}";

    internal static int ComputeHash(ReadOnlySpan<byte> deployment, ReadOnlySpan<byte> version) =>
        // Not HashCode.Combine: that is seeded per process, and the hash places bucket boundaries, which replay must reproduce.
        (int)((XxHash3.HashToUInt64(deployment) * 0x9E3779B97F4A7C15UL) ^ XxHash3.HashToUInt64(version));

    /// <summary>Stable hash of a deployment name: all versions of a deployment land on one shard.</summary>
    public static uint DeploymentHash(ReadOnlySpan<byte> deployment) => (uint)XxHash3.HashToUInt64(deployment);
}

/// <summary>A series key as two spans over a decoded batch's bytes: the allocation-free lookup form.</summary>
public readonly ref struct SeriesKeySpan(ReadOnlySpan<byte> deployment, ReadOnlySpan<byte> version)
{
    public ReadOnlySpan<byte> Deployment { get; } = deployment;

    public ReadOnlySpan<byte> Version { get; } = version;
}

internal sealed class SeriesKeyComparer : IEqualityComparer<SeriesKey>, IAlternateEqualityComparer<SeriesKeySpan, SeriesKey>
{
    public static SeriesKeyComparer Instance { get; } = new();

    public bool Equals(SeriesKey? x, SeriesKey? y) => ReferenceEquals(x, y) || (x is not null && x.Equals(y));

    public int GetHashCode(SeriesKey obj) => obj.Hash;

    public bool Equals(SeriesKeySpan alternate, SeriesKey other) =>
        alternate.Deployment.SequenceEqual(other.DeploymentBytes) && alternate.Version.SequenceEqual(other.VersionBytes);

    public int GetHashCode(SeriesKeySpan alternate) => SeriesKey.ComputeHash(alternate.Deployment, alternate.Version);

    public SeriesKey Create(SeriesKeySpan alternate) => new(alternate.Deployment, alternate.Version);
}
