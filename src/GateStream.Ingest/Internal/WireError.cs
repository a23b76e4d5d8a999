using System.Globalization;

namespace GateStream.Ingest.Internal;

internal enum WireProblem : byte
{
    None,
    TruncatedVarint,
    VarintTooLong,
    TruncatedFixed,
    TruncatedLength,
    InvalidFieldNumber,
    GroupWireType,
    InvalidWireType,
    WrongWireType,
}

/// <summary>
/// The first framing problem found in a request: plain data, written by <see cref="WireReader"/> without allocating;
/// turned into a message only when the request is refused.
/// </summary>
internal struct WireError
{
    public WireProblem Problem;
    public int Offset;
    public int Field;
    public WireType Wire;
    public WireType Expected;
    public string? Message;
    public string? FieldName;
    public ulong Declared;
    public int Available;

    public readonly string Describe(string request)
    {
        var where = string.Create(CultureInfo.InvariantCulture, $"in {Message ?? request} at byte {Offset}");
        var what = Problem switch
        {
            WireProblem.TruncatedVarint => string.Create(CultureInfo.InvariantCulture,
                $"truncated varint{FieldPart()} {where} (only {Available} bytes left)"),
            WireProblem.VarintTooLong => string.Create(CultureInfo.InvariantCulture, $"varint longer than 10 bytes{FieldPart()} {where}"),
            WireProblem.TruncatedFixed => string.Create(CultureInfo.InvariantCulture,
                $"truncated {(Wire == WireType.Fixed64 ? 8 : 4)}-byte value of field {Field} {where} (only {Available} bytes left)"),
            WireProblem.TruncatedLength => string.Create(CultureInfo.InvariantCulture,
                $"field {Field} {where} declares {Declared} bytes but only {Available} remain"),
            WireProblem.InvalidFieldNumber => string.Create(CultureInfo.InvariantCulture, $"invalid field number {Field} {where}"),
            WireProblem.GroupWireType => string.Create(CultureInfo.InvariantCulture,
                $"field {Field} {where} has group wire type {(int)Wire}, which OTLP does not use"),
            WireProblem.InvalidWireType => string.Create(CultureInfo.InvariantCulture,
                $"field {Field} {where} has invalid wire type {(int)Wire}"),
            WireProblem.WrongWireType => string.Create(CultureInfo.InvariantCulture,
                $"field {Field} ({FieldName}) {where} has wire type {Name(Wire)}, expected {Name(Expected)}"),
            _ => string.Create(CultureInfo.InvariantCulture, $"undecodable data {where}"),
        };
        return $"malformed {request}: {what}";
    }

    private readonly string FieldPart() => Field > 0 ? string.Create(CultureInfo.InvariantCulture, $" in field {Field}") : "";

    private static string Name(WireType wire) => wire switch
    {
        WireType.Varint => "0 (varint)",
        WireType.Fixed64 => "1 (64-bit)",
        WireType.LengthDelimited => "2 (length-delimited)",
        WireType.Fixed32 => "5 (32-bit)",
        _ => ((int)wire).ToString(CultureInfo.InvariantCulture),
    };
}
