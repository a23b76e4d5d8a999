using GateStream.Core.Events;
using GateStream.Ingest.Internal;

namespace GateStream.Ingest.Native;

// gatestream.v1.EventBatch: scanned once to validate the wire structure and count each column, then (if the columns
// agree) read again to fill the engine's columns in place. Field numbers are the wire contract (events.proto).
public sealed partial class NativeBatchReader
{
    private const int EventDeployment = 1;
    private const int EventVersion = 2;
    private const int EventBaseTime = 3;
    private const int EventTimeDeltas = 4;
    private const int EventLatencies = 5;
    private const int EventStatusCodes = 6;
    private const int EventErrors = 7;

    /// <summary>
    /// Decodes one <c>gatestream.v1.EventBatch</c> message into <paramref name="batch"/> (its key and columns; the
    /// caller sets <see cref="EventBatch.Source"/>). Allocates nothing for a valid batch.
    /// </summary>
    /// <returns>
    /// False when the bytes are not a well-formed EventBatch (<paramref name="result"/>.Problem names the byte offset);
    /// true otherwise, and then either the batch passed validation (<c>Rejected == 0</c>, the batch holds its events)
    /// or it was refused whole (<c>Accepted == 0</c>, <c>Rejected</c> = its events, <c>Problem</c> says why, and the
    /// batch is left empty). Post the batch only when the call returned true and <see cref="EventBatch.Count"/> &gt; 0.
    /// </returns>
    public static bool TryReadEventBatch(ReadOnlySpan<byte> message, EventBatch batch, out NativeBatchResult result) =>
        TryReadEventBatch(message, batch, new Location(0, null, 0), out result);

    private static bool TryReadEventBatch(ReadOnlySpan<byte> message, EventBatch batch, Location location, out NativeBatchResult result)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var scan = default(EventScan);
        var error = default(WireError);
        if (!TryScanEventBatch(message, ref scan, ref error))
        {
            batch.Resize(0);
            result = new NativeBatchResult(0, 0, location.Malformed(error));
            return false;
        }

