using System.Buffers;
using GateStream.Core.Time;
using Microsoft.Extensions.Logging;

namespace GateStream.Daemon.Decisions.Log;

/// <summary>
/// The durable, append-only log of decisions: a directory of segment files
/// <c>decisions-&lt;first sequence, 20 digits&gt;.log</c>, each a run of checksummed records (README.md
/// in this folder specifies the format).
/// </summary>
/// <remarks>
/// <para>
/// Invariant: once <see cref="Append"/> returns, the record is whole on disk (fsync'd when
/// <see cref="DecisionLogOptions.Fsync"/> is on), so a decision may be published only after it returns.
/// Sequences are strictly increasing through the log and across restarts: <see cref="Open"/> recovers
/// <see cref="LastSequence"/> from disk.
/// </para>
/// <para>
/// Appends take a lock; they are rare (decisions, not events). Readers never take the writer's file
/// handle: each <see cref="ReadFrom"/> opens the segments itself and stops at the length committed when
/// it was called.
/// </para>
/// <para>
/// One <see cref="DecisionLog"/> per directory: <see cref="Open"/> takes an exclusive lock on
/// <c>decisions.lock</c> in the directory, held until <see cref="Dispose"/>.
/// </para>
/// </remarks>
public sealed partial class DecisionLog : IDisposable
{
    private const string LockFileName = "decisions.lock";

    private readonly Lock _sync = new();
    private readonly string _directory;
    private readonly long _segmentBytes;
    private readonly TimeSpan _retention;
    private readonly long _maxTotalBytes;
    private readonly bool _fsync;
    private readonly ILogger _logger;
    private readonly TimeProvider _clock;
    private readonly FileStream _directoryLock;

    // Oldest first. Appends go to the last one; it is never damaged (recovery truncates it) and never
    // deleted by retention.
    private readonly List<Segment> _segments;

    // Positioned at the committed end of _segments[^1]; opened at the first append.
    private FileStream? _writer;
    private ulong _lastSequence;
    private bool _faulted;
    private bool _disposed;

    private DecisionLog(
        DecisionLogOptions options,
        string directory,
        FileStream directoryLock,
        List<Segment> segments,
        RecoveryReport report,
        ILogger logger,
        TimeProvider clock)
    {
        _directory = directory;
        _segmentBytes = options.SegmentBytes;
        _retention = options.Retention;
        _maxTotalBytes = options.MaxTotalBytes;
        _fsync = options.Fsync;
        _directoryLock = directoryLock;
        _segments = segments;
        _logger = logger;
        _clock = clock;
        RecoveryReport = report;
        _lastSequence = segments.LastOrDefault(s => s.Records > 0)?.LastSequence ?? 0;
    }

    /// <summary>What opening found and repaired on disk.</summary>
    public RecoveryReport RecoveryReport { get; }

    /// <summary>The sequence of the newest record; 0 when the log is empty.</summary>
    public ulong LastSequence
    {
        get
        {
            lock (_sync)
            {
                return _lastSequence;
            }
        }
    }

    /// <summary>
    /// The sequence of the oldest record still retained; 0 when the log is empty. A subscriber resuming
    /// after a sequence below <c>FirstSequence - 1</c> asks for decisions retention has deleted.
    /// </summary>
    public ulong FirstSequence
    {
        get
        {
            lock (_sync)
            {
                foreach (var segment in _segments)
                {
                    if (segment.Records > 0)
                    {
                        return segment.FirstSequence;
                    }
                }

                return 0;
            }
        }
    }

    /// <summary>
    /// Opens the log in <see cref="DecisionLogOptions.Directory"/> (creating it if needed), validates every
    /// record, and repairs a torn or corrupt tail of the last segment by truncating it.
    /// </summary>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="IOException">The directory is already open by another <see cref="DecisionLog"/>, or cannot be read.</exception>
    public static DecisionLog Open(DecisionLogOptions options, ILogger logger, TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        ArgumentNullException.ThrowIfNull(clock);
        var problems = options.Validate();
        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", problems), nameof(options));
        }

