namespace GateStream.Core.Gates;

public sealed partial class Gate
{
    private GateHistory? _chart;

    /// <summary>
    /// The gate's chart history (both versions' requests, errors and p99, and the weight, over the rollout's life).
    /// Read it on the gate's shard, like the gate's other state.
    /// </summary>
    public GateHistory History => _chart ??= new GateHistory(StartedMicros);

    /// <summary>
    /// Adds a history point when one is due, from the lifetime counts the tick has just read and each version's p99 over
    /// its series window: two latency reads per gate per second, on the shard thread, never on the ingest path.
    /// </summary>
    private void SampleChart(long nowMicros, long canaryRequests, long canaryErrors)
    {
        var history = History;
        if (!history.IsDue(nowMicros))
        {
            return;
        }

        var (baselineRequests, baselineErrors) = BaselineLifetime;
        history.Sample(
            nowMicros,
            canaryRequests,
            canaryErrors,
            baselineRequests,
            baselineErrors,
            P99Ms(_canary),
            P99Ms(_baseline),
            Weight);
    }

    private static double P99Ms(Series? series) =>
        series is { IsLive: true } live ? live.Requests.LatencyAtQuantile(0.99) / 1_000.0 : 0;
}
