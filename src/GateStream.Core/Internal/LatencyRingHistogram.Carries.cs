namespace GateStream.Core.Internal;

/// <summary>Counts past 16 bits: a fixed open-addressing table of (slot, bucket) -> multiples of 65,536.</summary>
internal sealed partial class LatencyRingHistogram
{
    /// <summary>
    /// Buckets (of any slot) that may count past 65,535 at once. One needs 65,536 events in one bucket (about 2% of
    /// the value) of one sub-window; 64 of them is millions of events per sub-window for one series.
    /// </summary>
    internal const int CarryCapacity = CarryTableSize / 2;

    // Twice the capacity, so probes stay short; a power of two for the mask.
    private const int CarryTableBits = 7;
    private const int CarryTableSize = 1 << CarryTableBits;

    private static long CarryTableBytes => 2 * ArrayBytes(CarryTableSize, sizeof(int));

    // Key: (slot x buckets + bucket) + 1, 0 = empty. Null until the first carry.
    private int[]? _carryKeys;
    private int[]? _carries;
    private int _carryCount;

    // Counter `at` wrapped to 0: add 65,536 to its carry, or undo the wrap when the table is full.
    private bool Carry(int at)
    {
        _carryKeys ??= new int[CarryTableSize];
        _carries ??= new int[CarryTableSize];
        var probe = Probe(at + 1);
        if (_carryKeys[probe] == 0)
        {
            if (_carryCount == CarryCapacity)
            {
                _counts[at] = ushort.MaxValue;
                Saturated++;
                return false;
            }

            _carryKeys[probe] = at + 1;
            _carryCount++;
        }

        _carries[probe]++;
        return true;
    }

    // Count past 16 bits of counter `at`: 0 unless it carried.
    private long CarriedAt(int at)
    {
        if (_carryCount == 0)
        {
            return 0;
        }

        var probe = Probe(at + 1);
        return _carryKeys![probe] == 0 ? 0 : (long)_carries![probe] << 16;
    }

    // The slot where `key` is, or the empty one where it would go.
    private int Probe(int key)
    {
        var keys = _carryKeys!;
        var probe = (int)(unchecked((uint)key * 2654435769u) >> (32 - CarryTableBits));
        while (keys[probe] != 0 && keys[probe] != key)
        {
            probe = (probe + 1) & (CarryTableSize - 1);
        }

        return probe;
    }

    // A slot expired: drop its carries and re-insert the others (open addressing has no simple delete).
    private void RemoveCarries(int slot)
    {
        var keys = _carryKeys!;
        var carries = _carries!;
        Span<int> keptKeys = stackalloc int[CarryCapacity];
        Span<int> keptCarries = stackalloc int[CarryCapacity];
        var kept = 0;
        var first = (slot * _bucketCount) + 1;
        var last = first + _bucketCount - 1;
        for (var i = 0; i < keys.Length; i++)
        {
            if (keys[i] != 0 && (keys[i] < first || keys[i] > last))
            {
                keptKeys[kept] = keys[i];
                keptCarries[kept++] = carries[i];
            }
        }

        if (kept == _carryCount)
        {
            return;
        }

        keys.AsSpan().Clear();
        carries.AsSpan().Clear();
        _carryCount = kept;
        for (var i = 0; i < kept; i++)
        {
            var probe = Probe(keptKeys[i]);
            keys[probe] = keptKeys[i];
            carries[probe] = keptCarries[i];
        }
    }
}
