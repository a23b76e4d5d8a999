using System.Buffers.Binary;
using Microsoft.Extensions.Logging;

namespace GateStream.Daemon.Tests.DecisionLog;

// Inside GateStream.Daemon.*, the bare name DecisionLog means the namespace; this alias means the type.
using DecisionLog = GateStream.Daemon.Decisions.Log.DecisionLog;
using GateStream.Daemon.Decisions.Log;

/// <summary>The decision log against real files in a temporary directory.</summary>
public sealed class DecisionLogTests : IDisposable
{
    private const int PayloadSize = 200;
    private const int RecordLength = RecordFormat.HeaderLength + PayloadSize;
    private const long SmallSegmentBytes = 4096;
    private const int RecordsPerSmallSegment = (int)(SmallSegmentBytes / RecordLength); // 18

    private static readonly DateTimeOffset T0 = new(2025, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "gatestream-decisionlog-" + Guid.NewGuid().ToString("N"));
    private readonly ListLogger _logger = new();
    private readonly ManualClock _clock = new(T0);

    public void Dispose()
    {
        if (Directory.Exists(_directory))
        {
            Directory.Delete(_directory, recursive: true);
        }
    }

    // ---- opening, appending, reading ----

    [Fact]
    public void Opening_a_missing_directory_creates_it_and_starts_empty()
    {
        using var log = OpenLog();

        Assert.True(Directory.Exists(_directory));
        Assert.Equal(0UL, log.LastSequence);
        Assert.Equal(0UL, log.FirstSequence);
        Assert.Empty(log.ReadFrom(0));
        AssertReport(log.RecoveryReport, 0, 0, 0, null, 0);
        Assert.Empty(SegmentFiles());
    }

    [Fact]
    public void Append_then_reopen_continues_the_sequence()
    {
        using (var log = OpenLog())
        {
            AppendRange(log, 1, 10);
            Assert.Equal(10UL, log.LastSequence);
        }

        using (var log = OpenLog())
        {
            Assert.Equal(10UL, log.LastSequence);
            Assert.Equal(1UL, log.FirstSequence);
            AssertReport(log.RecoveryReport, 1, 10, 0, null, 0);
            Assert.Throws<ArgumentException>(() => log.Append(10, Payload(10)));

            AppendRange(log, 11, 12);
        }

        using (var log = OpenLog())
        {
            Assert.Equal(12UL, log.LastSequence);
            AssertRecords(1, 12, log.ReadFrom(0));
        }
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(1UL)]
    [InlineData(7UL)]
    [InlineData(19UL)]
    [InlineData(20UL)]
    [InlineData(25UL)]
    public void ReadFrom_returns_exactly_the_records_after_the_given_sequence(ulong after)
    {
        using var log = OpenLog();
        AppendRange(log, 1, 20);

        var records = log.ReadFrom(after).ToList();

        AssertRecords(Math.Min(after + 1, 21), 20, records);
        foreach (var record in records)
        {
            // AppendRange moves the clock one second after each append.
            Assert.Equal(Micros(T0.AddSeconds(record.Sequence - 1)), record.TimestampMicros);
        }
    }

    [Fact]
    public void ReadFrom_follows_gaps_in_the_sequence()
    {
        using var log = OpenLog();
        foreach (var sequence in new ulong[] { 2, 5, 9, 1000 })
        {
            log.Append(sequence, Payload(sequence));
        }

        Assert.Equal([5UL, 9UL, 1000UL], log.ReadFrom(3).Select(r => r.Sequence));
        Assert.Equal([9UL, 1000UL], log.ReadFrom(5).Select(r => r.Sequence));
        Assert.Equal(2UL, log.FirstSequence);
    }

    [Fact]
    public void ReadFrom_returns_what_was_committed_when_it_was_called()
    {
        using var log = OpenLog();
        AppendRange(log, 1, 3);

        var early = log.ReadFrom(0);
        AppendRange(log, 4, 6);

        AssertRecords(1, 3, early);
        AssertRecords(1, 6, log.ReadFrom(0));
    }

    [Theory]
    [InlineData(0UL)]
    [InlineData(4UL)]
    [InlineData(5UL)]
    public void Append_refuses_a_sequence_not_greater_than_the_last(ulong sequence)
    {
        using var log = OpenLog();
        AppendRange(log, 1, 5);

        var ex = Assert.Throws<ArgumentException>(() => log.Append(sequence, Payload(sequence)));

        Assert.Equal("sequence", ex.ParamName);
        Assert.Equal(5UL, log.LastSequence);
        AssertRecords(1, 5, log.ReadFrom(0));
    }

    [Fact]
    public void Append_refuses_sequence_zero_on_an_empty_log()
    {
        using var log = OpenLog();

        Assert.Throws<ArgumentException>(() => log.Append(0, Payload(0)));
        Assert.Empty(SegmentFiles());
    }

    [Fact]
    public void Append_refuses_a_payload_over_16_MiB()
    {
        using var log = OpenLog();

        var ex = Assert.Throws<ArgumentException>(() => log.Append(1, new byte[RecordFormat.MaxPayloadLength + 1]));

        Assert.Equal("payload", ex.ParamName);
        Assert.Equal(0UL, log.LastSequence);
    }

