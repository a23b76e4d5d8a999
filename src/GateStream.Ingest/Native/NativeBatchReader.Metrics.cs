using System.Buffers.Binary;
using System.Text.Unicode;
using GateStream.Core.Events;
using GateStream.Core.Windows;
using GateStream.Ingest.Internal;

namespace GateStream.Ingest.Native;

// gatestream.v1.MetricBatch and MetricSample: scanned once for structure, then read sample by sample into the batch.
// An invalid sample is refused alone; a batch without a key is refused whole (events.proto).
public sealed partial class NativeBatchReader
{
    private const int MetricDeployment = 1;
    private const int MetricVersion = 2;
    private const int MetricSamples = 3;

    private const int SampleName = 1;
    private const int SampleTime = 2;
    private const int SampleValue = 3;
    private const int SampleKind = 4;

    /// <summary>
    /// Decodes one <c>gatestream.v1.MetricBatch</c> message into <paramref name="batch"/> (key and valid samples; the
    /// caller sets <see cref="MetricSampleBatch.Source"/>). Allocates nothing for a valid batch.
    /// </summary>
    /// <returns>
    /// False when the bytes are not a well-formed MetricBatch (<paramref name="result"/>.Problem names the byte offset).
    /// True otherwise: <c>Accepted</c> samples are in the batch, <c>Rejected</c> counts the refused ones (all of them
    /// when the key is missing) and <c>Problem</c> describes the first. Post the batch only when the call returned true
    /// and <see cref="MetricSampleBatch.Count"/> &gt; 0.
    /// </returns>
    public static bool TryReadMetricBatch(ReadOnlySpan<byte> message, MetricSampleBatch batch, out NativeBatchResult result) =>
        TryReadMetricBatch(message, batch, new Location(0, null, 0), out result);

    private static bool TryReadMetricBatch(ReadOnlySpan<byte> message, MetricSampleBatch batch, Location location, out NativeBatchResult result)
    {
        ArgumentNullException.ThrowIfNull(batch);
        batch.Clear();
        var scan = default(MetricScan);
        var error = default(WireError);
        if (!TryScanMetricBatch(message, ref scan, ref error))
        {
            result = new NativeBatchResult(0, 0, location.Malformed(error));
            return false;
        }

        if (KeyProblem(message, scan.DeploymentStart, scan.DeploymentLength, scan.VersionStart, scan.VersionLength) is { } why)
        {
            result = new NativeBatchResult(0, scan.Samples, location.Rejected(message, scan.DeploymentStart, scan.DeploymentLength, scan.VersionStart, scan.VersionLength, why));
            return true;
        }

        batch.Key.Set(message.Slice(scan.DeploymentStart, scan.DeploymentLength), message.Slice(scan.VersionStart, scan.VersionLength));
        var rejected = 0;
        string? first = null;
        var index = 0;
        var pos = 0;
        while (pos < message.Length && ProtoWire.TryReadTag(message, ref pos, out var field, out var wireType))
        {
            if (field != MetricSamples)
            {
                var ignored = default(WireError);
                ProtoWire.TrySkip(message, ref pos, field, wireType, ref ignored);
                continue;
            }

            ProtoWire.TryReadLength(message, ref pos, out var length);
            var sample = message.Slice(pos, length);
            pos += length;
            var problem = AddSample(sample, batch);
            if (problem is not null)
            {
                rejected++;
                first ??= location.Rejected(message, scan.DeploymentStart, scan.DeploymentLength, scan.VersionStart, scan.VersionLength, $"samples[{index}]: {problem}");
            }

            index++;
        }

        result = new NativeBatchResult(batch.Count, rejected, first);
        return true;
    }

    private struct MetricScan
    {
        public int DeploymentStart;
        public int DeploymentLength;
        public int VersionStart;
        public int VersionLength;
        public int Samples;
    }

