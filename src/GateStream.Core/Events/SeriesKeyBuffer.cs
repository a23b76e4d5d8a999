namespace GateStream.Core.Events;

/// <summary>
/// The (deployment, version) key of a batch as UTF-8 bytes, in a buffer that is reused across
/// batches so a decoder can copy the key out of a message without allocating.
/// </summary>
public sealed class SeriesKeyBuffer
{
    private byte[] _bytes = new byte[128];
    private int _deploymentLength;
    private int _versionLength;

    public ReadOnlySpan<byte> Deployment => _bytes.AsSpan(0, _deploymentLength);

    public ReadOnlySpan<byte> Version => _bytes.AsSpan(_deploymentLength, _versionLength);

    public void Set(ReadOnlySpan<byte> deployment, ReadOnlySpan<byte> version)
    {
        var needed = deployment.Length + version.Length;
        if (needed > _bytes.Length)
        {
            _bytes = new byte[Math.Max(needed, _bytes.Length * 2)];
        }

        deployment.CopyTo(_bytes);
        version.CopyTo(_bytes.AsSpan(deployment.Length));
        _deploymentLength = deployment.Length;
        _versionLength = version.Length;
    }

    public void Set(string deployment, string version)
    {
        ArgumentNullException.ThrowIfNull(deployment);
        ArgumentNullException.ThrowIfNull(version);
        Span<byte> d = stackalloc byte[System.Text.Encoding.UTF8.GetMaxByteCount(deployment.Length)];
        Span<byte> v = stackalloc byte[System.Text.Encoding.UTF8.GetMaxByteCount(version.Length)];
        Set(d[..System.Text.Encoding.UTF8.GetBytes(deployment, d)], v[..System.Text.Encoding.UTF8.GetBytes(version, v)]);
    }

    public void Clear()
    {
        _deploymentLength = 0;
        _versionLength = 0;
    }
}
