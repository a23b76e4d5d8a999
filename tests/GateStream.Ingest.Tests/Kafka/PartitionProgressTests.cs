using System.Text;
using GateStream.Core.Time;
using GateStream.Ingest.Kafka;

namespace GateStream.Ingest.Tests.Kafka;

public class PartitionProgressTests
{
    private const long Second = EventTime.MicrosPerSecond;
    private const long T0 = 1_800_000_000L * Second;

    [Fact]
    public void Commits_the_oldest_message_still_inside_the_window_then_the_position_once_everything_aged_out()
    {
        var progress = new PartitionProgress();
        progress.Assign(startOffset: 10, highWatermark: 10);
        Assert.Equal(10, progress.CommitOffset(T0)); // Nothing consumed yet: where it started.

        for (var i = 0; i < 30; i++)
        {
            progress.Consumed(10 + i, T0 + (i * Second), applied: true); // one message per second of event time
        }

        Assert.Equal(10, progress.CommitOffset(T0));                 // every message still live
        Assert.Equal(15, progress.CommitOffset(T0 + (5 * Second)));  // messages 10..14 aged out
        Assert.Equal(29, progress.CommitOffset(T0 + (19 * Second)));
        Assert.Equal(40, progress.CommitOffset(T0 + (60 * Second))); // all aged out: the position
        Assert.Equal(0, progress.HeldRuns);
    }

    [Fact]
    public void A_late_message_does_not_hold_the_commit_back_and_an_early_live_one_does()
    {
        var progress = new PartitionProgress();
        progress.Assign(0, 0);
        progress.Consumed(0, T0 + (50 * Second), applied: true); // new events
        progress.Consumed(1, T0, applied: true);                  // an old straggler after them
        progress.Consumed(2, long.MinValue, applied: true);       // undecodable: no events at all
        progress.Consumed(3, T0 + (51 * Second), applied: true);

        // The run starting at offset 0 is live as long as its newest event is.
        Assert.Equal(0, progress.CommitOffset(T0 + (10 * Second)));
        Assert.Equal(4, progress.CommitOffset(T0 + (52 * Second)));
    }

    [Fact]
    public void Groups_messages_so_memory_does_not_grow_with_the_message_rate()
    {
        var progress = new PartitionProgress(resolutionMicros: Second);
        for (var i = 0; i < 100_000; i++)
        {
            progress.Consumed(i, T0 + (i * 100L), applied: true); // 10 messages per ms of event time, 10 s in all
        }

        Assert.InRange(progress.HeldRuns, 9, 11);
        Assert.True(progress.CommitOffset(T0 + (5 * Second)) <= 50_000); // never past a live message
        Assert.True(progress.CommitOffset(T0 + (5 * Second)) >= 40_000);
    }

    [Fact]
    public void Catches_up_when_the_position_reaches_the_high_watermark_seen_at_assignment()
    {
        var progress = new PartitionProgress();
        progress.Assign(startOffset: 5, highWatermark: 8);
        Assert.False(progress.CaughtUp);
        Assert.False(progress.Consumed(5, T0, applied: true));
        Assert.False(progress.Consumed(6, T0, applied: true));
        Assert.True(progress.Consumed(7, T0, applied: true));
        Assert.True(progress.CaughtUp);
        Assert.False(progress.Consumed(8, T0, applied: true)); // only once

        progress.Assign(startOffset: 8, highWatermark: 8);
        Assert.True(progress.CaughtUp); // nothing to re-read

        progress.Assign(startOffset: 2, highWatermark: 9);
        Assert.False(progress.PositionAt(5));
        Assert.True(progress.PositionAt(9)); // the fetch position passed the end without a message (transaction markers)

        progress.Assign(startOffset: -1, highWatermark: -1);
        Assert.True(progress.CaughtUp); // unknown end: decide at once rather than never
    }

    [Fact]
    public void Does_not_apply_again_what_it_applied_before_the_partition_went_away_and_came_back()
    {
        var progress = new PartitionProgress();
        progress.Assign(0, 0);
        for (var i = 0; i < 6; i++)
        {
            Assert.True(progress.ShouldApply(i));
            progress.Consumed(i, T0, applied: true);
        }

        progress.Unassign();
        progress.Assign(startOffset: 2, highWatermark: 9); // another daemon committed 2 and read on to 9
        Assert.False(progress.CaughtUp);
        Assert.False(progress.ShouldApply(2));
        Assert.False(progress.ShouldApply(5));
        Assert.True(progress.ShouldApply(6));
        progress.Consumed(2, T0, applied: false);
        Assert.Equal(2, progress.CommitOffset(T0)); // a skipped message still holds the commit: it is in the window
        Assert.Equal(6, progress.AppliedUpTo);
    }

    [Fact]
    public void Knows_each_deployment_once_and_allocates_its_name_only_the_first_time()
    {
        var progress = new PartitionProgress();
        Assert.True(progress.AddDeployment("café"u8, out var first));
        Assert.False(progress.AddDeployment(Encoding.UTF8.GetBytes("café"), out var again));
        Assert.Same(first, again);
        Assert.True(progress.AddDeployment("api"u8, out _));
        Assert.Equal(["api", "café"], progress.Deployments.Order(StringComparer.Ordinal));

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            progress.AddDeployment("api"u8, out _);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }
}
