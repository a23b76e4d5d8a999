using GateStream.Core.Windows;

namespace GateStream.Core.Events;

/// <summary>
/// Decoded metric samples of one series: each sample a signal name (UTF-8), time (µs), value and kind.
/// Names live in one reused byte buffer; the batch is pooled like <see cref="EventBatch"/>.
/// </summary>
public sealed class MetricSampleBatch
{
    private byte[] _names = new byte[256];
    private int _namesLength;
    private Sample[] _samples = new Sample[64];

    public SeriesKeyBuffer Key { get; } = new();

    public int Count { get; private set; }

    public string Source { get; set; } = "";

    public void Add(ReadOnlySpan<byte> name, long timeMicros, double value, MetricKind kind)
    {
        if (Count == _samples.Length)
        {
            Array.Resize(ref _samples, _samples.Length * 2);
        }

        if (_namesLength + name.Length > _names.Length)
        {
            Array.Resize(ref _names, Math.Max(_names.Length * 2, _namesLength + name.Length));
        }

        name.CopyTo(_names.AsSpan(_namesLength));
        _samples[Count++] = new Sample(_namesLength, name.Length, timeMicros, value, kind);
        _namesLength += name.Length;
    }

    public void Add(string name, long timeMicros, double value, MetricKind kind)
    {
        ArgumentNullException.ThrowIfNull(name);
        Add(System.Text.Encoding.UTF8.GetBytes(name), timeMicros, value, kind);
    }

    public ReadOnlySpan<byte> NameAt(int index)
    {
        var s = _samples[index];
        return _names.AsSpan(s.NameOffset, s.NameLength);
    }

    public long TimeAt(int index) => _samples[index].TimeMicros;

    public double ValueAt(int index) => _samples[index].Value;

    public MetricKind KindAt(int index) => _samples[index].Kind;

    public void Clear()
    {
        Count = 0;
        _namesLength = 0;
        Key.Clear();
        Source = "";
    }

    private readonly record struct Sample(int NameOffset, int NameLength, long TimeMicros, double Value, MetricKind Kind);
}
