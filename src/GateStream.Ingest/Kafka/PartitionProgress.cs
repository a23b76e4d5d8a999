using System.Text;
using GateStream.Core.Time;

namespace GateStream.Ingest.Kafka;

/// <summary>
/// What the consumer knows of one partition: which offsets it has applied, which consumed messages still hold events
/// inside a live window (so the commit point never passes evidence a new owner would need), the deployments seen in
/// it, and whether it has caught up since it was last assigned.
/// </summary>
/// <remarks>
/// <para>Commit point: the offset of the oldest consumed message that still has an event newer than the cutoff
/// (now - window length), or the position when no such message remains. Messages are grouped into runs whose newest
/// event times lie within <see cref="Resolution"/> of each other, so memory is about window / resolution entries per
/// partition whatever the message rate; a run is dropped once all its events are older than the cutoff. Grouping only
/// ever moves the commit point back (a little more is re-read), never forward past a live message.</para>
/// <para>Applied mark: survives revocation. If the partition comes back to this daemon it re-reads from the group's
/// committed offset but does not apply again what it applied before (its windows already hold those events).</para>
/// <para>Single writer: the consume thread.</para>
/// </remarks>
public sealed class PartitionProgress
{
    /// <summary>Default grouping of consumed messages by event time: 1 s.</summary>
    public const long DefaultResolutionMicros = EventTime.MicrosPerSecond;

    private readonly HashSet<string> _deployments = new(StringComparer.Ordinal);
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> _deploymentsBySpan;
    private readonly byte[] _lastUtf8 = new byte[256];
    private int _lastLength;
    private string? _lastName;
    private Run[] _runs = new Run[16];
    private int _head;
    private int _count;

    public PartitionProgress(long resolutionMicros = DefaultResolutionMicros)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(resolutionMicros, 1);
        Resolution = resolutionMicros;
        _deploymentsBySpan = _deployments.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public long Resolution { get; }

    /// <summary>The offset after the last message this daemon applied from the partition, ever; -1 before the first.</summary>
    public long AppliedUpTo { get; private set; } = -1;

    /// <summary>The offset after the last message consumed in the current assignment (or where it started); -1 when unknown.</summary>
    public long Position { get; private set; } = -1;

    /// <summary>The high watermark when the partition was assigned: until the position reaches it, the partition is catching up.</summary>
    public long CatchUpTarget { get; private set; } = -1;

    public bool CaughtUp { get; private set; } = true;

    public bool IsAssigned { get; private set; }

    /// <summary>The offset last committed for the partition (by this daemon, or found at assignment); -1 when none.</summary>
    public long Committed { get; set; } = -1;

    /// <summary>Deployments whose events were seen in this partition (by message content).</summary>
    public IReadOnlyCollection<string> Deployments => _deployments;

    /// <summary>Message runs held for the commit point (for tests and metrics).</summary>
    public int HeldRuns => _count;

    /// <summary>
    /// Starts an assignment at <paramref name="startOffset"/> (where consumption will start: the committed offset, or
    /// the offset the reset policy picks; -1 when unknown) with the partition's high watermark at that moment (-1 when
    /// unknown: then the partition counts as caught up at once).
    /// </summary>
    public void Assign(long startOffset, long highWatermark)
    {
        IsAssigned = true;
        _head = 0;
        _count = 0;
        Position = startOffset;
        CatchUpTarget = highWatermark;
        CaughtUp = highWatermark < 0 || startOffset >= highWatermark;
    }

    /// <summary>
    /// The client's fetch position moved to <paramref name="position"/> without a message to show for it (transaction
    /// markers, compacted gaps). Returns true when that brought the partition up to the catch-up target.
    /// </summary>
    public bool PositionAt(long position)
    {
        if (position < 0 || position < Position)
        {
            return false;
        }

        Position = position;
        if (!CaughtUp && Position >= CatchUpTarget)
        {
            CaughtUp = true;
            return true;
        }

        return false;
    }

    /// <summary>The partition left this daemon (revoked or lost). Deployments and the applied mark are kept.</summary>
    public void Unassign()
    {
        IsAssigned = false;
        _head = 0;
        _count = 0;
        Position = -1;
        CaughtUp = true;
    }

