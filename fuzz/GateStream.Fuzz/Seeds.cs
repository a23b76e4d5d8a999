using System.Buffers.Binary;
using GateStream.Daemon.Decisions.Log;
using GateStream.Ingest.Framed;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Fuzz;

/// <summary>
/// The generated seeds (<c>seed-*</c>, and the <c>attack-*</c> built from valid input) of the targets whose valid
/// input is binary: written by the product's own encoders (the Contracts messages, <see cref="FramedProtocol"/>, a
/// real <see cref="DecisionLog"/>), so they stay valid when a format changes: <c>dotnet GateStream.Fuzz.dll seeds fuzz/corpus</c>.
/// </summary>
internal static class Seeds
{
    private const long T0 = 1_700_000_000L * 1_000_000;

    public static void WriteAll(string corpus)
    {
        Native(Path.Combine(corpus, "NativeBatchReader"));
        Framed(Path.Combine(corpus, "FramedSession"));
        DecisionLog(Path.Combine(corpus, "DecisionLogRecovery"));
    }

    private static void Native(string directory)
    {
        Directory.CreateDirectory(directory);
        var push = Push([Events("api", "v2", 5, errors: true), Events("api", "v1", 3, errors: false)]).ToByteArray();
        Write(directory, "seed-push.bin", [0], push);
        Write(directory, "seed-push-split.bin", [(byte)(13 << 2)], push);
        Write(directory, "seed-push-metrics.bin", [0], Push(Events("db", "v3", 2, errors: false), Metrics("db", "v3", 4)).ToByteArray());
        Write(directory, "seed-events.bin", [1], Events("api", "v2", 4, errors: true).ToByteArray());
        Write(directory, "seed-metrics.bin", [2], Metrics("db", "v3", 3).ToByteArray());

        var ragged = Events("api", "v2", 3, errors: true);
        ragged.LatencyMicros.Add(7); // one latency more than there are times: refused whole
        var unkeyed = Events("", "v2", 2, errors: false);
        var nan = Metrics("db", "v3", 2);
        nan.Samples.Add(new V1.MetricSample { Name = "lag", TimeUnixMicros = T0, Value = double.NaN, Kind = V1.MetricKind.Gauge });
        Write(directory, "seed-push-invalid.bin", [0], Push([ragged, unkeyed], nan).ToByteArray());

        // Malformed: a length far past the end, an over-long varint, unbalanced groups nested deep.
        Write(directory, "attack-length-past-end.bin", [0, 0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
        Write(directory, "attack-overlong-varint.bin", [1, 0x18, .. Enumerable.Repeat((byte)0xff, 11), 0x01]);
        Write(directory, "attack-nested-groups.bin", [0, .. Enumerable.Repeat((byte)0x7b, 2000)]);
    }

    private static void Framed(string directory)
    {
        Directory.CreateDirectory(directory);
        var hello = Hello();
        var data1 = Frame(FrameType.Data, [.. Sequence(1), .. Push(Events("api", "v2", 5, errors: true)).ToByteArray()]);
        var ping = Frame(FrameType.Ping, [1, 2, 3, 4, 5, 6, 7, 8]);
        var data2 = Frame(FrameType.Data, [.. Sequence(2), .. Push(Events("api", "v1", 3, errors: false), Metrics("api", "v1", 2)).ToByteArray()]);
        byte[] session = [.. hello, .. data1, .. ping, .. data2];
        Write(directory, "seed-session.bin", [0], session);
        Write(directory, "seed-session-chunked.bin", [3], session); // 10-byte reads: headers and frames cut
        Write(directory, "seed-large-frame.bin", [6], [.. hello, .. Frame(FrameType.Data, [.. Sequence(3), .. Push(Events("api", "v2", 150, errors: true)).ToByteArray()])]);
        Write(directory, "seed-refused-series.bin", [0], [.. hello, .. Frame(FrameType.Data, [.. Sequence(4), .. Push([Events("rogue", "v9", 2, errors: false), Events("api", "v2", 2, errors: false)]).ToByteArray()])]);

        Write(directory, "attack-bad-magic.bin", [0, .. "GET / HTTP/1.1\r\n\r\n"u8]);
        Write(directory, "attack-version-2.bin", [0, .. Hello(version: 2)]);
        Write(directory, "attack-frame-too-large.bin", [0, .. hello, (byte)FrameType.Data, 0xff, 0xff, 0xff, 0x7f]);
        Write(directory, "attack-server-frame.bin", [0, .. hello, .. Frame(FrameType.Ack, new byte[24])]);
        Write(directory, "attack-closed-mid-frame.bin", [0, .. hello, .. data1.AsSpan(0, data1.Length - 3)]);
        Write(directory, "attack-malformed-payload.bin", [0, .. hello, .. Frame(FrameType.Data, [.. Sequence(5), 0x0a, 0xff, 0xff, 0x03])]);
        Write(directory, "attack-short-data.bin", [0, .. hello, .. Frame(FrameType.Data, [1, 2, 3])]);
    }

    private static void DecisionLog(string directory)
    {
        Directory.CreateDirectory(directory);
        var segment = Segment(25, notADecisionAt: 0);
        var offsets = RecordOffsets(segment);

        // Byte 0: bit 0 seal, bits 1-3 the earlier segments' last sequence, bit 4 recover the file too; bytes 1-2 the
        // offset to damage, byte 3 the XOR mask (see DecisionLogRecoveryTarget).
        Write(directory, "seed-segment.bin", [0x10, 0, 0, 0], segment);
        Write(directory, "seed-segment-scan-only.bin", [0x00, 0, 0, 0], segment);
        Write(directory, "seed-segment-sealed.bin", [0x11, 0, 0, 0], segment);
        Write(directory, "seed-segment-after-3.bin", [0x06, 0, 0, 0], Segment(25, notADecisionAt: 0, first: 4));

        // Issue 12, point 5: one flipped bit in record 5 must not cost records 6-25.
        var payload5 = (ushort)(offsets[4] + 30);
        Write(directory, "attack-bitflip-record-5.bin", [0x10, 0, 0, 0], Flip(segment, payload5));
        Write(directory, "attack-bitflip-record-5-sealed.bin", [0x11, (byte)payload5, (byte)(payload5 >> 8), 0x01], segment);
        Write(directory, "attack-length-of-record-5.bin", [0x10, 0, 0, 0], Flip(segment, offsets[4] + 3, 0x80));
        Write(directory, "attack-torn-tail.bin", [0x10, 0, 0, 0], segment.AsSpan(0, offsets[24] + 10).ToArray());
        Write(directory, "attack-stale-copy.bin", [0x10, 0, 0, 0], [.. segment.AsSpan(0, offsets[10]), .. segment.AsSpan(offsets[2], offsets[3] - offsets[2]), .. segment.AsSpan(offsets[10])]);

        // Issue 12, point 8: a checksummed record that is not a Decision.
        Write(directory, "attack-not-a-decision.bin", [0x10, 0, 0, 0], Segment(6, notADecisionAt: 4));
    }

    /// <summary>A segment written by a real <see cref="DecisionLog"/>: decisions numbered from <paramref name="first"/>.</summary>
    private static byte[] Segment(int records, int notADecisionAt, ulong first = 1)
    {
        var directory = Path.Combine(Path.GetTempPath(), $"gatestream-seeds-{Environment.ProcessId}");
        if (Directory.Exists(directory))
        {
            Directory.Delete(directory, recursive: true);
        }

        var options = new DecisionLogOptions { Directory = directory, Fsync = false };
        using (var log = Daemon.Decisions.Log.DecisionLog.Open(options, NullLogger.Instance, new FixedClock()))
        {
            for (var i = 0; i < records; i++)
            {
                var sequence = first + (ulong)i;
                var decision = new V1.Decision
                {
                    Sequence = sequence,
                    Gate = "checkout/v2",
                    Deployment = "checkout",
                    CanaryVersion = "v2",
                    BaselineVersion = "v1",
                    Action = i % 5 == 4 ? V1.Action.Hold : V1.Action.Promote,
                    Weight = (uint)Math.Min(100, 10 * (i + 1)),
                    Reason = "every rule passed",
                };
                log.Append(sequence, i + 1 == notADecisionAt ? "not a decision"u8 : decision.ToByteArray());
            }
        }

        var bytes = File.ReadAllBytes(Directory.GetFiles(directory, "decisions-*.log").Single());
        Directory.Delete(directory, recursive: true);
        return bytes;
    }

    private static List<int> RecordOffsets(byte[] segment)
    {
        var offsets = new List<int>();
        for (var at = 0; at < segment.Length; at += 24 + (int)BinaryPrimitives.ReadUInt32LittleEndian(segment.AsSpan(at)))
        {
            offsets.Add(at);
        }

        return offsets;
    }

    private static byte[] Flip(byte[] bytes, int at, byte mask = 0x01)
    {
        var copy = bytes.ToArray();
        copy[at] ^= mask;
        return copy;
    }

    private static byte[] Hello(ushort version = FramedProtocol.Version)
    {
        var hello = new byte[FramedProtocol.ClientHelloSize];
        FramedProtocol.Magic.CopyTo(hello);
        BinaryPrimitives.WriteUInt16LittleEndian(hello.AsSpan(4), version);
        return hello;
    }

    private static byte[] Frame(FrameType type, byte[] payload)
    {
        var frame = new byte[FramedProtocol.FrameHeaderSize + payload.Length];
        FramedProtocol.WriteHeader(frame, type, payload.Length);
        payload.CopyTo(frame, FramedProtocol.FrameHeaderSize);
        return frame;
    }

    private static byte[] Sequence(ulong sequence)
    {
        var bytes = new byte[FramedProtocol.DataSequenceSize];
        BinaryPrimitives.WriteUInt64LittleEndian(bytes, sequence);
        return bytes;
    }

    private static V1.PushRequest Push(V1.EventBatch events, V1.MetricBatch? metrics = null) => Push([events], metrics);

    private static V1.PushRequest Push(V1.EventBatch[] events, V1.MetricBatch? metrics = null)
    {
        var request = new V1.PushRequest();
        request.Events.Add(events);
        if (metrics is not null)
        {
            request.Metrics.Add(metrics);
        }

        return request;
    }

    private static V1.EventBatch Events(string deployment, string version, int count, bool errors)
    {
        var batch = new V1.EventBatch { Deployment = deployment, Version = version, BaseTimeUnixMicros = T0 };
        for (var i = 0; i < count; i++)
        {
            batch.TimeDeltasMicros.Add(i % 4 == 3 ? -2_000 : 10_000);
            batch.LatencyMicros.Add((uint)(1_000 + (i * 2_500)));
            batch.StatusCodes.Add(i % 7 == 6 ? 503u : 200u);
            if (errors)
            {
                batch.Errors.Add(i % 5 == 4);
            }
        }

        return batch;
    }

    private static V1.MetricBatch Metrics(string deployment, string version, int count)
    {
        var batch = new V1.MetricBatch { Deployment = deployment, Version = version };
        for (var i = 0; i < count; i++)
        {
            batch.Samples.Add(new V1.MetricSample { Name = i % 2 == 0 ? "replication_lag_seconds" : "pool_saturation", TimeUnixMicros = T0 + (i * 1_000), Value = (i * 0.25) - 3, Kind = (V1.MetricKind)((i % 3) + 1) });
        }

        return batch;
    }

    private static void Write(string directory, string name, byte[] prefix, ReadOnlySpan<byte> body = default) =>
        File.WriteAllBytes(Path.Combine(directory, name), [.. prefix, .. body]);

    /// <summary>Seeds are the same bytes at every generation.</summary>
    private sealed class FixedClock : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(2026, 12, 4, 3, 0, 0, TimeSpan.Zero);
    }
}