        return ReadScannedEventBatch(message, in scan, batch, location, out result);
    }

    /// <summary>Validates and fills a batch whose wire structure <see cref="TryScanEventBatch"/> has checked and counted.</summary>
    private static bool ReadScannedEventBatch(ReadOnlySpan<byte> message, in EventScan scan, EventBatch batch, Location location, out NativeBatchResult result)
    {
        var problem = Validate(message, in scan);
        if (problem is not null)
        {
            batch.Resize(0);
            result = new NativeBatchResult(0, scan.Times, location.Rejected(message, scan.DeploymentStart, scan.DeploymentLength, scan.VersionStart, scan.VersionLength, problem));
            return true;
        }

        Fill(message, in scan, batch);
        result = new NativeBatchResult(scan.Times, 0, null);
        return true;
    }

    private struct EventScan
    {
        public int DeploymentStart;
        public int DeploymentLength;
        public int VersionStart;
        public int VersionLength;
        public long BaseTime;
        public int Times;
        public int Latencies;
        public int StatusCodes;
        public int Errors;
    }

    /// <summary>Checks the wire structure and counts the columns. Known fields must have their own wire type.</summary>
    private static bool TryScanEventBatch(ReadOnlySpan<byte> m, ref EventScan scan, ref WireError error)
    {
        var pos = 0;
        while (pos < m.Length)
        {
            var tagAt = pos;
            if (!ProtoWire.TryReadTag(m, ref pos, out var field, out var wireType, ref error))
            {
                return false;
            }

            switch (field)
            {
                case EventDeployment or EventVersion:
                    if (!TryScanLength(m, ref pos, tagAt, field, EventFieldName(field), wireType, out var length, ref error))
                    {
                        return false;
                    }

                    if (field == EventDeployment)
                    {
                        (scan.DeploymentStart, scan.DeploymentLength) = (pos, length);
                    }
                    else
                    {
                        (scan.VersionStart, scan.VersionLength) = (pos, length);
                    }

                    pos += length;
                    break;
                case EventBaseTime:
                    if (wireType != ProtoWire.Varint)
                    {
                        return WrongWireType(ref error, tagAt, field, EventFieldName(field), wireType, WireType.Varint);
                    }

                    if (!ProtoWire.TryReadVarint(m, ref pos, out var baseTime))
                    {
                        return ProtoWire.FailVarint(m, pos, field, ref error);
                    }

                    scan.BaseTime = (long)baseTime;
                    break;
                case EventTimeDeltas or EventLatencies or EventStatusCodes or EventErrors:
                    if (wireType is not (ProtoWire.Varint or ProtoWire.LengthDelimited))
                    {
                        return WrongWireType(ref error, tagAt, field, EventFieldName(field), wireType, WireType.Varint, packed: true);
                    }

                    if (!TryScanRepeatedVarint(m, ref pos, field, wireType, out var count, ref error))
                    {
                        return false;
                    }

                    switch (field)
                    {
                        case EventTimeDeltas:
                            scan.Times += count;
                            break;
                        case EventLatencies:
                            scan.Latencies += count;
                            break;
                        case EventStatusCodes:
                            scan.StatusCodes += count;
                            break;
                        default:
                            scan.Errors += count;
                            break;
                    }

                    break;
                default:
                    if (!ProtoWire.TrySkip(m, ref pos, field, wireType, ref error))
                    {
                        return false;
                    }

                    break;
            }
        }

        return true;
    }

    /// <summary>A repeated varint field (wire type 0 or 2), packed (one length-delimited run) or not (one value per tag): proto3 parsers accept both.</summary>
    private static bool TryScanRepeatedVarint(ReadOnlySpan<byte> m, ref int pos, int field, int wireType, out int count, ref WireError error)
    {
        count = 0;
        if (wireType == ProtoWire.Varint)
        {
            if (!ProtoWire.TryReadVarint(m, ref pos, out _))
            {
                return ProtoWire.FailVarint(m, pos, field, ref error);
            }

            count = 1;
            return true;
        }

        if (!ProtoWire.TryReadLength(m, ref pos, field, out var length, ref error))
        {
            return false;
        }

        if (!ProtoWire.TryCountPackedVarints(m.Slice(pos, length), out var n))
        {
            ProtoWire.FailVarint(m[..(pos + length)], pos + n, field, ref error);
            error.FieldName = EventFieldName(field);
            error.InPacked = true;
            return false;
        }

        pos += length;
        count = n;
        return true;
    }

    /// <summary>The batch rules of events.proto; null when the batch is valid.</summary>
    private static string? Validate(ReadOnlySpan<byte> m, in EventScan scan)
    {
        var n = scan.Times;
        if (KeyProblem(m, scan.DeploymentStart, scan.DeploymentLength, scan.VersionStart, scan.VersionLength) is { } keyProblem)
        {
            return keyProblem;
        }

        if (scan.Latencies != n)
        {
            return $"latency_micros has {scan.Latencies} values for {n} events";
        }

        if (scan.StatusCodes != 0 && scan.StatusCodes != n)
        {
            return $"status_codes has {scan.StatusCodes} values for {n} events (it must be empty or one per event)";
        }

        if (scan.Errors != 0 && scan.Errors != n)
        {
            return $"errors has {scan.Errors} values for {n} events (it must be empty or one per event)";
        }

        return null;
    }

    /// <summary>Second pass over a scanned, valid batch: the columns go straight into the batch's arrays.</summary>
    private static void Fill(ReadOnlySpan<byte> m, in EventScan scan, EventBatch batch)
    {
        batch.Key.Set(m.Slice(scan.DeploymentStart, scan.DeploymentLength), m.Slice(scan.VersionStart, scan.VersionLength));
        batch.Resize(scan.Times);
        var times = batch.WritableTimes;
        var latencies = batch.WritableLatencies;
        var errors = batch.WritableErrors;
        var fromErrors = scan.Errors != 0;
        int t = 0, l = 0, s = 0, e = 0;
        var time = scan.BaseTime; // deltas become absolute times as they are read (the first from the base time), wrapping rather than throwing on absurd input
        var pos = 0;
        while (pos < m.Length && ProtoWire.TryReadTag(m, ref pos, out var field, out var wireType))
        {
            ReadOnlySpan<byte> values;
            if (field is < EventTimeDeltas or > EventErrors)
            {
                var ignored = default(WireError);
                if (!ProtoWire.TrySkip(m, ref pos, field, wireType, ref ignored))
                {
                    return;
                }

                continue;
            }

            if (wireType == ProtoWire.LengthDelimited)
            {
                ProtoWire.TryReadLength(m, ref pos, out var length);
                values = m.Slice(pos, length);
                pos += length;
            }
            else
            {
                // One unpacked value: decode it from where it stands.
                var start = pos;
                ProtoWire.TryReadVarint(m, ref pos, out _);
                values = m[start..pos];
            }

            switch (field)
            {
                case EventTimeDeltas:
                    t = FillTimes(values, times, t, ref time);
                    break;
                case EventLatencies:
                    l = FillLatencies(values, latencies, l);
                    break;
                case EventStatusCodes:
                    // Status codes decide error-ness only when there is no errors column.
                    if (!fromErrors)
                    {
                        s = FillStatusErrors(values, errors, s);
                    }

                    break;
                default:
                    e = FillErrors(values, errors, e);
                    break;
            }
        }

        if (scan.Errors == 0 && scan.StatusCodes == 0)
        {
            errors.Clear();
        }
    }

    // The fill loops read varints that the scan has already checked (ProtoWire.ReadPackedVarint).
    private static int FillTimes(ReadOnlySpan<byte> packed, Span<long> times, int index, ref long time)
    {
        var pos = 0;
        while (pos < packed.Length && (uint)index < (uint)times.Length)
        {
            time += ProtoWire.DecodeZigZag(ProtoWire.ReadPackedVarint(packed, ref pos));
            times[index++] = time;
        }

        return index;
    }

    private static int FillLatencies(ReadOnlySpan<byte> packed, Span<long> latencies, int index)
    {
        var pos = 0;
        while (pos < packed.Length && (uint)index < (uint)latencies.Length)
        {
            latencies[index++] = (uint)ProtoWire.ReadPackedVarint(packed, ref pos); // uint32 on the wire: protobuf parsers truncate a longer varint to 32 bits.
        }

        return index;
    }

    private static int FillStatusErrors(ReadOnlySpan<byte> packed, Span<bool> errors, int index)
    {
        var pos = 0;
        while (pos < packed.Length && (uint)index < (uint)errors.Length)
        {
            errors[index++] = (uint)ProtoWire.ReadPackedVarint(packed, ref pos) >= 500;
        }

        return index;
    }

    private static int FillErrors(ReadOnlySpan<byte> packed, Span<bool> errors, int index)
    {
        var pos = 0;
        while (pos < packed.Length && (uint)index < (uint)errors.Length)
        {
            errors[index++] = ProtoWire.ReadPackedVarint(packed, ref pos) != 0;
        }

        return index;
    }

    private static string EventFieldName(int field) => field switch
    {
        EventDeployment => "deployment",
        EventVersion => "version",
        EventBaseTime => "base_time_unix_micros",
        EventTimeDeltas => "time_deltas_micros",
        EventLatencies => "latency_micros",
        EventStatusCodes => "status_codes",
        EventErrors => "errors",
        _ => "unknown",
    };
}
