namespace GateStream.Fuzz;

/// <summary>One input to one target: runs it and returns normally however bad the input is.</summary>
public delegate void FuzzInput(ReadOnlySpan<byte> input);

/// <summary>
/// A fuzz target: a name (the harness's first argument and the corpus folder under <c>fuzz/corpus/</c>) and a body
/// that feeds the input to real product code. Any exception that escapes the body is a finding: bad input must end
/// as a reported problem or a refusal, never as an exception.
/// </summary>
public sealed record FuzzTarget(string Name, string What, FuzzInput Run);
