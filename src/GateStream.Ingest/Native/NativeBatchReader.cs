using System.Buffers;
using System.Text;
using System.Text.Unicode;
using GateStream.Core.Events;
using GateStream.Ingest.Internal;

namespace GateStream.Ingest.Native;

/// <summary>
/// A hand-written reader for the native ingest messages (<c>gatestream.v1.PushRequest</c>, <c>EventBatch</c>,
/// <c>MetricBatch</c>, see proto/gatestream/v1/events.proto), decoding straight into the engine's pooled
/// <see cref="EventBatch"/> and <see cref="MetricSampleBatch"/> without materialising protobuf objects: no allocation
/// per event or per valid batch in steady state.
/// </summary>
/// <remarks>
/// <para>
/// Two kinds of bad input are told apart. <b>Malformed</b> bytes are not protobuf of the expected shape (a bad or
/// cut-off varint, a length past the end, a known field with the wrong wire type, wire type 6 or 7, an unbalanced
/// group): the whole message is undecodable and the call returns false with a message naming the byte offset.
/// <b>Invalid</b> batches are well-formed but break the rules of events.proto (columns of different lengths, an empty
/// key, a sample that is not finite ...): they are refused and counted, and the rest of the message is read.
/// Unknown fields of every wire type are skipped, and repeated scalar columns are accepted packed or unpacked.
/// </para>
/// <para>
/// A <c>PushRequest</c> is checked whole by <see cref="TryBegin(in ReadOnlySequence{byte}, out string?)"/> before any
/// batch is handed out, so a malformed message is never half applied. Its batches then come out one at a time from
/// <see cref="TryReadNext(out NativeBatch)"/>, event batches first, then metric batches (the order
/// ingest_service.proto promises), so the caller can post each one (and wait for room) before decoding the next:
/// at most one decoded batch is in the caller's hands at a time, whatever the size of the message.
/// </para>
/// <para>
/// The payload may be split across buffer segments (a pipe's). Batches that lie within one segment are read in
/// place; one that straddles segments is copied into a scratch buffer owned by this reader and reused (it grows to
/// the largest such batch). Not thread-safe: one reader per connection or consumer.
/// </para>
/// </remarks>
public sealed partial class NativeBatchReader
{
    private const int PushEvents = 1;
    private const int PushMetrics = 2;

    private readonly BatchPool<EventBatch> _eventPool;
    private readonly BatchPool<MetricSampleBatch> _metricPool;
    private byte[] _scratch = [];

    // The scans TryBegin made of the message's event batches, by index, so that TryReadNext does not count them again.
    private EventScan[] _eventScans = [];
    private ReadOnlySequence<byte> _payload;
    private ReadOnlySequence<byte> _rest;
    private long _restOffset;
    private int _phase = Done;
    private int _eventIndex;
    private int _metricIndex;
    private NativeIngestCounts _counts;

    private const int ReadingEvents = 0;
    private const int ReadingMetrics = 1;
    private const int Done = 2;

    /// <param name="eventPool">Where decoded event batches are rented from (the engine's pool, which its shards return to).</param>
    /// <param name="metricPool">Where decoded metric batches are rented from.</param>
    /// <param name="source">Written to each batch's <c>Source</c> (e.g. "framed", "kafka") for the engine's counters and logs.</param>
    public NativeBatchReader(BatchPool<EventBatch> eventPool, BatchPool<MetricSampleBatch> metricPool, string source)
    {
        _eventPool = eventPool ?? throw new ArgumentNullException(nameof(eventPool));
        _metricPool = metricPool ?? throw new ArgumentNullException(nameof(metricPool));
        Source = source ?? throw new ArgumentNullException(nameof(source));
    }

    /// <summary>The source name written to every batch.</summary>
    public string Source { get; }

    /// <summary>Totals for the message begun by the last <see cref="TryBegin(in ReadOnlySequence{byte}, out string?)"/>, so far.</summary>
    public NativeIngestCounts Counts => _counts;

