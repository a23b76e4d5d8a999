using GateStream.Daemon.Decisions.Log;

namespace GateStream.Daemon.Tests.DecisionLog;

using DecisionLog = GateStream.Daemon.Decisions.Log.DecisionLog;

/// <summary>
/// Recovery under random damage (bit flips, garbage between records, truncation), checked against what was written:
/// no intact record is lost, nothing that was not written comes back, and no sequence that was written can be given out
/// again. <see cref="SegmentScan.Of"/> is the same entry point the fuzz harness drives.
/// </summary>
public sealed class RecoveryPropertyTests
{
    private const int Cases = 400;

    [Fact]
    public void Bit_flips_lose_only_the_flipped_records_and_never_free_a_written_sequence()
    {
        for (var seed = 0; seed < Cases; seed++)
        {
            var random = new Random(seed);
            var segment = NewSegment(random);
            var damaged = new HashSet<int>();
            for (var flips = random.Next(1, 4); flips > 0; flips--)
            {
                var i = random.Next(segment.Records.Count);
                var record = segment.Records[i];
                segment.Bytes[record.Offset + random.Next(record.Length)] ^= (byte)(1 << random.Next(8));
                damaged.Add(i);
            }

            Check(segment, damaged, seed, "flips");
        }
    }

    [Fact]
    public void Garbage_between_records_loses_nothing()
    {
        for (var seed = 0; seed < Cases; seed++)
        {
            var random = new Random(seed);
            var segment = NewSegment(random);
            for (var inserts = random.Next(1, 4); inserts > 0; inserts--)
            {
                segment.Insert(random.Next(segment.Records.Count + 1), Garbage(random, random.Next(1, 600)));
            }

            Check(segment, [], seed, "garbage");
        }
    }

    [Fact]
    public void Truncation_loses_only_the_records_it_cut()
    {
        for (var seed = 0; seed < Cases; seed++)
        {
            var random = new Random(seed);
            var segment = NewSegment(random);
            var length = random.Next(segment.Bytes.Count + 1);
            segment.Bytes.RemoveRange(length, segment.Bytes.Count - length);
            var cut = segment.Records.Select((r, i) => (r, i)).Where(x => x.r.Offset + x.r.Length > length).Select(x => x.i).ToHashSet();

            Check(segment, cut, seed, "truncation", everyWrittenSequenceTaken: false);
        }
    }

    [Fact]
    public void All_three_at_once_through_a_real_directory_keep_every_intact_record_across_two_restarts()
    {
        for (var seed = 0; seed < 40; seed++)
        {
            var random = new Random(seed);
            var segment = NewSegment(random);
            var damaged = new HashSet<int>();
            var i = random.Next(segment.Records.Count);
            segment.Bytes[segment.Records[i].Offset + random.Next(segment.Records[i].Length)] ^= 0x10;
            damaged.Add(i);
            segment.Insert(random.Next(segment.Records.Count + 1), Garbage(random, random.Next(1, 300)));
            var tail = random.Next(0, 40);
            segment.Bytes.AddRange(Garbage(random, tail));

            var directory = Directory.CreateTempSubdirectory("gatestream-recovery-").FullName;
            try
            {
                File.WriteAllBytes(Path.Combine(directory, RecordFormat.SegmentFileName(segment.Records[0].Sequence)), [.. segment.Bytes]);
                var options = new DecisionLogOptions { Directory = directory, Fsync = false };
                var expected = Enumerable.Range(0, segment.Records.Count).Where(r => !damaged.Contains(r)).Select(r => segment.Records[r].Sequence).ToList();
                ulong next;
                using (var log = DecisionLog.Open(options, new ListLogger(), TimeProvider.System))
                {
                    Assert.Equal(expected, log.ReadFrom(0).Select(r => r.Sequence));
                    Assert.True(log.LastSequence >= segment.Records[^1].Sequence, $"seed {seed}: a written sequence could be reused");
                    next = log.LastSequence + 1;
                    log.Append(next, [42]);
                }

                using (var log = DecisionLog.Open(options, new ListLogger(), TimeProvider.System))
                {
                    Assert.Equal([.. expected, next], log.ReadFrom(0).Select(r => r.Sequence));
                    Assert.Equal(next, log.LastSequence);
                }
            }
            finally
            {
                Directory.Delete(directory, recursive: true);
            }
        }
    }

