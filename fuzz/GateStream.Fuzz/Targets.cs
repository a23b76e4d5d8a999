namespace GateStream.Fuzz;

/// <summary>Every target the harness knows. To add one: a class with a <c>Run(ReadOnlySpan&lt;byte&gt;)</c> body, a line here, and seeds in <c>fuzz/corpus/&lt;Name&gt;/</c>.</summary>
public static class Targets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("PolicyLoader", "policy YAML (bytes decoded as a policy file is) through the loader and validator", PolicyLoaderTarget.Run),
        new("OtlpDecoder", "an OTLP Export request (first byte even: traces, odd: metrics) through the zero-copy decoder", IngestTargets.OtlpExport),
        new("KafkaJsonDecoder", "one Kafka message of a json-encoded topic through JsonEventDecoder", IngestTargets.KafkaJson),
        new("NativeBatchReader", "a native PushRequest (cut across pipe segments), EventBatch or MetricBatch (first byte picks) through NativeBatchReader", NativeBatchReaderTarget.Run),
        new("FramedSession", "a framed connection's client bytes (handshake, frames) through FramedIngestHandler over in-memory pipes", FramedSessionTarget.Run),
        new("DecisionLogRecovery", "a damaged decision-log segment through SegmentScan.Of and DecisionLog.Open (see the target for the layout)", DecisionLogRecoveryTarget.Run),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase));
}