    /// <summary>
    /// Checks the wire structure of a whole <c>PushRequest</c> (every batch and sample in it) and, when it is
    /// well-formed, positions the reader at its first batch. The bytes must stay valid and unchanged until the last
    /// <see cref="TryReadNext(out NativeBatch)"/>.
    /// </summary>
    /// <param name="pushRequest">The serialized message.</param>
    /// <param name="problem">When malformed: where (byte offset in <paramref name="pushRequest"/>) and what.</param>
    public bool TryBegin(in ReadOnlySequence<byte> pushRequest, out string? problem)
    {
        _counts = default;
        _eventIndex = 0;
        _metricIndex = 0;
        _phase = Done;
        _payload = default;
        _rest = default;
        if (!TryValidatePushRequest(pushRequest, out problem))
        {
            return false;
        }

        _payload = pushRequest;
        _rest = pushRequest;
        _restOffset = 0;
        _phase = ReadingEvents;
        return true;
    }

    /// <inheritdoc cref="TryBegin(in ReadOnlySequence{byte}, out string?)"/>
    public bool TryBegin(ReadOnlyMemory<byte> pushRequest, out string? problem) =>
        TryBegin(new ReadOnlySequence<byte>(pushRequest), out problem);

    /// <summary>
    /// Decodes the next valid batch of the message. Refused batches are counted in <see cref="Counts"/> and skipped.
    /// The caller owns the returned batch (post it to the engine, or return it to its pool).
    /// </summary>
    /// <returns>False when no batch is left.</returns>
    public bool TryReadNext(out NativeBatch batch)
    {
        while (_phase != Done)
        {
            var wanted = _phase == ReadingEvents ? PushEvents : PushMetrics;
            var reader = new SequenceReader<byte>(_rest);
            var error = default(WireError);
            while (!reader.End)
            {
                if (!ProtoWire.TryReadVarint(ref reader, 0, out var tag, ref error))
                {
                    break; // Not reachable after validation; ends the message rather than looping.
                }

                var field = (int)(tag >> 3);
                var wireType = (int)(tag & 7);
                if (field != wanted || wireType != ProtoWire.LengthDelimited)
                {
                    if (!ProtoWire.TrySkip(ref reader, field, wireType, ref error))
                    {
                        break;
                    }

                    continue;
                }

                ProtoWire.TryReadVarint(ref reader, field, out var length, ref error);
                var offset = _restOffset + reader.Consumed;
                var bytes = _rest.Slice(reader.Position, (long)length);
                reader.Advance((long)length);
                var message = Contiguous(bytes);
                if (wanted == PushEvents ? TryTakeEvents(message, offset, out batch) : TryTakeMetrics(message, offset, out batch))
                {
                    _restOffset += reader.Consumed;
                    _rest = _rest.Slice(reader.Position);
                    return true;
                }
            }

            _phase++;
            _rest = _payload;
            _restOffset = 0;
        }

        _payload = default;
        _rest = default;
        batch = default;
        return false;
    }

    private bool TryTakeEvents(ReadOnlySpan<byte> message, long offset, out NativeBatch batch)
    {
        var events = _eventPool.Rent();
        var index = _eventIndex++;
        var ok = ReadScannedEventBatch(message, in _eventScans[index], events, new Location(offset, "events", index), out var result);
        _counts.AcceptedEvents += result.Accepted;
        _counts.RejectedEvents += result.Rejected;
        if (result.Problem is not null)
        {
            _counts.RejectedBatches++;
            _counts.FirstProblem ??= result.Problem;
        }

        if (ok && events.Count > 0)
        {
            events.Source = Source;
            batch = new NativeBatch(events, null);
            return true;
        }

        _eventPool.Return(events);
        batch = default;
        return false;
    }