    /// <summary>Whether a consumed message still has to be applied (this daemon has not applied it before).</summary>
    public bool ShouldApply(long offset) => offset >= AppliedUpTo;

    /// <summary>
    /// Records a consumed message: its offset, the newest event time in it (<see cref="long.MinValue"/> when it held none,
    /// e.g. undecodable) and whether it was applied now. Returns true when this message brought the partition up to
    /// the catch-up target.
    /// </summary>
    public bool Consumed(long offset, long newestMicros, bool applied)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        Position = offset + 1;
        if (applied)
        {
            AppliedUpTo = Math.Max(AppliedUpTo, offset + 1);
        }

        if (newestMicros != long.MinValue)
        {
            Hold(offset, newestMicros);
        }

        if (!CaughtUp && Position >= CatchUpTarget)
        {
            CaughtUp = true;
            return true;
        }

        return false;
    }

    /// <summary>
    /// The offset to commit: the oldest held message with an event at or after <paramref name="cutoffMicros"/>, else the
    /// position. -1 when nothing is known yet (nothing consumed and no committed offset to start from).
    /// </summary>
    public long CommitOffset(long cutoffMicros)
    {
        while (_count > 0 && _runs[_head].NewestMicros < cutoffMicros)
        {
            _head = (_head + 1) % _runs.Length;
            _count--;
        }

        if (_count == 0)
        {
            _head = 0;
            return Position;
        }

        // Runs after the head may already be dead; only the oldest live one bounds the commit, and that is at or after the head.
        return _runs[_head].FirstOffset;
    }

    /// <summary>Records that a deployment's events come through this partition; true the first time (the name is then allocated once).</summary>
    public bool AddDeployment(ReadOnlySpan<byte> utf8, out string name)
    {
        // Messages of a partition mostly come from few deployments: the last one seen is checked first, on its bytes.
        if (_lastName is not null && utf8.SequenceEqual(_lastUtf8.AsSpan(0, _lastLength)))
        {
            name = _lastName;
            return false;
        }

        var added = AddNew(utf8, out name);
        if (utf8.Length <= _lastUtf8.Length)
        {
            utf8.CopyTo(_lastUtf8);
            _lastLength = utf8.Length;
            _lastName = name;
        }

        return added;
    }

    private bool AddNew(ReadOnlySpan<byte> utf8, out string name)
    {
        Span<char> chars = stackalloc char[Encoding.UTF8.GetMaxCharCount(Math.Min(utf8.Length, 1024))];
        if (utf8.Length <= 1024 && Encoding.UTF8.TryGetChars(utf8, chars, out var written))
        {
            if (_deploymentsBySpan.TryGetValue(chars[..written], out var known))
            {
                name = known;
                return false;
            }

            name = new string(chars[..written]);
        }
        else
        {
            name = Encoding.UTF8.GetString(utf8);
            if (_deployments.TryGetValue(name, out var known))
            {
                name = known;
                return false;
            }
        }

        _deployments.Add(name);
        return true;
    }

    private void Hold(long offset, long newestMicros)
    {
        if (_count > 0)
        {
            ref var last = ref _runs[(_head + _count - 1) % _runs.Length];
            if (newestMicros < last.FirstNewestMicros + Resolution)
            {
                last.NewestMicros = Math.Max(last.NewestMicros, newestMicros);
                return;
            }
        }

        if (_count == _runs.Length)
        {
            var grown = new Run[_runs.Length * 2];
            for (var i = 0; i < _count; i++)
            {
                grown[i] = _runs[(_head + i) % _runs.Length];
            }

            _runs = grown;
            _head = 0;
        }

        _runs[(_head + _count) % _runs.Length] = new Run(offset, newestMicros, newestMicros);
        _count++;
    }

    private struct Run(long firstOffset, long firstNewestMicros, long newestMicros)
    {
        public long FirstOffset = firstOffset;
        public long FirstNewestMicros = firstNewestMicros;
        public long NewestMicros = newestMicros;
    }
}