    [Fact]
    public void An_empty_payload_round_trips()
    {
        using (var log = OpenLog())
        {
            log.Append(1, []);
        }

        using (var log = OpenLog())
        {
            var record = Assert.Single(log.ReadFrom(0));
            Assert.Equal(1UL, record.Sequence);
            Assert.True(record.Payload.IsEmpty);
        }
    }

    [Fact]
    public void The_file_on_disk_matches_the_documented_format()
    {
        using (var log = OpenLog())
        {
            log.Append(42, "promote"u8);
        }

        // The example in README.md: length 7, CRC-32 0xd1470c9d, sequence 42, 2025-01-01T00:00:00Z, "promote".
        var file = Assert.Single(SegmentFiles());
        Assert.Equal("decisions-00000000000000000042.log", Path.GetFileName(file));
        Assert.Equal(Convert.FromHexString("070000009d0c47d12a0000000000000000600cba992a060070726f6d6f7465"), File.ReadAllBytes(file));
    }

    [Theory]
    [InlineData("decisions-00000000000000000001.log", true, 1UL)]
    [InlineData("decisions-18446744073709551615.log", true, ulong.MaxValue)]
    [InlineData("decisions-18446744073709551616.log", false, 0UL)]
    [InlineData("decisions-1.log", false, 0UL)]
    [InlineData("decisions-0000000000000000000x.log", false, 0UL)]
    [InlineData("decisions-00000000000000000001.log.bak", false, 0UL)]
    public void Segment_file_names_carry_the_first_sequence_in_20_digits(string name, bool valid, ulong sequence)
    {
        Assert.Equal(valid, RecordFormat.TryParseSegmentFileName(name, out var parsed));
        Assert.Equal(sequence, parsed);
        if (valid)
        {
            Assert.Equal(name, RecordFormat.SegmentFileName(sequence));
        }
    }

    // ---- recovery ----

    [Theory]
    [InlineData(1, "partial record header")]
    [InlineData(4, "partial record header")]
    [InlineData(8, "partial record header")]
    [InlineData(23, "partial record header")]
    [InlineData(24, "partial record payload")]
    [InlineData(25, "partial record payload")]
    [InlineData(RecordLength - 1, "partial record payload")]
    public void A_torn_last_record_is_truncated_and_the_log_stays_appendable(int bytesOfLastRecordOnDisk, string reason)
    {
        using (var log = OpenLog())
        {
            AppendRange(log, 1, 5);
        }

        var file = Assert.Single(SegmentFiles());
        const long endOfRecord4 = 4L * RecordLength;
        SetLength(file, endOfRecord4 + bytesOfLastRecordOnDisk);

        // The torn bytes may have held records (at most one per 24 bytes): their sequences are never given out again.
        var reserved = (ulong)(bytesOfLastRecordOnDisk / RecordFormat.HeaderLength);
        using (var log = OpenLog())
        {
            Assert.Equal(4UL + reserved, log.LastSequence);
            AssertReport(log.RecoveryReport, 1, 4, bytesOfLastRecordOnDisk, file, 0);
            Assert.Equal(reserved, log.RecoveryReport.ReservedSequences);
            Assert.Equal(endOfRecord4, new FileInfo(file).Length);
            AssertTailTruncatedLogged(file, endOfRecord4, bytesOfLastRecordOnDisk, reason);

            log.Append(5 + reserved, Payload(5 + reserved));
        }

        using (var log = OpenLog())
        {
            AssertReport(log.RecoveryReport, 1, 5, 0, null, 0);
            Assert.Equal([.. Range(1, 4), 5 + reserved], log.ReadFrom(0).Select(r => r.Sequence));
        }
    }

    [Theory]
    [InlineData(1)]
    [InlineData(23)]
    [InlineData(24)]
    [InlineData(100)]
    [InlineData(5000)]
    public void Garbage_after_the_last_record_is_truncated(int garbageBytes)
    {
        using (var log = OpenLog())
        {
            AppendRange(log, 1, 5);
        }

        var file = Assert.Single(SegmentFiles());
        var garbage = new byte[garbageBytes];
        new Random(garbageBytes).NextBytes(garbage);
        AppendBytes(file, garbage);

        var next = 6UL + (ulong)(garbageBytes / RecordFormat.HeaderLength);
        using (var log = OpenLog())
        {
            Assert.Equal(next - 1, log.LastSequence);
            AssertReport(log.RecoveryReport, 1, 5, garbageBytes, file, 0);
            Assert.Equal(5L * RecordLength, new FileInfo(file).Length);
            log.Append(next, Payload(next));
        }

        using (var log = OpenLog())
        {
            Assert.Equal(0, log.RecoveryReport.TruncatedBytes);
            Assert.Equal([.. Range(1, 5), next], log.ReadFrom(0).Select(r => r.Sequence));
        }
    }

