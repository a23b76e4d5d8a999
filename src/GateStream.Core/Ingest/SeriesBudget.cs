using System.Collections.Concurrent;

namespace GateStream.Core.Ingest;

/// <summary>
/// Which series may exist: the cap on live series across all shards, and beside it a budget per deployment and per
/// source (ingest path), so that a sender inventing versions or deployments exhausts its own budget, not everyone's.
/// </summary>
/// <remarks>
/// Admission is idempotent and thread-safe: an ingest thread admits a batch's series before posting it, so the sender's
/// acknowledgement can say whether its events were refused; the shard admits again when it creates the series (a no-op
/// for an admitted key; the path replay takes). Admitted keys are a lock-free read per batch; the lock is taken only for a
/// key not admitted yet (a new series, or a refused one) and when a series is evicted.
/// One race is accepted: a batch admitted just before its idle series is evicted is admitted again by the shard, and
/// refused (counted, logged) only if a budget filled meanwhile, while its acknowledgement said accepted.
/// </remarks>
public sealed class SeriesBudget
{
    private readonly ConcurrentDictionary<SeriesKey, Holder> _admitted = new(SeriesKeyComparer.Instance);
    private readonly ConcurrentDictionary<SeriesKey, Holder>.AlternateLookup<SeriesKeySpan> _lookup;
    private readonly Lock _lock = new();
    private readonly Dictionary<byte[], int> _perDeployment = new(ByteKeyComparer.Instance);
    private readonly Dictionary<byte[], int>.AlternateLookup<ReadOnlySpan<byte>> _deploymentLookup;
    private readonly Dictionary<string, int> _perSource = new(StringComparer.Ordinal);
    private int _live;

    /// <summary>Only the global cap (every deployment and source may use all of it).</summary>
    public SeriesBudget(int capacity)
        : this(capacity, capacity, capacity)
    {
    }

    public SeriesBudget(IngestOptions options)
        : this((options ?? throw new ArgumentNullException(nameof(options))).MaxSeries, options.MaxSeriesPerDeployment, options.MaxSeriesPerSource)
    {
    }

    public SeriesBudget(int capacity, int perDeployment, int perSource)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(perDeployment, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(perSource, 1);
        Capacity = capacity;
        PerDeployment = perDeployment;
        PerSource = perSource;
        _lookup = _admitted.GetAlternateLookup<SeriesKeySpan>();
        _deploymentLookup = _perDeployment.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    public int Capacity { get; }

    public int PerDeployment { get; }

    public int PerSource { get; }

    public int Live => Volatile.Read(ref _live);

    /// <summary>Live series of one deployment (UTF-8 name).</summary>
    public int LiveOf(ReadOnlySpan<byte> deployment)
    {
        lock (_lock)
        {
            return _deploymentLookup.TryGetValue(deployment, out var live) ? live : 0;
        }
    }

    /// <summary>Whether the series is admitted (has taken its place in every budget).</summary>
    public bool IsAdmitted(SeriesKeySpan key) => _lookup.ContainsKey(key);

    /// <summary>
    /// Admits the series <paramref name="key"/> for <paramref name="source"/>, or says which budget refused it. Admitting
    /// an admitted key succeeds and takes nothing. The key must have been validated.
    /// </summary>
    /// <returns>Null when admitted; otherwise the budget that is full.</returns>
    public RefusalReason? TryAdmit(SeriesKeySpan key, string source) => TryAdmit(key, source, out _);

    internal RefusalReason? TryAdmit(SeriesKeySpan key, string source, out SeriesKey? admitted)
    {
        ArgumentNullException.ThrowIfNull(source);
        if (_lookup.TryGetValue(key, out admitted, out _))
        {
            return null;
        }

        lock (_lock)
        {
            if (_lookup.TryGetValue(key, out admitted, out _))
            {
                return null;
            }

            if (_live >= Capacity)
            {
                return RefusalReason.SeriesCapReached;
            }

            _deploymentLookup.TryGetValue(key.Deployment, out var deployment, out var ofDeployment);
            if (ofDeployment >= PerDeployment)
            {
                return RefusalReason.DeploymentBudgetReached;
            }

            _perSource.TryGetValue(source, out var ofSource);
            if (ofSource >= PerSource)
            {
                return RefusalReason.SourceBudgetReached;
            }

            admitted = SeriesKeyComparer.Instance.Create(key);
            deployment ??= key.Deployment.ToArray();
            _perDeployment[deployment] = ofDeployment + 1;
            _perSource[source] = ofSource + 1;
            _admitted[admitted] = new Holder(deployment, source);
            Volatile.Write(ref _live, _live + 1);
            return null;
        }
    }

    /// <summary>Gives back the places of an evicted series. Releasing a key that is not admitted does nothing.</summary>
    public void Release(SeriesKey key)
    {
        ArgumentNullException.ThrowIfNull(key);
        lock (_lock)
        {
            if (!_admitted.TryRemove(key, out var holder))
            {
                return;
            }

            Decrement(_perDeployment, holder.Deployment);
            Decrement(_perSource, holder.Source);
            Volatile.Write(ref _live, _live - 1);
        }
    }

    /// <summary>One sentence for the sender: which series, which budget, and the option that sets it.</summary>
    public string Describe(RefusalReason reason, ReadOnlySpan<byte> deployment, ReadOnlySpan<byte> version, string source) => reason switch
    {
        RefusalReason.SeriesCapReached =>
            $"new series {Name(deployment)}@{Name(version)} refused: the daemon holds its cap of {Capacity} live series (Engine:MaxSeries)",
        RefusalReason.DeploymentBudgetReached =>
            $"new series {Name(deployment)}@{Name(version)} refused: deployment '{Name(deployment)}' has its {PerDeployment} live series (Engine:MaxSeriesPerDeployment)",
        RefusalReason.SourceBudgetReached =>
            $"new series {Name(deployment)}@{Name(version)} refused: source '{source}' has its {PerSource} live series (Engine:MaxSeriesPerSource)",
        _ => $"series {Name(deployment)}@{Name(version)} refused: {reason}",
    };

    // Names are printed as sent, but cut and with control characters replaced, so a message cannot forge log lines.
    private static string Name(ReadOnlySpan<byte> utf8)
    {
        var text = System.Text.Encoding.UTF8.GetString(utf8[..Math.Min(utf8.Length, 128)]);
        return string.Create(text.Length, text, static (span, s) =>
        {
            for (var i = 0; i < s.Length; i++)
            {
                span[i] = char.IsControl(s[i]) ? '?' : s[i];
            }
        });
    }

    private static void Decrement<TKey>(Dictionary<TKey, int> counts, TKey key)
        where TKey : notnull
    {
        if (counts.TryGetValue(key, out var count) && count > 1)
        {
            counts[key] = count - 1;
        }
        else
        {
            counts.Remove(key);
        }
    }

    private sealed record Holder(byte[] Deployment, string Source);

    private sealed class ByteKeyComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
    {
        public static ByteKeyComparer Instance { get; } = new();

        public bool Equals(byte[]? x, byte[]? y) => ReferenceEquals(x, y) || (x is not null && y is not null && x.AsSpan().SequenceEqual(y));

        public int GetHashCode(byte[] obj) => (int)SeriesKey.DeploymentHash(obj);

        public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

        public int GetHashCode(ReadOnlySpan<byte> alternate) => (int)SeriesKey.DeploymentHash(alternate);

        public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
    }
}
