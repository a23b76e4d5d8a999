using System.Buffers;
using GateStream.Core.Events;
using GateStream.Ingest.Native;
using Google.Protobuf;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Ingest.Tests.Native;

/// <summary>The hand-written reader against bytes produced by the generated Contracts messages.</summary>
public class NativeBatchReaderTests
{
    private readonly BatchPool<EventBatch> _events = BatchPools.CreateEventPool();
    private readonly BatchPool<MetricSampleBatch> _metrics = BatchPools.CreateMetricPool();

    private NativeBatchReader NewReader() => new(_events, _metrics, "test");

    private DecodedPush Decode(ReadOnlySequence<byte> bytes, out NativeIngestCounts counts)
    {
        var reader = NewReader();
        Assert.True(reader.TryBegin(bytes, out var problem), problem);
        var decoded = DecodedPush.Drain(reader, _events, _metrics);
        counts = reader.Counts;
        return decoded;
    }

    [Fact]
    public void A_push_request_decodes_to_exactly_the_columns_events_proto_defines()
    {
        var request = NativeTestData.Push(
            [
                NativeTestData.Events("checkout", "v1", 500, seed: 1),
                NativeTestData.Events("checkout", "v2", 3, seed: 2, statusCodes: false, errors: true),
                NativeTestData.Events("search", "2024.05.01-abc", 1, seed: 3, statusCodes: false),
                NativeTestData.Events("search", "v9", 2_000, seed: 4, statusCodes: true, errors: true),
                NativeTestData.Events("empty", "v1", 0, seed: 5),
            ],
            [NativeTestData.Metrics("db", "v1", 7), NativeTestData.Metrics("db", "v2", 0)]);

        var decoded = Decode(new ReadOnlySequence<byte>(request.ToByteArray()), out var counts);

        // The empty batches are valid and carry nothing, so nothing is handed out for them.
        var expected = request.Clone();
        expected.Events.RemoveAt(4);
        expected.Metrics.RemoveAt(1);
        decoded.AssertEquals(expected);
        Assert.Equal((2_504, 0, 7, 0, 0), (counts.AcceptedEvents, counts.RejectedEvents, counts.AcceptedSamples, counts.RejectedSamples, counts.RejectedBatches));
        Assert.Null(counts.FirstProblem);
    }

    [Fact]
    public void Extreme_values_survive_zigzag_wrapping_and_uint32_latencies()
    {
        var proto = new V1.EventBatch { Deployment = "d", Version = "v", BaseTimeUnixMicros = long.MaxValue - 5 };
        proto.TimeDeltasMicros.Add([long.MinValue, long.MaxValue, -1, 0, 1]);
        proto.LatencyMicros.Add([uint.MaxValue, 0, 1, 127, 128]);
        proto.StatusCodes.Add([499, 500, 0, 599, uint.MaxValue]);
        var batch = new EventBatch();

        Assert.True(NativeBatchReader.TryReadEventBatch(proto.ToByteArray(), batch, out var result));

        Assert.Equal(new NativeBatchResult(5, 0, null), result);
        NativeTestData.AssertSame(proto, batch);
    }

    [Fact]
    public void Unpacked_and_split_columns_decode_like_packed_ones()
    {
        var proto = NativeTestData.Events("checkout", "v2", 40, seed: 7, statusCodes: true, errors: true);
        var bytes = new MemoryStream();
        var output = new CodedOutputStream(bytes);
        // Columns out of field order, base time last, each column split into an unpacked head and packed runs.
        WriteColumn(output, 5, proto.LatencyMicros.Select(v => (ulong)v).ToArray(), zigzag: false);
        WriteColumn(output, 7, proto.Errors.Select(v => v ? 1ul : 0ul).ToArray(), zigzag: false);
        output.WriteTag(1, WireFormat.WireType.LengthDelimited);
        output.WriteString(proto.Deployment);
        WriteColumn(output, 4, proto.TimeDeltasMicros.Select(v => (ulong)v).ToArray(), zigzag: true);
        WriteColumn(output, 6, proto.StatusCodes.Select(v => (ulong)v).ToArray(), zigzag: false);
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteString(proto.Version);
        output.WriteTag(3, WireFormat.WireType.Varint);
        output.WriteInt64(proto.BaseTimeUnixMicros);
        output.Flush();

        // The generated parser agrees these bytes are the same message.
        Assert.Equal(proto, V1.EventBatch.Parser.ParseFrom(bytes.ToArray()));
        var batch = new EventBatch();
        Assert.True(NativeBatchReader.TryReadEventBatch(bytes.ToArray(), batch, out var result));
        Assert.Equal(40, result.Accepted);
        NativeTestData.AssertSame(proto, batch);
    }

