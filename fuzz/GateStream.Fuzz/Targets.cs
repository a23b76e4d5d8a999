namespace GateStream.Fuzz;

/// <summary>Every target the harness knows. To add one: a class with a <c>Run(ReadOnlySpan&lt;byte&gt;)</c> body, a line here, and seeds in <c>fuzz/corpus/&lt;Name&gt;/</c>.</summary>
public static class Targets
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        new("PolicyLoader", "policy YAML (bytes decoded as a policy file is) through the loader and validator", PolicyLoaderTarget.Run),
        new("OtlpDecoder", "an OTLP Export request (first byte even: traces, odd: metrics) through the zero-copy decoder", IngestTargets.OtlpExport),
        new("KafkaJsonDecoder", "one Kafka message of a json-encoded topic through JsonEventDecoder", IngestTargets.KafkaJson),

        // Designed, not yet written: NativeBatchReader, FramedSession (frames through a pipe), DecisionLogRecovery
        // (a segment file in a fresh state directory). Each is a class, a line here, a corpus folder and a fuzz.sh case.
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => string.Equals(t.Name, name, StringComparison.OrdinalIgnoreCase));
}
