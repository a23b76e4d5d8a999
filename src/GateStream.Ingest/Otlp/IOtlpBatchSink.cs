using GateStream.Core.Events;

namespace GateStream.Ingest.Otlp;

/// <summary>
/// Where <see cref="OtlpDecoder"/> hands its batches once a request decoded cleanly. A posted batch belongs to the sink,
/// which returns it to its pool when done (the shards do, after applying it).
/// </summary>
public interface IOtlpBatchSink
{
    void Post(EventBatch batch);

    void Post(MetricSampleBatch batch);
}