    private static void WriteColumn(CodedOutputStream output, int field, ulong[] values, bool zigzag)
    {
        ulong Encode(ulong v) => zigzag ? (ulong)(((long)v << 1) ^ ((long)v >> 63)) : v;
        var head = Math.Min(3, values.Length);
        for (var i = 0; i < head; i++)
        {
            output.WriteTag(field, WireFormat.WireType.Varint);
            output.WriteUInt64(Encode(values[i]));
        }

        var middle = (values.Length - head) / 2;
        foreach (var run in new[] { values[head..(head + middle)], values[(head + middle)..] })
        {
            var packed = new MemoryStream();
            var inner = new CodedOutputStream(packed);
            foreach (var v in run)
            {
                inner.WriteUInt64(Encode(v));
            }

            inner.Flush();
            output.WriteTag(field, WireFormat.WireType.LengthDelimited);
            output.WriteBytes(ByteString.CopyFrom(packed.ToArray()));
        }
    }

    [Fact]
    public void Unknown_fields_of_every_wire_type_are_skipped_at_every_level()
    {
        var request = NativeTestData.Push([NativeTestData.Events("checkout", "v1", 25, seed: 9)], [NativeTestData.Metrics("db", "v1", 4)]);
        var plain = request.ToByteArray();
        var noisy = new MemoryStream();
        var output = new CodedOutputStream(noisy);
        WriteNoise(output);
        output.WriteTag(1, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(WithNoise(request.Events[0].ToByteArray())));
        WriteNoise(output);
        var metric = new MemoryStream();
        var metricOutput = new CodedOutputStream(metric);
        WriteNoise(metricOutput);
        foreach (var sample in request.Metrics[0].Samples)
        {
            metricOutput.WriteTag(3, WireFormat.WireType.LengthDelimited);
            metricOutput.WriteBytes(ByteString.CopyFrom(WithNoise(sample.ToByteArray())));
        }

        metricOutput.WriteTag(1, WireFormat.WireType.LengthDelimited);
        metricOutput.WriteString("db");
        metricOutput.WriteTag(2, WireFormat.WireType.LengthDelimited);
        metricOutput.WriteString("v1");
        WriteNoise(metricOutput);
        metricOutput.Flush();
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFrom(metric.ToArray()));
        WriteNoise(output);
        output.Flush();

