using System.Text;
using GateStream.Core.Windows;

namespace GateStream.Core;

/// <summary>
/// Everything GateStream keeps about one (deployment, version): its request window and the windows
/// of its named metric signals.
/// </summary>
/// <remarks>Single writer: the shard that owns the deployment. Read it on that shard only.</remarks>
public sealed class Series
{
    private readonly WindowOptions _window;
    private readonly int _maxSignals;
    private readonly Dictionary<SignalName, SignalWindow> _signals = new(SignalNameComparer.Instance);
    private readonly Dictionary<SignalName, SignalWindow>.AlternateLookup<ReadOnlySpan<byte>> _signalLookup;

    internal Series(SeriesKey key, WindowOptions window, int maxSignals, long createdMicros)
    {
        Key = key;
        _window = window;
        _maxSignals = maxSignals;
        // Stable per key, so replay staggers exactly as live did.
        Requests = new RequestWindow(window, (uint)key.Hash % window.BucketWidthMicros);
        _signalLookup = _signals.GetAlternateLookup<ReadOnlySpan<byte>>();
        CreatedMicros = createdMicros;
        LastActivityMicros = createdMicros;
    }

    public SeriesKey Key { get; }

    public RequestWindow Requests { get; }

    public long CreatedMicros { get; }

    /// <summary>Event time (or clock time) of the last batch applied to this series.</summary>
    public long LastActivityMicros { get; internal set; }

    /// <summary>Holders (gates) that need this series kept even when idle. Eviction skips pinned series.</summary>
    public int Pins { get; private set; }

    public void Pin() => Pins++;

    public void Unpin() => Pins = Math.Max(0, Pins - 1);

    public int SignalCount => _signals.Count;

    /// <summary>Order of creation on its shard (ties between versions with equal traffic go to the older one).</summary>
    public long CreationOrder { get; internal set; }

    /// <summary>False once the shard evicted the series (idle, not pinned); a later event creates a new one.</summary>
    public bool IsLive { get; internal set; } = true;

    /// <summary>The window of signal <paramref name="name"/>, or null when the series has never had a sample of it.</summary>
    public SignalWindow? Signal(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        Span<byte> bytes = stackalloc byte[Encoding.UTF8.GetMaxByteCount(name.Length)];
        return _signalLookup.TryGetValue(bytes[..Encoding.UTF8.GetBytes(name, bytes)], out var window) ? window : null;
    }

    public IEnumerable<KeyValuePair<string, SignalWindow>> Signals =>
        _signals.Select(kv => KeyValuePair.Create(kv.Key.Name, kv.Value));

    /// <summary>Finds or (under the per-series cap) creates the window of a signal named by UTF-8 bytes.</summary>
    internal SignalWindow? SignalForWrite(ReadOnlySpan<byte> name, MetricKind kind)
    {
        if (_signalLookup.TryGetValue(name, out var window))
        {
            return window;
        }

        if (_signals.Count >= _maxSignals)
        {
            return null;
        }

        window = new SignalWindow(kind, _window);
        _signals.Add(new SignalName(name), window);
        return window;
    }

    /// <summary>Moves every window of the series to the clock's now, expiring what left them.</summary>
    public void AdvanceTo(long nowMicros)
    {
        Requests.AdvanceTo(nowMicros);
        foreach (var signal in _signals.Values)
        {
            signal.AdvanceTo(nowMicros);
        }
    }

    public override string ToString() => Key.ToString();

    internal sealed class SignalName
    {
        public SignalName(ReadOnlySpan<byte> bytes)
        {
            Bytes = bytes.ToArray();
            Name = Encoding.UTF8.GetString(bytes);
        }

        public byte[] Bytes { get; }

        public string Name { get; }
    }

    private sealed class SignalNameComparer : IEqualityComparer<SignalName>, IAlternateEqualityComparer<ReadOnlySpan<byte>, SignalName>
    {
        public static SignalNameComparer Instance { get; } = new();

        public bool Equals(SignalName? x, SignalName? y) =>
            ReferenceEquals(x, y) || (x is not null && y is not null && x.Bytes.AsSpan().SequenceEqual(y.Bytes));

        public int GetHashCode(SignalName obj) => GetHashCode(obj.Bytes);

        public bool Equals(ReadOnlySpan<byte> alternate, SignalName other) => alternate.SequenceEqual(other.Bytes);

        public int GetHashCode(ReadOnlySpan<byte> alternate)
        {
            var hash = default(HashCode);
            hash.AddBytes(alternate);
            return hash.ToHashCode();
        }

        public SignalName Create(ReadOnlySpan<byte> alternate) => new(alternate);
    }
}