    [Fact]
    public void A_zero_filled_tail_is_truncated()
    {
        // What a file system can leave when it extended the file but the data never reached the disk.
        using (var log = OpenLog())
        {
            AppendRange(log, 1, 3);
        }

        var file = Assert.Single(SegmentFiles());
        AppendBytes(file, new byte[4096]);

        using var reopened = OpenLog();
        Assert.Equal(3UL + (4096 / RecordFormat.HeaderLength), reopened.LastSequence);
        Assert.Equal(4096, reopened.RecoveryReport.TruncatedBytes);
        AssertTailTruncatedLogged(file, 3L * RecordLength, 4096, "checksum mismatch");
    }

    [Fact]
    public void A_flipped_byte_in_the_last_records_payload_is_caught_by_the_checksum()
    {
        using (var log = OpenLog())
        {
            AppendRange(log, 1, 5);
        }

        var file = Assert.Single(SegmentFiles());
        const long endOfRecord4 = 4L * RecordLength;
        FlipByte(file, endOfRecord4 + RecordFormat.HeaderLength + 100);

        // Record 5 was whole and may have been published: its sequence (and any the bytes could hold) stays taken.
        const ulong next = 5 + (RecordLength / RecordFormat.HeaderLength);
        using (var log = OpenLog())
        {
            Assert.Equal(next - 1, log.LastSequence);
            AssertReport(log.RecoveryReport, 1, 4, RecordLength, file, 0);
            AssertTailTruncatedLogged(file, endOfRecord4, RecordLength, "checksum mismatch");
            AssertRecords(1, 4, log.ReadFrom(0));
            log.Append(next, Payload(next));
        }

        using (var again = OpenLog())
        {
            Assert.Equal([.. Range(1, 4), next], again.ReadFrom(0).Select(r => r.Sequence));
        }
    }

    [Theory]
    [InlineData(0)] // length
    [InlineData(4)] // checksum
    [InlineData(8)] // sequence
    [InlineData(16)] // append time
    [InlineData(RecordLength - 1)] // last payload byte
    public void A_flipped_byte_anywhere_in_the_last_record_is_detected(int offsetInRecord)
    {
        using (var log = OpenLog())
        {
            AppendRange(log, 1, 5);
        }

        var file = Assert.Single(SegmentFiles());
        FlipByte(file, (4L * RecordLength) + offsetInRecord);

        using var reopened = OpenLog();
        Assert.Equal(4UL + (RecordLength / RecordFormat.HeaderLength), reopened.LastSequence);
        Assert.True(reopened.LastSequence >= 5, "sequence 5 was published and must not be given out again");
        AssertReport(reopened.RecoveryReport, 1, 4, RecordLength, file, 0);
    }

    [Fact]
    public void A_damaged_record_in_the_last_segment_is_stepped_over_and_the_records_after_it_are_kept()
    {
        using (var log = OpenLog())
        {
            AppendRange(log, 1, 25);
        }

        var file = Assert.Single(SegmentFiles());
        var length = new FileInfo(file).Length;
        const long record5 = 4L * RecordLength;
        LogFiles.FlipBit(file, record5 + RecordFormat.HeaderLength + 77, bit: 3);

        using (var log = OpenLog())
        {
            Assert.Equal(25UL, log.LastSequence);
            Assert.Equal([.. Range(1, 4), .. Range(6, 25)], log.ReadFrom(0).Select(r => r.Sequence));
            AssertReport(log.RecoveryReport, 1, 24, 0, null, 0);
            Assert.Equal(0UL, log.RecoveryReport.ReservedSequences);
            var skip = Assert.Single(log.RecoveryReport.Skipped);
            Assert.Equal(new RecoverySkip(file, record5, RecordLength, "checksum mismatch", 4, 6, Truncated: false), skip);
            var error = _logger.Single(3012);
            Assert.Equal(LogLevel.Error, error.Level);
            Assert.Equal(file, error.Values["File"]);
            Assert.Equal(record5, error.Values["Offset"]);
            Assert.Equal((long)RecordLength, error.Values["Length"]);
            Assert.Equal(4UL, error.Values["SequenceBefore"]);
            Assert.Equal(6UL, error.Values["SequenceAfter"]);
            Assert.Equal(length, new FileInfo(file).Length); // nothing cut: the damaged bytes stay for inspection

            log.Append(26, Payload(26));
            Assert.Equal([.. Range(20, 26)], log.ReadFrom(19).Select(r => r.Sequence));
            Assert.Equal([.. Range(6, 26)], log.ReadFrom(4).Select(r => r.Sequence));
        }

        using (var again = OpenLog())
        {
            Assert.Equal(26UL, again.LastSequence);
            Assert.Equal([.. Range(1, 4), .. Range(6, 26)], again.ReadFrom(0).Select(r => r.Sequence));
            Assert.Single(again.RecoveryReport.Skipped);
        }
    }

    [Fact]
    public void Garbage_between_records_is_stepped_over()
    {
        using (var log = OpenLog())
        {
            AppendRange(log, 1, 10);
        }

        var file = Assert.Single(SegmentFiles());
        var bytes = File.ReadAllBytes(file);
        var garbage = new byte[777];
        new Random(7).NextBytes(garbage);
        File.WriteAllBytes(file, [.. bytes.AsSpan(0, 3 * RecordLength), .. garbage, .. bytes.AsSpan(3 * RecordLength)]);

        using var reopened = OpenLog();
        AssertRecords(1, 10, reopened.ReadFrom(0));
        var skip = Assert.Single(reopened.RecoveryReport.Skipped);
        Assert.Equal((3L * RecordLength, 777L, 3UL, 4UL), (skip.Offset, skip.Length, skip.SequenceBefore, skip.SequenceAfter));
    }

