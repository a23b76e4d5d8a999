using GateStream.Core.Time;
using Microsoft.Extensions.Logging;

namespace GateStream.Daemon.Decisions.Log;

public sealed partial class DecisionLog
{
    /// <summary>
    /// Deletes whole segments from the oldest end while the oldest is older than Retention or all segments
    /// together exceed MaxTotalBytes. Runs after each rotation, under the lock; never deletes the segment
    /// being appended to, and never a newer segment while an older one stays, so the log has no holes.
    /// </summary>
    /// <remarks>
    /// A segment's age is that of its newest record (the append time stored in the record), so it goes only
    /// when everything in it is older than Retention. A segment with no good record (damaged at its first
    /// record) is aged by its file's last write time.
    /// </remarks>
    private void ApplyRetention(long nowMicros)
    {
        var cutoffMicros = nowMicros - EventTime.FromTimeSpan(_retention);
        long totalBytes = 0;
        foreach (var segment in _segments)
        {
            totalBytes += segment.FileLength;
        }

        while (_segments.Count > 1)
        {
            var oldest = _segments[0];
            string reason;
            if (totalBytes > _maxTotalBytes)
            {
                reason = $"the log takes {totalBytes} bytes, more than MaxTotalBytes ({_maxTotalBytes})";
            }
            else if (NewestMicros(oldest) < cutoffMicros)
            {
                reason = $"its newest record is older than Retention ({_retention})";
            }
            else
            {
                return;
            }

            try
            {
                File.Delete(oldest.Path);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                _logger.SegmentDeleteFailed(ex, oldest.FileName);
                return;
            }

            _segments.RemoveAt(0);
            totalBytes -= oldest.FileLength;
            _logger.SegmentDeleted(oldest.FileName, oldest.FileLength, oldest.FirstSequence, oldest.LastSequence, reason);
        }
    }

    private static long NewestMicros(Segment segment) =>
        segment.Records > 0
            ? segment.NewestTimestampMicros
            : EventTime.FromDateTimeOffset(new DateTimeOffset(File.GetLastWriteTimeUtc(segment.Path), TimeSpan.Zero));
}
