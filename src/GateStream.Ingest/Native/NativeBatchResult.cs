using GateStream.Core.Events;

namespace GateStream.Ingest.Native;

/// <summary>
/// The outcome of decoding one well-formed <c>EventBatch</c> or <c>MetricBatch</c> message.
/// </summary>
/// <param name="Accepted">Events (or samples) that passed validation and are in the decoded batch.</param>
/// <param name="Rejected">
/// Events of a batch refused whole (column lengths, empty key), or metric samples refused (a whole batch with an empty
/// key, or single invalid samples).
/// </param>
/// <param name="Problem">Null when nothing was rejected; otherwise why (the first problem), in English, for senders and logs.</param>
public readonly record struct NativeBatchResult(int Accepted, int Rejected, string? Problem);

/// <summary>Totals over the batches of one <c>PushRequest</c> (the numbers a framed ACK or a PushResponse carries).</summary>
public struct NativeIngestCounts
{
    /// <summary>Events in batches that passed validation (handed on for their series).</summary>
    public int AcceptedEvents { get; internal set; }

    /// <summary>Events in event batches that were refused whole.</summary>
    public int RejectedEvents { get; internal set; }

    /// <summary>Metric samples that passed validation.</summary>
    public int AcceptedSamples { get; internal set; }

    /// <summary>Metric samples refused: every sample of a refused batch, plus each invalid sample.</summary>
    public int RejectedSamples { get; internal set; }

    /// <summary>Batches with at least one rejection (refused whole, or with invalid samples).</summary>
    public int RejectedBatches { get; internal set; }

    /// <summary>The first rejection, naming the batch and why; null when nothing was rejected.</summary>
    public string? FirstProblem { get; internal set; }
}

/// <summary>One decoded, valid batch handed out by <see cref="NativeBatchReader.TryReadNext(out NativeBatch)"/>; exactly one of the two is set.</summary>
/// <param name="Events">A request event batch, rented from the reader's event pool; the receiver owns it.</param>
/// <param name="Metrics">A metric sample batch, rented from the reader's metric pool; the receiver owns it.</param>
public readonly record struct NativeBatch(EventBatch? Events, MetricSampleBatch? Metrics);
