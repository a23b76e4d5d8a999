using System.Buffers;
using GateStream.Core.Time;
using Microsoft.Extensions.Logging;

namespace GateStream.Daemon.Decisions.Log;

/// <summary>Appending: a record written under the writers' lock, then made durable by a group commit.</summary>
public sealed partial class DecisionLog
{
    /// <summary>
    /// Appends one record and, when <see cref="DecisionLogOptions.Fsync"/> is on, waits until it is durable:
    /// <see cref="Write"/> then <see cref="WaitDurable"/>. Thread-safe.
    /// </summary>
    /// <exception cref="ArgumentException">As <see cref="Write"/>.</exception>
    /// <exception cref="DecisionLogUnavailableException">As <see cref="Write"/> and <see cref="WaitDurable"/>.</exception>
    public void Append(ulong sequence, ReadOnlySpan<byte> payload)
    {
        Write(sequence, payload);
        WaitDurable(sequence);
    }

    /// <summary>
    /// Writes one record to the file, without waiting for the disk when <see cref="DecisionLogOptions.Fsync"/> is on
    /// (call <see cref="WaitDurable"/> before telling anyone about it); with Fsync off it is committed at once.
    /// Thread-safe. Rotates to a new segment when this record would take the current one past
    /// <see cref="DecisionLogOptions.SegmentBytes"/> (fsyncing the one it seals), then applies retention.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// <paramref name="sequence"/> is not greater than <see cref="LastSequence"/>, or the payload is larger than 16 MiB.
    /// </exception>
    /// <exception cref="DecisionLogUnavailableException">
    /// The record is not in the log (whatever failed: I/O error, disk full, permission, a directory gone). The log is
    /// then in fault mode (<see cref="Health"/>): after a failed write that could be cut off again it retries at the next
    /// append and leaves fault mode when one succeeds; after a failed fsync, or a partial write it could not cut off,
    /// the file's state is unknown and it refuses every append until the daemon restarts and recovery inspects it.
    /// </exception>
    public void Write(ulong sequence, ReadOnlySpan<byte> payload)
    {
        if (payload.Length > RecordFormat.MaxPayloadLength)
        {
            throw new ArgumentException(
                $"A decision log payload may be at most {RecordFormat.MaxPayloadLength} bytes (got {payload.Length}).",
                nameof(payload));
        }

        var recordLength = RecordFormat.HeaderLength + payload.Length;
        var record = ArrayPool<byte>.Shared.Rent(recordLength);
        try
        {
            lock (_sync)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_fault is { RestartRequired: true } fault)
                {
                    throw new DecisionLogUnavailableException(fault.Describe(), null);
                }

                if (sequence <= _lastSequence)
                {
                    throw new ArgumentException(
                        $"Sequence {sequence} is not greater than the last logged sequence {_lastSequence}.",
                        nameof(sequence));
                }

                var nowMicros = EventTime.Now(_clock);
                RecordFormat.Write(record, sequence, nowMicros, payload);
                bool sealedOne;
                Segment segment;
                try
                {
                    sealedOne = EnsureWritableSegment(sequence, recordLength);
                    segment = _segments[^1];
                    WriteRecord(segment, sequence, record.AsSpan(0, recordLength));
                }
                catch (Exception ex) when (ex is not DecisionLogUnavailableException)
                {
                    throw Failed(ex, sequence, restartRequired: false, nowMicros);
                }

                if (_fsync)
                {
                    segment.PendingBytes += recordLength;
                    _pending.Add((segment, sequence, nowMicros, recordLength));
                }
                else
                {
                    segment.Add(sequence, nowMicros, recordLength);
                    _durableSequence = sequence;
                }

                segment.FileLength = segment.WrittenLength;
                _lastSequence = sequence;
                if (_fault is { } cleared)
                {
                    _fault = null;
                    _logger.AppendsRecovered(sequence, cleared.Failures, cleared.Describe());
                }

                if (sealedOne)
                {
                    ApplyRetention(nowMicros);
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(record);
        }
    }

    /// <summary>
    /// Returns once the record numbered <paramref name="sequence"/> (written by <see cref="Write"/>) is durable. The first
    /// caller to find it is not fsyncs the file for every record written so far; the others wait for that fsync and
    /// return without their own when it covered their record. At once when Fsync is off.
    /// </summary>
    /// <exception cref="DecisionLogUnavailableException">
    /// The fsync failed (or an earlier one did): the record may or may not be on disk, and the log refuses appends until
    /// the daemon restarts and recovery inspects the file.
    /// </exception>
    public void WaitDurable(ulong sequence)
    {
        if (!_fsync)
        {
            return;
        }

        lock (_durability)
        {
            FileStream writer;
            ulong upTo;
            lock (_sync)
            {
                if (_durableSequence >= sequence)
                {
                    return;
                }

                ObjectDisposedException.ThrowIf(_disposed, this);
                if (_fault is { RestartRequired: true } fault)
                {
                    throw new DecisionLogUnavailableException(fault.Describe(), null);
                }

                // A write that failed dropped the writer; the records before it are still in the file, and an fsync
                // through any handle makes them durable.
                var last = _segments[^1];
                writer = _writer ??= OpenWriter(last.Path, last.WrittenLength);
                upTo = _lastSequence;
            }

            try
            {
                // Outside _sync: records written meanwhile wait for the next group.
                writer.Flush(flushToDisk: true);
                Interlocked.Increment(ref _fsyncs);
            }
            catch (Exception ex)
            {
                lock (_sync)
                {
                    DropWriter();
                    throw Failed(ex, sequence, restartRequired: true, EventTime.Now(_clock));
                }
            }

            lock (_sync)
            {
                CommitPending(upTo);
                foreach (var retired in _retired)
                {
                    retired.Dispose();
                }

                _retired.Clear();
            }
        }
    }

    /// <summary>Counts the records up to <paramref name="upTo"/> as committed in their segments (under _sync, after their fsync).</summary>
    private void CommitPending(ulong upTo)
    {
        var done = 0;
        foreach (var (segment, sequence, timestampMicros, length) in _pending)
        {
            if (sequence > upTo)
            {
                break;
            }

            segment.PendingBytes -= length;
            segment.Add(sequence, timestampMicros, length);
            done++;
        }

        _pending.RemoveRange(0, done);
        _durableSequence = Math.Max(_durableSequence, upTo);
    }
}