    [Fact]
    public void A_checksummed_record_the_validator_rejects_is_skipped_and_its_sequence_stays_taken()
    {
        using (var log = OpenLog())
        {
            AppendRange(log, 1, 5);
        }

        static string? OnlyEven(ulong sequence, ReadOnlySpan<byte> payload) => sequence % 2 == 0 ? null : $"odd {sequence}";
        var file = Assert.Single(SegmentFiles());
        using var reopened = DecisionLog.Open(DefaultOptions(), _logger, _clock, OnlyEven);
        Assert.Equal([2UL, 4UL], reopened.ReadFrom(0).Select(r => r.Sequence));
        Assert.Equal(5UL, reopened.LastSequence);
        Assert.Equal([0L, 2L * RecordLength, 4L * RecordLength], reopened.RecoveryReport.Skipped.Select(s => s.Offset));
        Assert.Equal("record 5 is not a valid payload: odd 5", reopened.RecoveryReport.Skipped[^1].Reason);
        Assert.Equal(5L * RecordLength, new FileInfo(file).Length);
        Assert.Throws<ArgumentException>(() => reopened.Append(5, Payload(5)));
    }

    [Fact]
    public void A_record_whose_sequence_does_not_increase_is_truncated()
    {
        using (var log = OpenLog())
        {
            AppendRange(log, 1, 5);
        }

        var file = Assert.Single(SegmentFiles());
        var stale = new byte[RecordLength];
        RecordFormat.Write(stale, 3, Micros(T0), Payload(3)); // a well-formed record, checksum and all
        AppendBytes(file, stale);

        using var reopened = OpenLog();
        Assert.Equal(5UL + (RecordLength / RecordFormat.HeaderLength), reopened.LastSequence);
        AssertReport(reopened.RecoveryReport, 1, 5, RecordLength, file, 0);
        AssertTailTruncatedLogged(file, 5L * RecordLength, RecordLength, "sequence 3 does not follow 5");
    }

    [Fact]
    public void A_length_beyond_the_cap_is_reported_as_corrupt_not_allocated()
    {
        using (var log = OpenLog())
        {
            AppendRange(log, 1, 2);
        }

        var file = Assert.Single(SegmentFiles());
        var header = new byte[RecordFormat.HeaderLength];
        BinaryPrimitives.WriteUInt32LittleEndian(header, uint.MaxValue);
        AppendBytes(file, header);

        using var reopened = OpenLog();
        Assert.Equal(3UL, reopened.LastSequence); // the 24 bytes could have been one record
        AssertTailTruncatedLogged(file, 2L * RecordLength, RecordFormat.HeaderLength, "payload length beyond 16777216 bytes");
    }

    [Fact]
    public void A_corrupt_record_in_an_earlier_segment_is_stepped_over_and_the_rest_is_kept()
    {
        using (var log = OpenLog(SmallSegments()))
        {
            AppendRange(log, 1, 50); // segments 1..18, 19..36, 37..50
        }

        var files = SegmentFiles();
        Assert.Equal(3, files.Length);
        var sealedLength = new FileInfo(files[0]).Length;
        const long endOfRecord4 = 4L * RecordLength;
        FlipByte(files[0], endOfRecord4 + 30);

        using (var log = OpenLog(SmallSegments()))
        {
            AssertReport(log.RecoveryReport, 3, 49, 0, null, 0);
            var error = _logger.Single(3012);
            Assert.Equal(files[0], error.Values["File"]);
            Assert.Equal(endOfRecord4, error.Values["Offset"]);
            Assert.Equal(sealedLength, new FileInfo(files[0]).Length); // left for inspection
            Assert.Equal([.. Range(1, 4), .. Range(6, 50)], log.ReadFrom(0).Select(r => r.Sequence));
            Assert.Equal(50UL, log.LastSequence);
            log.Append(51, Payload(51));
        }

        using (var log = OpenLog(SmallSegments()))
        {
            Assert.Equal(51UL, log.LastSequence);
        }
    }

    [Fact]
    public void A_corrupt_tail_of_an_earlier_segment_is_reported_with_the_sequences_around_it()
    {
        using (var log = OpenLog(SmallSegments()))
        {
            AppendRange(log, 1, 50);
        }

        var files = SegmentFiles();
        var sealedLength = new FileInfo(files[0]).Length;
        const long record18 = 17L * RecordLength;
        FlipByte(files[0], record18 + 30);

        using var reopened = OpenLog(SmallSegments());
        AssertReport(reopened.RecoveryReport, 3, 49, 0, null, 1);
        var error = _logger.Single(3003);
        Assert.Equal(LogLevel.Error, error.Level);
        Assert.Equal(files[0], error.Values["File"]);
        Assert.Equal(record18, error.Values["Offset"]);
        Assert.Equal(sealedLength - record18, error.Values["IgnoredBytes"]);
        var skip = Assert.Single(reopened.RecoveryReport.Skipped);
        Assert.Equal((17UL, 19UL, false), (skip.SequenceBefore, skip.SequenceAfter, skip.Truncated));
        Assert.Equal([.. Range(1, 17), .. Range(19, 50)], reopened.ReadFrom(0).Select(r => r.Sequence));
    }