        Assert.NotEqual(plain.Length, noisy.Length);
        var parsed = V1.PushRequest.Parser.ParseFrom(noisy.ToArray());
        Assert.Equal(request.ToString(), parsed.ToString()); // the generated parser also skips the noise (JSON omits unknown fields)
        var decoded = Decode(new ReadOnlySequence<byte>(noisy.ToArray()), out var counts);
        decoded.AssertEquals(request);
        Assert.Equal((25, 4), (counts.AcceptedEvents, counts.AcceptedSamples));
    }

    private static byte[] WithNoise(byte[] message)
    {
        var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        WriteNoise(output);
        output.Flush();
        var noise = stream.ToArray();
        return [.. noise, .. message, .. noise];
    }

    /// <summary>One unknown field of each wire type, a nested group included.</summary>
    private static void WriteNoise(CodedOutputStream output)
    {
        output.WriteTag(100, WireFormat.WireType.Varint);
        output.WriteUInt64(ulong.MaxValue);
        output.WriteTag(101, WireFormat.WireType.Fixed64);
        output.WriteFixed64(42);
        output.WriteTag(102, WireFormat.WireType.LengthDelimited);
        output.WriteString("ignored");
        output.WriteTag(103, WireFormat.WireType.Fixed32);
        output.WriteFixed32(7);
        output.WriteTag(104, WireFormat.WireType.StartGroup);
        output.WriteTag(1, WireFormat.WireType.Varint);
        output.WriteInt32(5);
        output.WriteTag(105, WireFormat.WireType.StartGroup);
        output.WriteTag(2, WireFormat.WireType.LengthDelimited);
        output.WriteString("nested");
        output.WriteTag(105, WireFormat.WireType.EndGroup);
        output.WriteTag(104, WireFormat.WireType.EndGroup);
        output.WriteTag(536_870_911, WireFormat.WireType.Varint);
        output.WriteInt32(1);
    }

    [Fact]
    public void Invalid_batches_are_refused_whole_and_counted_while_the_rest_is_applied()
    {
        var good = NativeTestData.Events("checkout", "v1", 10, seed: 1);
        var shortLatency = NativeTestData.Events("checkout", "v2", 10, seed: 2);
        shortLatency.LatencyMicros.RemoveAt(0);
        var badStatus = NativeTestData.Events("checkout", "v3", 10, seed: 3);
        badStatus.StatusCodes.RemoveAt(0);
        var badErrors = NativeTestData.Events("checkout", "v4", 10, seed: 4, errors: true);
        badErrors.Errors.Add(true);
        var noVersion = NativeTestData.Events("checkout", "", 6, seed: 5);
        var metrics = NativeTestData.Metrics("db", "v1", 6);
        metrics.Samples[1].Value = double.NaN;
        metrics.Samples[2].Kind = V1.MetricKind.Unspecified;
        metrics.Samples[3].Name = "";
        metrics.Samples[4].Value = double.NegativeInfinity;
        var request = NativeTestData.Push([good, shortLatency, badStatus, badErrors, noVersion, good], [metrics, NativeTestData.Metrics("", "v1", 3)]);

        var decoded = Decode(new ReadOnlySequence<byte>(request.ToByteArray()), out var counts);

        Assert.Equal(2, decoded.Events.Count);
        Assert.Equal(2, decoded.Metrics[0].Samples.Length);
        Assert.Single(decoded.Metrics);
        Assert.Equal((20, 36, 2, 7, 6), (counts.AcceptedEvents, counts.RejectedEvents, counts.AcceptedSamples, counts.RejectedSamples, counts.RejectedBatches));
        Assert.Equal("events[1] (checkout@v2): latency_micros has 9 values for 10 events", counts.FirstProblem);
    }

    [Theory]
    [InlineData("status", "events[0] (d@v): status_codes has 2 values for 3 events (it must be empty or one per event)")]
    [InlineData("errors", "events[0] (d@v): errors has 4 values for 3 events (it must be empty or one per event)")]
    [InlineData("key", "events[0] (d@): deployment and version are required")]
    [InlineData("sample", "metrics[0] (d@v): samples[0]: kind 9 is not a known MetricKind")]
    public void Each_rejection_says_where_and_why(string what, string message)
    {
        var events = new V1.EventBatch { Deployment = "d", Version = what == "key" ? "" : "v", TimeDeltasMicros = { 1, 2, 3 }, LatencyMicros = { 1, 2, 3 } };
        if (what == "status")
        {
            events.StatusCodes.Add([200, 500]);
        }

        if (what == "errors")
        {
            events.Errors.Add([true, false, true, true]);
        }

        var request = what == "sample"
            ? NativeTestData.Push([], [new V1.MetricBatch { Deployment = "d", Version = "v", Samples = { new V1.MetricSample { Name = "x", Value = 1, Kind = (V1.MetricKind)9 } } }])
            : NativeTestData.Push([events]);
        Decode(new ReadOnlySequence<byte>(request.ToByteArray()), out var counts);
        Assert.Equal(message, counts.FirstProblem);
    }

    [Fact]
    public void A_truncated_message_is_malformed_exactly_when_the_generated_parser_says_so_at_every_offset()
    {
        var request = NativeTestData.Push(
            [NativeTestData.Events("checkout", "v1", 30, seed: 1, errors: true), NativeTestData.Events("search", "v2", 5, seed: 2)],
            [NativeTestData.Metrics("db", "v1", 3)]);
        var bytes = request.ToByteArray();
        var reader = NewReader();
        var malformedCount = 0;
        for (var cut = 0; cut < bytes.Length; cut++)
        {
            var prefix = bytes.AsMemory(0, cut);
            bool generatedOk;
            try
            {
                V1.PushRequest.Parser.ParseFrom(prefix.Span);
                generatedOk = true;
            }
            catch (InvalidProtocolBufferException)
            {
                generatedOk = false;
            }

            foreach (var sequence in new[] { new ReadOnlySequence<byte>(prefix), NativeTestData.Segmented(prefix, 3, 1, 7) })
            {
                var ok = reader.TryBegin(sequence, out var problem);
                Assert.True(ok == generatedOk, $"cut at {cut}: reader {ok} ({problem}), generated parser {generatedOk}");
                if (!ok)
                {
                    Assert.StartsWith("malformed at byte ", problem, StringComparison.Ordinal);
                    malformedCount++;
                }
                else
                {
                    DecodedPush.Drain(reader, _events, _metrics);
                }
            }
        }

        Assert.True(malformedCount > bytes.Length, "most cuts land inside a field");
    }

    [Fact]
    public void A_truncated_event_batch_is_malformed_at_every_offset_inside_a_field()
    {
        var bytes = NativeTestData.Events("checkout", "v1", 20, seed: 3, errors: true).ToByteArray();
        var batch = new EventBatch();
        for (var cut = 0; cut < bytes.Length; cut++)
        {
            bool generatedOk;
            try
            {
                V1.EventBatch.Parser.ParseFrom(bytes.AsSpan(0, cut));
                generatedOk = true;
            }
            catch (InvalidProtocolBufferException)
            {
                generatedOk = false;
            }

            var ok = NativeBatchReader.TryReadEventBatch(bytes.AsSpan(0, cut), batch, out var result);
            Assert.True(ok == generatedOk, $"cut at {cut}: {result.Problem}");
            if (!ok)
            {
                Assert.Matches("^malformed at byte [0-9]+: ", result.Problem);
            }
        }
    }

    [Theory]
    [InlineData(new byte[] { 0x0A, 0x05, 0x61 }, "malformed at byte 1 (events[0]): length 5 runs past the end of the message (1 bytes left)")]
    [InlineData(new byte[] { 0x08, 0x01 }, "malformed at byte 0 (events[0]): field 1 (events) has wire type 0 (varint), expected 2 (length-delimited)")]
    [InlineData(new byte[] { 0x0A, 0x02, 0x20, 0x01, 0x0A, 0x02, 0x0D, 0x00 }, "malformed at byte 6 (events[1]): field 1 (deployment) has wire type 5 (32-bit), expected 2 (length-delimited)")]
    [InlineData(new byte[] { 0x0A, 0x03, 0x22, 0x01, 0x80 }, "malformed at byte 4 (events[0]): packed time_deltas_micros: varint cut off by the end of the message")]
    [InlineData(new byte[] { 0x0A, 0x03, 0x2D, 0x00, 0x00 }, "malformed at byte 2 (events[0]): field 5 (latency_micros) has wire type 5 (32-bit), expected 0 (varint) or 2 (packed)")]
    [InlineData(new byte[] { 0x18, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, "malformed at byte 1: varint longer than 10 bytes")]
    [InlineData(new byte[] { 0x1E }, "malformed at byte 1: invalid wire type 6 for field 3")]
    [InlineData(new byte[] { 0x00 }, "malformed at byte 0: invalid tag 0 (field number 0)")]
    [InlineData(new byte[] { 0x1B, 0x08, 0x01, 0x24 }, "malformed at byte 3: end-group for field 4 closes a group opened by field 3")]
    [InlineData(new byte[] { 0x1C }, "malformed at byte 1: end-group tag for field 3 without a matching start-group")]
    [InlineData(new byte[] { 0x12, 0x04, 0x1A, 0x02, 0x19, 0x00 }, "malformed at byte 5 (metrics[0]): samples[0]: 8-byte fixed value cut off by the end of the message (1 bytes left)")]
    [InlineData(new byte[] { 0x12, 0x03, 0x1A, 0x01, 0x18 }, "malformed at byte 4 (metrics[0]): samples[0]: field 3 (value) has wire type 0 (varint), expected 1 (64-bit)")]
    public void Malformed_bytes_are_refused_with_the_offset_and_what_is_wrong(byte[] bytes, string message)
    {
        var reader = NewReader();
        Assert.False(reader.TryBegin(bytes, out var problem));
        Assert.Equal(message, problem);
        Assert.False(reader.TryReadNext(out _));
    }

    [Fact]
    public void Random_garbage_never_throws_and_never_hands_out_a_batch_for_malformed_input()
    {
        var random = new Random(12345);
        var valid = NativeTestData.Push([NativeTestData.Events("checkout", "v1", 8, seed: 1)], [NativeTestData.Metrics("db", "v1", 2)]).ToByteArray();
        var reader = NewReader();
        var batch = new EventBatch();
        var metrics = new MetricSampleBatch();
        for (var i = 0; i < 5_000; i++)
        {
            byte[] bytes;
            if (i % 2 == 0)
            {
                bytes = new byte[random.Next(0, 64)];
                random.NextBytes(bytes);
            }
            else
            {
                // Valid bytes with a few flipped: the interesting corner cases.
                bytes = (byte[])valid.Clone();
                for (var flips = random.Next(1, 4); flips > 0; flips--)
                {
                    bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
                }
            }

            if (reader.TryBegin(bytes, out var problem))
            {
                DecodedPush.Drain(reader, _events, _metrics);
            }
            else
            {
                Assert.False(reader.TryReadNext(out _));
                Assert.NotNull(problem);
            }

            NativeBatchReader.TryReadEventBatch(bytes, batch, out _);
            NativeBatchReader.TryReadMetricBatch(bytes, metrics, out _);
        }
    }

    [Fact]
    public void A_payload_split_across_segments_of_any_size_decodes_the_same()
    {
        var request = NativeTestData.Push(
            [NativeTestData.Events("checkout", "v1", 300, seed: 1), NativeTestData.Events("checkout", "v2", 17, seed: 2, errors: true)],
            [NativeTestData.Metrics("db", "v1", 5)]);
        var bytes = request.ToByteArray();
        foreach (var sizes in new[] { new[] { 1 }, [2, 3], [7], [4096], [100, 1, 13] })
        {
            var decoded = Decode(NativeTestData.Segmented(bytes, sizes), out var counts);
            decoded.AssertEquals(request);
            Assert.Equal(317, counts.AcceptedEvents);
        }
    }

    [Fact]
    public void Single_messages_decode_from_spans_and_sequences_as_kafka_will_use_them()
    {
        var proto = NativeTestData.Events("checkout", "v1", 100, seed: 11, errors: true);
        var bytes = proto.ToByteArray();
        var reader = NewReader();
        var batch = new EventBatch();
        Assert.True(reader.TryReadEventBatch(NativeTestData.Segmented(bytes, 5), batch, out var result));
        Assert.Equal(new NativeBatchResult(100, 0, null), result);
        NativeTestData.AssertSame(proto, batch);

        var metricProto = NativeTestData.Metrics("db", "v2", 9);
        var metrics = new MetricSampleBatch();
        Assert.True(reader.TryReadMetricBatch(NativeTestData.Segmented(metricProto.ToByteArray(), 3), metrics, out result));
        Assert.Equal(new NativeBatchResult(9, 0, null), result);
        NativeTestData.AssertSame(metricProto, metrics);

        proto.LatencyMicros.Add(5);
        Assert.True(NativeBatchReader.TryReadEventBatch(proto.ToByteArray(), batch, out result));
        Assert.Equal(new NativeBatchResult(0, 100, "(checkout@v1): latency_micros has 101 values for 100 events"), result);
        Assert.Equal(0, batch.Count);
    }

    [Fact]
    public void Decoding_allocates_nothing_per_event_or_batch_once_warm()
    {
        var request = NativeTestData.Push(
            [.. Enumerable.Range(0, 20).Select(i => NativeTestData.Events("checkout", $"v{i % 3}", 1_000, seed: i, errors: i % 2 == 0))],
            [NativeTestData.Metrics("db", "v1", 50)]);
        var bytes = request.ToByteArray();
        var contiguous = new ReadOnlySequence<byte>(bytes);
        var segmented = NativeTestData.Segmented(bytes, 4096);
        var reader = NewReader();

        long Run(ReadOnlySequence<byte> payload)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            for (var round = 0; round < 20; round++)
            {
                if (!reader.TryBegin(payload, out _))
                {
                    throw new InvalidOperationException("expected a valid message");
                }

                while (reader.TryReadNext(out var batch))
                {
                    // Hand each batch back as the engine would after applying it.
                    if (batch.Events is { } e)
                    {
                        _events.Return(e);
                    }
                    else
                    {
                        _metrics.Return(batch.Metrics!);
                    }
                }
            }

            return GC.GetAllocatedBytesForCurrentThread() - before;
        }

        Run(contiguous);
        Run(segmented);
        Assert.Equal(0, Run(contiguous));
        Assert.Equal(0, Run(segmented));

        var single = request.Events[0].ToByteArray();
        var into = new EventBatch();
        NativeBatchReader.TryReadEventBatch(single, into, out _);
        var start = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            NativeBatchReader.TryReadEventBatch(single, into, out _);
        }

        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - start);
    }
}