    private bool TryTakeMetrics(ReadOnlySpan<byte> message, long offset, out NativeBatch batch)
    {
        var metrics = _metricPool.Rent();
        var index = _metricIndex++;
        var ok = TryReadMetricBatch(message, metrics, new Location(offset, "metrics", index), out var result);
        _counts.AcceptedSamples += result.Accepted;
        _counts.RejectedSamples += result.Rejected;
        if (result.Problem is not null)
        {
            _counts.RejectedBatches++;
            _counts.FirstProblem ??= result.Problem;
        }

        if (ok && metrics.Count > 0)
        {
            metrics.Source = Source;
            batch = new NativeBatch(null, metrics);
            return true;
        }

        _metricPool.Return(metrics);
        batch = default;
        return false;
    }

    /// <summary>
    /// Decodes one <c>EventBatch</c> message that may span several segments (a Kafka record, a pipe buffer).
    /// Same contract as <see cref="TryReadEventBatch(ReadOnlySpan{byte}, EventBatch, out NativeBatchResult)"/>.
    /// </summary>
    public bool TryReadEventBatch(in ReadOnlySequence<byte> message, EventBatch batch, out NativeBatchResult result) =>
        TryReadEventBatch(Contiguous(message), batch, new Location(0, null, 0), out result);

    /// <summary>
    /// Decodes one <c>MetricBatch</c> message that may span several segments.
    /// Same contract as <see cref="TryReadMetricBatch(ReadOnlySpan{byte}, MetricSampleBatch, out NativeBatchResult)"/>.
    /// </summary>
    public bool TryReadMetricBatch(in ReadOnlySequence<byte> message, MetricSampleBatch batch, out NativeBatchResult result) =>
        TryReadMetricBatch(Contiguous(message), batch, new Location(0, null, 0), out result);

    /// <summary>Checks the structure of a whole PushRequest without decoding into batches.</summary>
    private bool TryValidatePushRequest(in ReadOnlySequence<byte> payload, out string? problem)
    {
        var reader = new SequenceReader<byte>(payload);
        var error = default(WireError);
        int events = 0, metrics = 0;
        while (!reader.End)
        {
            var tagAt = reader.Consumed;
            if (!ProtoWire.TryReadVarint(ref reader, 0, out var tag, ref error))
            {
                problem = Malformed(error.Offset, null, 0, error.What());
                return false;
            }

            if (tag > uint.MaxValue || !ProtoWire.IsValidFieldNumber(tag >> 3))
            {
                error.Set(WireProblem.InvalidFieldNumber, (int)tagAt, declared: tag);
                problem = Malformed(tagAt, null, 0, error.What());
                return false;
            }

            var field = (int)(tag >> 3);
            var wireType = (int)(tag & 7);
            if (field is not (PushEvents or PushMetrics))
            {
                if (!ProtoWire.TrySkip(ref reader, field, wireType, ref error))
                {
                    problem = Malformed(error.Offset, null, 0, error.What());
                    return false;
                }

                continue;
            }

            var list = field == PushEvents ? "events" : "metrics";
            var index = field == PushEvents ? events++ : metrics++;
            if (wireType != ProtoWire.LengthDelimited)
            {
                WrongWireType(ref error, (int)tagAt, field, list, wireType, WireType.LengthDelimited);
                problem = Malformed(tagAt, list, index, error.What());
                return false;
            }

            var lengthAt = reader.Consumed;
            if (!ProtoWire.TryReadVarint(ref reader, field, out var length, ref error))
            {
                problem = Malformed(error.Offset, list, index, error.What());
                return false;
            }

            if (length > (ulong)reader.Remaining)
            {
                error.Set(WireProblem.TruncatedLength, (int)lengthAt, field, WireType.LengthDelimited, length, (int)reader.Remaining);
                problem = Malformed(lengthAt, list, index, error.What());
                return false;
            }

            var offset = reader.Consumed;
            var message = Contiguous(payload.Slice(reader.Position, (long)length));
            reader.Advance((long)length);
            var ok = field == PushEvents
                ? ScanEvents(message, index, ref error)
                : ScanMetrics(message, ref error);
            if (!ok)
            {
                problem = Malformed(offset + error.Offset, list, index, error.What());
                return false;
            }
        }

        problem = null;
        return true;

        bool ScanEvents(ReadOnlySpan<byte> m, int index, ref WireError error)
        {
            if (index == _eventScans.Length)
            {
                Array.Resize(ref _eventScans, Math.Max(4, index * 2));
            }

            _eventScans[index] = default;
            return TryScanEventBatch(m, ref _eventScans[index], ref error);
        }

        static bool ScanMetrics(ReadOnlySpan<byte> m, ref WireError error)
        {
            var scan = default(MetricScan);
            return TryScanMetricBatch(m, ref scan, ref error);
        }
    }