    private static void Check(Segment segment, HashSet<int> lost, int seed, string what, bool everyWrittenSequenceTaken = true)
    {
        var bytes = segment.Bytes.ToArray();
        var scan = SegmentScan.Of(bytes, previousSequence: segment.Records[0].Sequence - 1); // what the segment's name says
        var context = $"{what}, seed {seed}";

        // Nothing invented: every record returned is one that was written, byte for byte, where it now lies.
        var byOffset = segment.Records.ToDictionary(r => (long)r.Offset);
        foreach (var record in scan.Records)
        {
            Assert.True(byOffset.TryGetValue(record.Offset, out var written), $"{context}: a record at {record.Offset} was never written there");
            Assert.Equal((written.Sequence, written.Length), (record.Sequence, record.Length));
        }

        // Nothing intact lost.
        var expected = segment.Records.Where((_, i) => !lost.Contains(i)).Select(r => r.Sequence);
        Assert.True(expected.SequenceEqual(scan.Records.Select(r => r.Sequence)), $"{context}: recovered {string.Join(",", scan.Records.Select(r => r.Sequence))}");

        // Records, skipped runs and the tail cover the file exactly, in order.
        var covered = scan.Records.Select(r => (r.Offset, (long)r.Length)).Concat(scan.Skipped.Select(s => (s.Offset, s.Length)));
        if (scan.Tail is { } tail)
        {
            covered = covered.Append((tail.Offset, tail.Length));
        }

        long position = 0;
        foreach (var (offset, length) in covered.OrderBy(c => c.Item1))
        {
            Assert.True(offset == position, $"{context}: coverage jumps from {position} to {offset}");
            position += length;
        }

        Assert.Equal(bytes.Length, position);

        // No sequence that was written (and may have been published) is free for reuse.
        var taken = scan.TakenUpTo;
        var mustBeTaken = everyWrittenSequenceTaken
            ? segment.Records[^1].Sequence
            : segment.Records.Where((_, i) => !lost.Contains(i)).Select(r => r.Sequence).DefaultIfEmpty(0UL).Max();
        Assert.True(taken >= mustBeTaken, $"{context}: sequences up to {taken} taken, {mustBeTaken} was written");
    }

    private static Segment NewSegment(Random random)
    {
        var segment = new Segment();
        var count = random.Next(1, 40);
        ulong sequence = (ulong)random.Next(0, 1000);
        for (var i = 0; i < count; i++)
        {
            sequence += 1;
            var payload = Garbage(random, random.Next(0, 300));
            var record = new byte[RecordFormat.HeaderLength + payload.Length];
            RecordFormat.Write(record, sequence, 1_700_000_000_000_000 + i, payload);
            segment.Records.Add(new Written(segment.Bytes.Count, record.Length, sequence));
            segment.Bytes.AddRange(record);
        }

        return segment;
    }

    private static byte[] Garbage(Random random, int length)
    {
        var bytes = new byte[length];
        random.NextBytes(bytes);
        return bytes;
    }

    private sealed record Written(int Offset, int Length, ulong Sequence);

    private sealed class Segment
    {
        public List<byte> Bytes { get; } = [];

        public List<Written> Records { get; } = [];

        /// <summary>Inserts bytes before record <paramref name="index"/> (or at the end), moving the records after it.</summary>
        public void Insert(int index, byte[] garbage)
        {
            var at = index < Records.Count ? Records[index].Offset : Bytes.Count;
            Bytes.InsertRange(at, garbage);
            for (var i = index; i < Records.Count; i++)
            {
                Records[i] = Records[i] with { Offset = Records[i].Offset + garbage.Length };
            }
        }
    }
}