    [Fact]
    public void Appends_never_go_into_a_damaged_segment()
    {
        using (var log = OpenLog(SmallSegments()))
        {
            AppendRange(log, 1, 20); // segments 1..18, 19..20
        }

        var files = SegmentFiles();
        FlipByte(files[0], (17L * RecordLength) + 40); // record 18: a damaged tail of a sealed segment
        SetLength(files[1], 100); // record 19 torn, 20 gone

        // Reserved: record 18's bytes could hold 9 records after 17, the torn 100 bytes 4 after 17.
        const ulong next = 17 + (RecordLength / RecordFormat.HeaderLength) + 1;
        using (var log = OpenLog(SmallSegments()))
        {
            // The torn last segment is emptied and deleted; the damaged one is last now, but keeps its bytes.
            AssertReport(log.RecoveryReport, 1, 17, 100, files[1], 1);
            Assert.False(File.Exists(files[1]));
            Assert.Equal(next - 1, log.LastSequence);

            log.Append(next, Payload(next));
        }

        var after = SegmentFiles();
        Assert.Equal([files[0], SegmentPath(next)], after);
        using (var log = OpenLog(SmallSegments()))
        {
            AssertReport(log.RecoveryReport, 2, 18, 0, null, 1);
            Assert.Equal([.. Range(1, 17), next], log.ReadFrom(0).Select(r => r.Sequence));
        }
    }

