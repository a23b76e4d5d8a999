namespace GateStream.Daemon.Tests.Otlp;

/// <summary>
/// The OTLP daemon tests run exporters, daemons and gates at once: they run by themselves, after the parallel
/// tests, so neither they nor the timing-sensitive tests elsewhere are starved on a small machine.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class OtlpSerialTests
{
    public const string Name = "OTLP daemon";
}
