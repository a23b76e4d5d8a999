using GateStream.Core.Events;
using GateStream.Ingest.Otlp;

namespace GateStream.Daemon.Otlp;

/// <summary>
/// One OTLP export as the handler receives it: already decoded by the request marshaller, its batches waiting to be
/// posted. Pooled by <see cref="OtlpService"/>, so an export costs no allocation per span or per batch.
/// </summary>
internal sealed class OtlpExport(BatchPool<EventBatch> eventPool, BatchPool<MetricSampleBatch> metricPool)
{
    public PendingBatches Batches { get; } = new(eventPool, metricPool);

    public OtlpDecodeResult Result { get; set; }

    /// <summary>Back to the pool: anything not posted (the call failed early) goes back to the batch pools.</summary>
    public void Reset()
    {
        Batches.ReturnAll();
        Result = default;
    }
}