    [Fact]
    public void A_kept_segment_with_no_good_record_keeps_its_name_taken()
    {
        using (var log = OpenLog(SmallSegments()))
        {
            AppendRange(log, 1, 18);
        }

        // Segment 19 holds only garbage, and segment 20 was started but is empty (a crash right after): 20 goes,
        // 19 stays for inspection, and the next segment must not be named 19.
        File.WriteAllBytes(SegmentPath(19), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
        File.WriteAllBytes(SegmentPath(20), []);

        using var reopened = OpenLog(SmallSegments());
        Assert.Equal(19UL, reopened.LastSequence);
        reopened.Append(20, Payload(20));
        Assert.Equal([SegmentPath(1), SegmentPath(19), SegmentPath(20)], SegmentFiles());
        Assert.Equal([.. Range(1, 18), 20], reopened.ReadFrom(0).Select(r => r.Sequence));
    }

    [Fact]
    public void An_empty_last_segment_left_by_a_crash_is_deleted()
    {
        using (var log = OpenLog())
        {
            AppendRange(log, 1, 3);
        }

        File.WriteAllBytes(SegmentPath(4), []);

        using (var log = OpenLog())
        {
            Assert.False(File.Exists(SegmentPath(4)));
            Assert.True(_logger.Has(3004));
            AssertReport(log.RecoveryReport, 1, 3, 0, null, 0);
            AppendRange(log, 4, 5);
        }

        Assert.Equal([SegmentPath(1)], SegmentFiles());
    }

    [Fact]
    public void Other_files_in_the_directory_are_ignored()
    {
        Directory.CreateDirectory(_directory);
        File.WriteAllText(Path.Combine(_directory, "decisions-12.log"), "not a segment");
        File.WriteAllText(Path.Combine(_directory, "gates.json"), "{}");

        using var log = OpenLog();
        log.Append(1, Payload(1));

        Assert.Equal("decisions-12.log", _logger.Single(3005).Values["File"]);
        Assert.True(File.Exists(Path.Combine(_directory, "decisions-12.log")));
        AssertRecords(1, 1, log.ReadFrom(0));
    }

    // ---- rotation and retention ----

    [Fact]
    public void Rotation_starts_segments_named_by_their_first_sequence_and_ReadFrom_spans_them()
    {
        using (var log = OpenLog(SmallSegments()))
        {
            AppendRange(log, 1, 100);

            var files = SegmentFiles();
            Assert.Equal(6, files.Length); // ceil(100 / 18)
            for (var i = 0; i < files.Length; i++)
            {
                Assert.Equal(SegmentPath(1 + ((ulong)i * RecordsPerSmallSegment)), files[i]);
                Assert.True(new FileInfo(files[i]).Length <= SmallSegmentBytes);
            }

            AssertRecords(1, 100, log.ReadFrom(0));
            AssertRecords(19, 100, log.ReadFrom(18));
            AssertRecords(51, 100, log.ReadFrom(50));
            Assert.Empty(log.ReadFrom(100));
        }

        using (var log = OpenLog(SmallSegments()))
        {
            AssertReport(log.RecoveryReport, 6, 100, 0, null, 0);
            Assert.Equal(1UL, log.FirstSequence);
            Assert.Equal(100UL, log.LastSequence);
            AssertRecords(1, 100, log.ReadFrom(0));
        }
    }

    [Fact]
    public void A_record_larger_than_a_segment_gets_a_segment_of_its_own()
    {
        using var log = OpenLog(SmallSegments());
        log.Append(1, Payload(1));
        log.Append(2, Payload(2, size: 10_000));
        log.Append(3, Payload(3));

        Assert.Equal([SegmentPath(1), SegmentPath(2), SegmentPath(3)], SegmentFiles());
        var records = log.ReadFrom(0).ToList();
        Assert.Equal(Payload(2, size: 10_000), records[1].Payload.ToArray());
    }

    [Fact]
    public void Retention_deletes_the_oldest_segments_while_the_log_is_over_MaxTotalBytes()
    {
        var options = SmallSegments();
        options.MaxTotalBytes = 3 * SmallSegmentBytes;
        using (var log = OpenLog(options))
        {
            AppendRange(log, 1, 200);

            var files = SegmentFiles();
            Assert.True(files.Sum(f => new FileInfo(f).Length) <= options.MaxTotalBytes);

            // At the last rotation (record 199 started segment 12) three full segments and the new one
            // were over the limit, so the oldest went: segments 10, 11 and 12 remain.
            const ulong firstKept = (9 * RecordsPerSmallSegment) + 1;
            Assert.Equal(firstKept, log.FirstSequence);
            Assert.Equal(SegmentPath(firstKept), files[0]);
            AssertRecords(firstKept, 200, log.ReadFrom(0));
            AssertRecords(firstKept, 200, log.ReadFrom(1)); // a resume from a pruned sequence: FirstSequence tells the caller
            Assert.Contains(_logger.Entries, e => e.EventId == 3008 && e.Message.Contains("MaxTotalBytes", StringComparison.Ordinal));
        }

        using (var log = OpenLog(options))
        {
            Assert.Equal(200UL, log.LastSequence);
        }
    }

    [Fact]
    public void Retention_never_deletes_the_segment_being_appended_to()
    {
        var options = SmallSegments();
        options.MaxTotalBytes = SmallSegmentBytes;
        using var log = OpenLog(options);

        for (ulong sequence = 1; sequence <= 5; sequence++)
        {
            log.Append(sequence, Payload(sequence, size: 3000)); // two never fit in one segment
        }

        Assert.Equal([SegmentPath(5)], SegmentFiles());
        Assert.Equal(5UL, log.FirstSequence);
        Assert.Equal([5UL], log.ReadFrom(0).Select(r => r.Sequence));
    }

    [Fact]
    public void Retention_deletes_segments_whose_newest_record_is_older_than_Retention()
    {
        var options = SmallSegments();
        options.Retention = TimeSpan.FromDays(30);
        using var log = OpenLog(options);

        AppendRange(log, 1, 18, tick: TimeSpan.Zero); // segment A, all at day 0
        _clock.Advance(TimeSpan.FromDays(20));
        AppendRange(log, 19, 36, tick: TimeSpan.Zero); // segment B, all at day 20
        Assert.Equal([SegmentPath(1), SegmentPath(19)], SegmentFiles());

        _clock.Advance(TimeSpan.FromDays(20));
        log.Append(37, Payload(37)); // day 40: starts C; A (day 0) is past 30 days, B (day 20) is not

        Assert.Equal([SegmentPath(19), SegmentPath(37)], SegmentFiles());
        Assert.Equal(19UL, log.FirstSequence);
        Assert.Contains(_logger.Entries, e => e.EventId == 3008 && e.Message.Contains("Retention", StringComparison.Ordinal));

        _clock.Advance(TimeSpan.FromDays(60));
        AppendRange(log, 38, 54, tick: TimeSpan.Zero); // day 100: fills C, whose newest record is now day 100
        log.Append(55, Payload(55)); // starts D; B (day 20) goes, C stays

        Assert.Equal([SegmentPath(37), SegmentPath(55)], SegmentFiles());
        Assert.Equal(37UL, log.FirstSequence);
        var first = log.ReadFrom(0).First();
        Assert.Equal(37UL, first.Sequence);
        Assert.Equal(Micros(T0.AddDays(40)), first.TimestampMicros);
    }

    // ---- concurrency, locking, lifetime, options ----

    [Fact]
    public async Task Concurrent_appends_from_several_threads_produce_a_readable_log()
    {
        const int threads = 4;
        const int appendsPerThread = 150;
        const ulong total = threads * appendsPerThread;
        using var log = OpenLog(SmallSegments());
        var sequenceLock = new Lock();
        ulong next = 0;
        var writersDone = false;

        var reader = Task.Run(() =>
        {
            var passes = 0;
            while (!Volatile.Read(ref writersDone) || passes == 0)
            {
                // Whatever a reader sees while appends and rotations go on is a whole, gapless prefix.
                ulong expected = 1;
                foreach (var record in log.ReadFrom(0))
                {
                    Assert.Equal(expected++, record.Sequence);
                    Assert.Equal(Payload(record.Sequence), record.Payload.ToArray());
                }

                passes++;
            }

            return passes;
        });
        var writers = Enumerable.Range(0, threads).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < appendsPerThread; i++)
            {
                lock (sequenceLock)
                {
                    var sequence = ++next;
                    log.Append(sequence, Payload(sequence));
                }
            }
        })).ToArray();

        await Task.WhenAll(writers);
        Volatile.Write(ref writersDone, true);
        Assert.True(await reader > 0);

        Assert.Equal(total, log.LastSequence);
        AssertRecords(1, total, log.ReadFrom(0));
        log.Dispose();
        using var reopened = OpenLog(SmallSegments());
        AssertReport(reopened.RecoveryReport, SegmentFiles().Length, (long)total, 0, null, 0);
    }

    [Fact]
    public async Task Racing_appends_without_caller_ordering_are_refused_never_interleaved()
    {
        using var log = OpenLog(SmallSegments());
        long next = 0;
        long accepted = 0;

        // Sequences are taken without a lock, so some reach Append after a larger one: those must be refused.
        var writers = Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 100; i++)
            {
                var sequence = (ulong)Interlocked.Increment(ref next);
                try
                {
                    log.Append(sequence, Payload(sequence));
                    Interlocked.Increment(ref accepted);
                }
                catch (ArgumentException)
                {
                }
            }
        })).ToArray();
        await Task.WhenAll(writers);

        var sequences = log.ReadFrom(0).Select(r => r.Sequence).ToList();
        Assert.Equal(accepted, sequences.Count);
        Assert.Equal(sequences.Order(), sequences);
        Assert.Equal(sequences.Count, sequences.Distinct().Count());
        foreach (var record in log.ReadFrom(0))
        {
            Assert.Equal(Payload(record.Sequence), record.Payload.ToArray());
        }
    }

    [Fact]
    public void A_directory_can_be_open_by_one_log_at_a_time()
    {
        var first = OpenLog();

        var refused = Assert.Throws<DecisionLogUnavailableException>(() => OpenLog());
        Assert.Contains("already open elsewhere", refused.Message, StringComparison.Ordinal);

        first.Dispose();
        using var second = OpenLog();
        Assert.Equal(0UL, second.LastSequence);
    }

    [Fact]
    public void A_disposed_log_refuses_appends_and_reads()
    {
        var log = OpenLog();
        log.Append(1, Payload(1));
        log.Dispose();
        log.Dispose();

        Assert.Throws<ObjectDisposedException>(() => log.Append(2, Payload(2)));
        Assert.Throws<ObjectDisposedException>(() => log.ReadFrom(0));
    }

    [Fact]
    public void A_new_segments_directory_entry_can_be_synced_on_Unix()
    {
        Directory.CreateDirectory(_directory);

        Assert.Equal(!OperatingSystem.IsWindows(), DirectorySync.Flush(_directory));
    }

    [Fact]
    public void Fsync_off_still_writes_every_record()
    {
        var options = SmallSegments();
        options.Fsync = false;
        using (var log = OpenLog(options))
        {
            AppendRange(log, 1, 40);
            AssertRecords(1, 40, log.ReadFrom(0));
        }

        using var reopened = OpenLog(options);
        Assert.Equal(40UL, reopened.LastSequence);
    }

    // ---- group commit ----

    [Fact]
    public void One_fsync_makes_every_record_written_before_it_durable_and_readers_see_only_durable_records()
    {
        using var log = OpenLog();
        for (ulong sequence = 1; sequence <= 3; sequence++)
        {
            log.Write(sequence, Payload(sequence));
        }

        Assert.Equal(3UL, log.LastSequence);
        Assert.Equal(0UL, log.DurableSequence);
        Assert.Empty(log.ReadFrom(0));

        log.WaitDurable(2);

        Assert.Equal(1, log.Fsyncs);
        Assert.Equal(3UL, log.DurableSequence);
        AssertRecords(1, 3, log.ReadFrom(0));

        // Covered by that fsync: no other.
        log.WaitDurable(3);
        log.WaitDurable(1);
        Assert.Equal(1, log.Fsyncs);
    }

    [Fact]
    public void Records_still_waiting_for_their_fsync_are_made_durable_when_their_segment_is_sealed()
    {
        using var log = OpenLog(SmallSegments());
        for (ulong sequence = 1; sequence <= (ulong)RecordsPerSmallSegment + 2; sequence++)
        {
            log.Write(sequence, Payload(sequence));
        }

        // The rotation fsync'd the sealed segment's records; the new segment's wait for the group commit.
        Assert.Equal((ulong)RecordsPerSmallSegment, log.DurableSequence);
        log.WaitDurable((ulong)RecordsPerSmallSegment + 2);
        AssertRecords(1, (ulong)RecordsPerSmallSegment + 2, log.ReadFrom(0));
        Assert.Equal(2, SegmentFiles().Length);
    }

    [Fact]
    public void Concurrent_appends_share_fsyncs_and_keep_every_record()
    {
        using var log = OpenLog();
        ulong next = 0;
        var writeLock = new Lock();
        Parallel.For(0, 200, new ParallelOptions { MaxDegreeOfParallelism = 8 }, _ =>
        {
            ulong sequence;
            lock (writeLock)
            {
                sequence = ++next;
                log.Write(sequence, Payload(sequence));
            }

            log.WaitDurable(sequence);
            Assert.True(log.DurableSequence >= sequence);
        });

        AssertRecords(1, 200, log.ReadFrom(0));
        Assert.InRange(log.Fsyncs, 1, 200);
    }

    [Fact]
    public void Options_have_the_documented_defaults()
    {
        var options = new DecisionLogOptions();

        Assert.Equal(64L * 1024 * 1024, options.SegmentBytes);
        Assert.Equal(TimeSpan.FromDays(30), options.Retention);
        Assert.Equal(1024L * 1024 * 1024, options.MaxTotalBytes);
        Assert.True(options.Fsync);
        Assert.Empty(new DecisionLogOptions { Directory = "state" }.Validate());
    }

    [Fact]
    public void Options_validation_names_each_bad_key()
    {
        var problems = new DecisionLogOptions
        {
            Directory = " ",
            SegmentBytes = 10,
            Retention = TimeSpan.Zero,
            MaxTotalBytes = 5,
        }.Validate();

        Assert.Equal(4, problems.Count);
        foreach (var key in new[] { "Directory", "SegmentBytes", "Retention", "MaxTotalBytes" })
        {
            Assert.Contains(problems, p => p.StartsWith($"GateStream:State:{key} must", StringComparison.Ordinal));
        }

        var ex = Assert.Throws<ArgumentException>(
            () => DecisionLog.Open(new DecisionLogOptions { Directory = _directory, SegmentBytes = 10 }, _logger, _clock));
        Assert.Contains("GateStream:State:SegmentBytes must be between 4096 and 1073741824 bytes (got 10)", ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_directory));
    }

    // ---- helpers ----

    private DecisionLogOptions DefaultOptions() => new() { Directory = _directory };

    private DecisionLogOptions SmallSegments() => new() { Directory = _directory, SegmentBytes = SmallSegmentBytes };

    private DecisionLog OpenLog(DecisionLogOptions? options = null) => DecisionLog.Open(options ?? DefaultOptions(), _logger, _clock);

    /// <summary>Appends first..last, moving the clock by <paramref name="tick"/> (default one second) after each.</summary>
    private void AppendRange(DecisionLog log, ulong first, ulong last, TimeSpan? tick = null)
    {
        for (var sequence = first; sequence <= last; sequence++)
        {
            log.Append(sequence, Payload(sequence));
            _clock.Advance(tick ?? TimeSpan.FromSeconds(1));
        }
    }

    private static byte[] Payload(ulong sequence, int size = PayloadSize)
    {
        var payload = new byte[size];
        for (var i = 0; i < size; i++)
        {
            payload[i] = (byte)((sequence * 31) + (ulong)i);
        }

        return payload;
    }

    private static void AssertRecords(ulong first, ulong last, IEnumerable<LogRecord> records)
    {
        var list = records.ToList();
        Assert.Equal(Range(first, last), list.Select(r => r.Sequence));
        foreach (var record in list)
        {
            Assert.Equal(Payload(record.Sequence), record.Payload.ToArray());
        }
    }

    private void AssertTailTruncatedLogged(string file, long offset, long droppedBytes, string reason)
    {
        var warning = _logger.Single(3002);
        Assert.Equal(LogLevel.Warning, warning.Level);
        Assert.Equal(file, warning.Values["File"]);
        Assert.Equal(offset, warning.Values["Offset"]);
        Assert.Equal(droppedBytes, warning.Values["DroppedBytes"]);
        Assert.Equal(reason, warning.Values["Reason"]);
    }

    private static ulong[] Range(ulong first, ulong last)
    {
        var values = new List<ulong>();
        for (var value = first; value <= last; value++)
        {
            values.Add(value);
        }

        return [.. values];
    }

    private static long Micros(DateTimeOffset time) => (time - DateTimeOffset.UnixEpoch).Ticks / TimeSpan.TicksPerMicrosecond;

    private string[] SegmentFiles() =>
        Directory.Exists(_directory)
            ? [.. Directory.GetFiles(_directory, "decisions-*.log").Where(f => RecordFormat.TryParseSegmentFileName(Path.GetFileName(f), out _)).Order(StringComparer.Ordinal)]
            : [];

    private string SegmentPath(ulong firstSequence) => Path.Combine(_directory, RecordFormat.SegmentFileName(firstSequence));

    private static void SetLength(string file, long length)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Write);
        stream.SetLength(length);
    }

    private static void AppendBytes(string file, byte[] bytes)
    {
        using var stream = new FileStream(file, FileMode.Append, FileAccess.Write);
        stream.Write(bytes);
    }

    private static void AssertReport(RecoveryReport report, int segments, long records, long truncatedBytes, string? truncatedFile, int damagedSegments) =>
        Assert.Equal(
            (segments, records, truncatedBytes, truncatedFile, damagedSegments),
            (report.Segments, report.Records, report.TruncatedBytes, report.TruncatedFile, report.DamagedSegments));

    private static void FlipByte(string file, long offset)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = offset;
        var value = stream.ReadByte();
        stream.Position = offset;
        stream.WriteByte((byte)(value ^ 0xFF));
    }
}