        var directory = Path.GetFullPath(options.Directory);
        System.IO.Directory.CreateDirectory(directory);
        var directoryLock = LockDirectory(directory);
        try
        {
            var segments = Recover(directory, options.Fsync, logger, out var report);
            var log = new DecisionLog(options, directory, directoryLock, segments, report, logger, clock);
            logger.Opened(directory, report.Segments, report.Records, log.FirstSequence, log.LastSequence);
            return log;
        }
        catch
        {
            directoryLock.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Appends one record and, when <see cref="DecisionLogOptions.Fsync"/> is on, fsyncs it before returning.
    /// Thread-safe. Rotates to a new segment when this record would take the current one past
    /// <see cref="DecisionLogOptions.SegmentBytes"/>, then applies retention.
    /// </summary>
    /// <exception cref="ArgumentException">
    /// <paramref name="sequence"/> is not greater than <see cref="LastSequence"/>, or the payload is larger than 16 MiB.
    /// </exception>
    /// <exception cref="IOException">
    /// The record could not be written; it is not in the log. If the failure left the file in an unknown
    /// state (a failed fsync), every later append throws <see cref="InvalidOperationException"/> until the
    /// daemon restarts and recovery inspects the file.
    /// </exception>
    public void Append(ulong sequence, ReadOnlySpan<byte> payload)
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
                if (_faulted)
                {
                    throw new InvalidOperationException(
                        "The decision log failed to make a record durable and accepts no more appends; restart the daemon to recover it.");
                }

                if (sequence <= _lastSequence)
                {
                    throw new ArgumentException(
                        $"Sequence {sequence} is not greater than the last logged sequence {_lastSequence}.",
                        nameof(sequence));
                }

                var nowMicros = EventTime.Now(_clock);
                RecordFormat.Write(record, sequence, nowMicros, payload);
                var sealedOne = EnsureWritableSegment(sequence, recordLength);
                var segment = _segments[^1];
                WriteDurably(segment, sequence, record.AsSpan(0, recordLength));
                segment.Add(sequence, nowMicros, recordLength);
                segment.FileLength = segment.CommittedLength;
                _lastSequence = sequence;
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

    public void Dispose()
    {
        lock (_sync)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _writer?.Dispose();
            _writer = null;
            _directoryLock.Dispose();
        }
    }

    private static FileStream LockDirectory(string directory)
    {
        var path = Path.Combine(directory, LockFileName);
        try
        {
            // FileShare.None is an exclusive flock on Unix: a second daemon (or a second Open in this one)
            // on the same directory fails here instead of interleaving appends.
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException ex)
        {
            throw new IOException($"The decision log in '{directory}' is already open elsewhere ({LockFileName} is locked).", ex);
        }
    }

    /// <summary>Makes <c>_segments[^1]</c> a segment this record may be appended to; true when a segment was sealed to do so.</summary>
    private bool EnsureWritableSegment(ulong sequence, int recordLength)
    {
        var current = _segments.Count > 0 ? _segments[^1] : null;
        if (current is not null
            && !current.IsDamaged
            && (current.CommittedLength == 0 || current.CommittedLength + recordLength <= _segmentBytes))
        {
            _writer ??= OpenWriter(current.Path, current.CommittedLength);
            return false;
        }

        StartSegment(sequence);
        return current is not null;
    }

    private void StartSegment(ulong firstSequence)
    {
        var path = Path.Combine(_directory, RecordFormat.SegmentFileName(firstSequence));
        var writer = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.Write,
            Share = FileShare.Read | FileShare.Delete,
            BufferSize = 0,
        });
        try
        {
            if (_fsync)
            {
                // The file's own fsync does not make its name durable; without this a power loss could
                // lose the whole new segment, records included.
                DirectorySync.Flush(_directory);
            }
        }
        catch
        {
            writer.Dispose();
            File.Delete(path);
            throw;
        }

        _writer?.Dispose();
        _writer = writer;
        var segment = new Segment(path);
        _segments.Add(segment);
        _logger.SegmentStarted(segment.FileName);
    }

    private static FileStream OpenWriter(string path, long committedLength)
    {
        var writer = new FileStream(path, new FileStreamOptions
        {
            Mode = FileMode.Open,
            Access = FileAccess.Write,
            Share = FileShare.Read | FileShare.Delete,
            BufferSize = 0,
        });
        writer.Position = committedLength;
        return writer;
    }

    private void WriteDurably(Segment segment, ulong sequence, ReadOnlySpan<byte> record)
    {
        var writer = _writer!;
        try
        {
            writer.Write(record);
        }
        catch (IOException ex)
        {
            // A partial record must not stay in front of the next one: recovery would stop at it and drop
            // every record after it.
            try
            {
                writer.SetLength(segment.CommittedLength);
                writer.Position = segment.CommittedLength;
                _logger.AppendFailed(ex, sequence, segment.FileName);
            }
            catch (IOException)
            {
                Fault(ex, sequence, segment);
            }

            throw;
        }

        try
        {
            writer.Flush(flushToDisk: _fsync);
        }
        catch (IOException ex)
        {
            // After a failed fsync the kernel may have dropped the dirty pages and cleared the error, so a
            // retry could "succeed" without the data on disk. Only recovery can say what is there.
            Fault(ex, sequence, segment);
            throw;
        }
    }

    private void Fault(Exception ex, ulong sequence, Segment segment)
    {
        _faulted = true;
        _logger.Faulted(ex, sequence, segment.FileName);
    }
}
