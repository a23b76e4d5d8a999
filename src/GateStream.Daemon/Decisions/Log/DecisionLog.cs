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
/// Group commit (Fsync on): <see cref="Write"/> puts a record in the file under the lock, and <see cref="WaitDurable"/>
/// makes it durable: the first waiter fsyncs everything written so far, outside the writers' lock, while later
/// records are written; waiters whose records that fsync covered return without one of their own. So decisions taken
/// at the same time on several shards (or by several overrides) share one fsync. A record counts as committed (readers
/// see it, <see cref="DurableSequence"/> passes it) only once it is durable.
/// </para>
/// <para>
/// Readers never take the writer's file handle: each <see cref="ReadFrom"/> opens the segments itself and stops at the
/// length committed when it was called.
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

    // Held by the one waiter that fsyncs for everyone (group commit); taken before _sync, never inside it.
    private readonly Lock _durability = new();

    // Records written but not yet fsync'd, oldest first (Fsync on only); committed to their segments after the fsync.
    private readonly List<(Segment Segment, ulong Sequence, long TimestampMicros, int Length)> _pending = [];

    // Writers of sealed segments, closed once no fsync can be running on them (the next group commit, or Dispose).
    private readonly List<FileStream> _retired = [];
    private ulong _durableSequence;
    private long _fsyncs;
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

    // Positioned at the committed end of _segments[^1]; opened at the first append, and again after a failed one.
    private FileStream? _writer;
    private ulong _lastSequence;
    private Fault? _fault;
    private long _lastFailureLoggedMicros = long.MinValue;
    private bool _disposed;

    private DecisionLog(
        DecisionLogOptions options,
        string directory,
        FileStream directoryLock,
        List<Segment> segments,
        RecoveryReport report,
        ulong lastSequence,
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
        _lastSequence = lastSequence;
        _durableSequence = lastSequence;
    }

    /// <summary>What opening found and repaired on disk.</summary>
    public RecoveryReport RecoveryReport { get; }

    /// <summary>
    /// The highest sequence taken: the newest record's, or above it when recovery reserved sequences a damaged tail may
    /// have held (<see cref="RecoveryReport.ReservedSequences"/>); 0 when the log is empty. The next append must be above it.
    /// </summary>
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

    /// <summary>Group commits done: fsyncs of appended records (Fsync on), each covering every record written before it.</summary>
    public long Fsyncs => Interlocked.Read(ref _fsyncs);

    /// <summary>The highest sequence on disk for good: written, and fsync'd when Fsync is on; readers see up to it.</summary>
    public ulong DurableSequence
    {
        get
        {
            lock (_sync)
            {
                return _durableSequence;
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
    /// record, steps over damaged ones, and cuts an unreadable tail off the last segment (README.md, "Recovery").
    /// </summary>
    /// <param name="validator">
    /// Checks each checksummed payload (null: any payload). A record it rejects is skipped and reported like damage,
    /// and its sequence stays taken.
    /// </param>
    /// <exception cref="ArgumentException">The options are invalid.</exception>
    /// <exception cref="DecisionLogUnavailableException">
    /// The directory cannot be created, locked, read or repaired (read-only, not a directory, no permission), or is
    /// already open by another <see cref="DecisionLog"/>. The message is one line naming the directory and the cause.
    /// </exception>
    public static DecisionLog Open(DecisionLogOptions options, ILogger logger, TimeProvider clock, PayloadValidator? validator = null)
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
        FileStream? directoryLock = null;
        try
        {
            System.IO.Directory.CreateDirectory(directory);
            directoryLock = LockDirectory(directory);
            var segments = Recover(directory, options.Fsync, validator, logger, out var report, out var lastSequence);
            if (lastSequence == ulong.MaxValue)
            {
                // Only damage or tampering numbers a record so (a checksummed record may jump); no decision could follow.
                throw new DecisionLogUnavailableException(
                    $"The decision log in '{directory}' has used sequence {ulong.MaxValue}, the last there is, so no decision can follow; move the directory aside to start a new log.", null);
            }

            var log = new DecisionLog(options, directory, directoryLock, segments, report, lastSequence, logger, clock);
            logger.Opened(directory, report.Segments, report.Records, log.FirstSequence, log.LastSequence);
            return log;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            directoryLock?.Dispose();
            if (ex is DecisionLogUnavailableException)
            {
                throw;
            }

            throw new DecisionLogUnavailableException(
                $"Cannot open the decision log in '{directory}' ({DecisionLogOptions.SectionName}:Directory): {OneLine(ex)}. " +
                "It must be a directory the daemon can create files in, on a writable file system.", ex);
        }
    }

    /// <summary>Whether appends work; when not, why, since when, and whether only a restart clears it.</summary>
    public DecisionLogHealth Health
    {
        get
        {
            lock (_sync)
            {
                return _fault is { } fault
                    ? new DecisionLogHealth(false, fault.RestartRequired, fault.Describe(), fault.Failures)
                    : new DecisionLogHealth(true, false, $"appends work; last sequence {_lastSequence}", 0);
            }
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
            foreach (var retired in _retired)
            {
                retired.Dispose();
            }

            _retired.Clear();
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
            && (current.WrittenLength == 0 || current.WrittenLength + recordLength <= _segmentBytes))
        {
            _writer ??= OpenWriter(current.Path, current.WrittenLength);
            return false;
        }

        StartSegment(sequence);
        return current is not null;
    }

    private void StartSegment(ulong firstSequence)
    {
        if (_pending.Count > 0)
        {
            // The segment being sealed must hold its records durably before the next one starts: fsync it here (a
            // group commit running meanwhile on the same writer does no harm), so no pending record is left behind.
            var sealing = _segments[^1];
            try
            {
                (_writer ??= OpenWriter(sealing.Path, sealing.WrittenLength)).Flush(flushToDisk: true);
            }
            catch (Exception ex)
            {
                DropWriter();
                throw Failed(ex, firstSequence, restartRequired: true, EventTime.Now(_clock));
            }

            CommitPending(_lastSequence);
        }

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

        if (_writer is not null)
        {
            // A group commit may be fsyncing through it right now (outside _sync): closed once none can be.
            _retired.Add(_writer);
        }

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

    private void WriteRecord(Segment segment, ulong sequence, ReadOnlySpan<byte> record)
    {
        var writer = _writer!;
        try
        {
            writer.Write(record);
        }
        catch (Exception ex)
        {
            // A partial record must not stay in front of the next one. Cut it off; if even that fails, the
            // file's end is unknown and only recovery (at the next start) may decide what is in it.
            var cut = false;
            try
            {
                writer.SetLength(segment.WrittenLength);
                cut = true;
            }
            catch (Exception)
            {
                // Reported below as needing a restart.
            }

            // Reopened at the next append, so a directory that was replaced or remounted is looked up again.
            DropWriter();
            throw Failed(ex, sequence, restartRequired: !cut, EventTime.Now(_clock));
        }

        // With Fsync on, WaitDurable's group commit fsyncs it. (After a failed fsync the kernel may have dropped the
        // dirty pages and cleared the error, so a retry could "succeed" without the data on disk: only recovery can
        // say what is there, hence the restart a failed fsync requires.)
    }

    private void DropWriter()
    {
        try
        {
            _writer?.Dispose();
        }
        catch (Exception)
        {
            // Closing flushes nothing (unbuffered); a failure here changes nothing about what is on disk.
        }

        _writer = null;
    }

    /// <summary>Enters (or stays in) fault mode for this failure and returns the exception for the caller.</summary>
    private DecisionLogUnavailableException Failed(Exception ex, ulong sequence, bool restartRequired, long nowMicros)
    {
        var file = _segments.Count > 0 ? _segments[^1].FileName : RecordFormat.SegmentFileName(sequence);
        var previous = _fault;
        var fault = new Fault(
            OneLine(ex), file, sequence, previous?.SinceMicros ?? nowMicros, (previous?.Failures ?? 0) + 1,
            restartRequired || previous?.RestartRequired == true);
        _fault = fault;
        if (previous is null || fault.RestartRequired != previous.RestartRequired
            || nowMicros - _lastFailureLoggedMicros >= FailureLogIntervalMicros)
        {
            // Every tick retries a decision while the disk is full: log the first failure, then one a minute.
            _lastFailureLoggedMicros = nowMicros;
            if (fault.RestartRequired)
            {
                _logger.Faulted(ex, sequence, file);
            }
            else
            {
                _logger.AppendFailed(ex, sequence, file, fault.Failures);
            }
        }

        return new DecisionLogUnavailableException(fault.Describe(), ex);
    }

    private const long FailureLogIntervalMicros = 60 * EventTime.MicrosPerSecond;

    private static string OneLine(Exception ex) => ex.Message.ReplaceLineEndings(" ").TrimEnd('.');

    /// <summary>Why appends fail. Transient (a write failed and was cut off) or needing a restart (the file's state is unknown).</summary>
    private sealed record Fault(string Cause, string File, ulong Sequence, long SinceMicros, long Failures, bool RestartRequired)
    {
        public string Describe() => RestartRequired
            ? $"the decision log could not make sequence {Sequence} durable in {File} ({Cause}) and refuses appends until the daemon is restarted, because the file's state is unknown until recovery checks it"
            : $"the decision log cannot append ({Cause}; {Failures} failed attempts, last at sequence {Sequence} in {File}); it retries at every decision and recovers once an append succeeds";
    }
}

/// <summary>The decision log's state for health checks.</summary>
/// <param name="Healthy">Appends work (or none has failed since the last success).</param>
/// <param name="RestartRequired">Only a restart (and recovery) can clear the fault.</param>
/// <param name="Description">One sentence: what failed, where, and what happens next.</param>
/// <param name="FailedAppends">Appends that failed in the current fault.</param>
public sealed record DecisionLogHealth(bool Healthy, bool RestartRequired, string Description, long FailedAppends);

/// <summary>The decision log cannot be opened, or cannot make a record durable; the message is one line saying why.</summary>
public sealed class DecisionLogUnavailableException(string message, Exception? innerException) : IOException(message, innerException);