    private static bool TryScanMetricBatch(ReadOnlySpan<byte> m, ref MetricScan scan, ref WireError error)
    {
        var pos = 0;
        while (pos < m.Length)
        {
            var tagAt = pos;
            if (!ProtoWire.TryReadTag(m, ref pos, out var field, out var wireType, ref error))
            {
                return false;
            }

            if (field is MetricDeployment or MetricVersion or MetricSamples)
            {
                if (!TryScanLength(m, ref pos, tagAt, field, MetricFieldName(field), wireType, out var length, ref error))
                {
                    return false;
                }

                switch (field)
                {
                    case MetricDeployment:
                        (scan.DeploymentStart, scan.DeploymentLength) = (pos, length);
                        break;
                    case MetricVersion:
                        (scan.VersionStart, scan.VersionLength) = (pos, length);
                        break;
                    default:
                        if (!TryScanSample(m.Slice(pos, length), ref error))
                        {
                            error.Offset += pos;
                            error.Message = $"samples[{scan.Samples}]";
                            return false;
                        }

                        scan.Samples++;
                        break;
                }

                pos += length;
                continue;
            }

            if (!ProtoWire.TrySkip(m, ref pos, field, wireType, ref error))
            {
                return false;
            }
        }

        return true;
    }

    private static bool TryScanSample(ReadOnlySpan<byte> s, ref WireError error)
    {
        var pos = 0;
        while (pos < s.Length)
        {
            var tagAt = pos;
            if (!ProtoWire.TryReadTag(s, ref pos, out var field, out var wireType, ref error))
            {
                return false;
            }

            var expected = field switch
            {
                SampleName => ProtoWire.LengthDelimited,
                SampleTime or SampleKind => ProtoWire.Varint,
                SampleValue => ProtoWire.Fixed64,
                _ => -1,
            };
            if (expected >= 0 && wireType != expected)
            {
                return WrongWireType(ref error, tagAt, field, SampleFieldName(field), wireType, (WireType)expected);
            }

            if (!ProtoWire.TrySkip(s, ref pos, field, wireType, ref error))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Reads one scanned sample and adds it when valid; otherwise returns why it was refused.</summary>
    private static string? AddSample(ReadOnlySpan<byte> s, MetricSampleBatch batch)
    {
        ReadOnlySpan<byte> name = default;
        long time = 0;
        double value = 0;
        ulong kind = 0;
        var pos = 0;
        while (pos < s.Length && ProtoWire.TryReadTag(s, ref pos, out var field, out var wireType))
        {
            switch (field)
            {
                case SampleName:
                    ProtoWire.TryReadLength(s, ref pos, out var length);
                    name = s.Slice(pos, length);
                    pos += length;
                    break;
                case SampleTime:
                    ProtoWire.TryReadVarint(s, ref pos, out var t);
                    time = (long)t;
                    break;
                case SampleValue:
                    value = BitConverter.Int64BitsToDouble(BinaryPrimitives.ReadInt64LittleEndian(s.Slice(pos, 8)));
                    pos += 8;
                    break;
                case SampleKind:
                    ProtoWire.TryReadVarint(s, ref pos, out kind);
                    break;
                default:
                    var ignored = default(WireError);
                    ProtoWire.TrySkip(s, ref pos, field, wireType, ref ignored);
                    break;
            }
        }

        // An enum is an int32 on the wire: protobuf parsers keep the low 32 bits of a longer varint.
        var k = (int)(uint)kind;
        if (name.IsEmpty)
        {
            return "name is required";
        }

        if (!Utf8.IsValid(name))
        {
            return "name must be valid UTF-8";
        }

        if (k is < (int)MetricKind.Gauge or > (int)MetricKind.SumCumulative)
        {
            return k == 0 ? "kind is METRIC_KIND_UNSPECIFIED" : $"kind {k} is not a known MetricKind";
        }

        if (!double.IsFinite(value))
        {
            return "value must be finite";
        }

        batch.Add(name, time, value, (MetricKind)k);
        return null;
    }

    private static string MetricFieldName(int field) => field switch
    {
        MetricDeployment => "deployment",
        MetricVersion => "version",
        MetricSamples => "samples",
        _ => "unknown",
    };

    private static string SampleFieldName(int field) => field switch
    {
        SampleName => "name",
        SampleTime => "time_unix_micros",
        SampleValue => "value",
        SampleKind => "kind",
        _ => "unknown",
    };
}