    /// <summary>The bytes as one span: in place when they lie in one segment, else copied into the scratch buffer.</summary>
    private ReadOnlySpan<byte> Contiguous(in ReadOnlySequence<byte> bytes)
    {
        if (bytes.IsSingleSegment)
        {
            return bytes.FirstSpan;
        }

        var length = checked((int)bytes.Length);
        if (_scratch.Length < length)
        {
            _scratch = new byte[(int)Math.Min(Array.MaxLength, Math.Max(length, _scratch.Length * 2L))];
        }

        bytes.CopyTo(_scratch);
        return _scratch.AsSpan(0, length);
    }

    /// <summary>Reads the length prefix of a known length-delimited field in a scan; a wrong wire type is reported at the tag.</summary>
    private static bool TryScanLength(ReadOnlySpan<byte> m, ref int pos, int tagAt, int field, string name, int wireType, out int length, ref WireError error)
    {
        if (wireType != ProtoWire.LengthDelimited)
        {
            length = 0;
            return WrongWireType(ref error, tagAt, field, name, wireType, WireType.LengthDelimited);
        }

        return ProtoWire.TryReadLength(m, ref pos, field, out length, ref error);
    }

    /// <summary>The events.proto rule for a batch's key: both parts present and valid UTF-8; null when it holds.</summary>
    private static string? KeyProblem(ReadOnlySpan<byte> m, int deploymentStart, int deploymentLength, int versionStart, int versionLength)
    {
        if (deploymentLength == 0 || versionLength == 0)
        {
            return "deployment and version are required";
        }

        return Utf8.IsValid(m.Slice(deploymentStart, deploymentLength)) && Utf8.IsValid(m.Slice(versionStart, versionLength))
            ? null
            : "deployment and version must be valid UTF-8";
    }

    /// <summary>Records a known field's wrong wire type at its tag; returns false.</summary>
    private static bool WrongWireType(ref WireError error, int tagAt, int field, string name, int wireType, WireType expected, bool packed = false)
    {
        error.Set(WireProblem.WrongWireType, tagAt, field, (WireType)wireType);
        error.FieldName = name;
        error.Expected = expected;
        error.ExpectedPacked = packed;
        return false;
    }

    private static string Malformed(long offset, string? list, int index, string what) =>
        list is null ? $"malformed at byte {offset}: {what}" : $"malformed at byte {offset} ({list}[{index}]): {what}";

    /// <summary>Where a batch is, for messages: its offset in the whole payload and its place in the PushRequest lists.</summary>
    private readonly record struct Location(long Offset, string? List, int Index)
    {
        public string Malformed(in WireError error) => NativeBatchReader.Malformed(Offset + error.Offset, List, Index, error.What());

        public string Rejected(ReadOnlySpan<byte> m, int deploymentStart, int deploymentLength, int versionStart, int versionLength, string why)
        {
            var where = List is null ? "" : $"{List}[{Index}] ";
            return $"{where}({Printable(m.Slice(deploymentStart, deploymentLength))}@{Printable(m.Slice(versionStart, versionLength))}): {why}";
        }

        private static string Printable(ReadOnlySpan<byte> utf8)
        {
            const int Max = 64;
            var text = Encoding.UTF8.GetString(utf8[..Math.Min(utf8.Length, Max)]);
            var builder = new StringBuilder(text.Length + 8);
            foreach (var c in text)
            {
                builder.Append(char.IsControl(c) ? '?' : c);
            }

            if (utf8.Length > Max)
            {
                builder.Append("...");
            }

            return builder.ToString();
        }
    }
}
