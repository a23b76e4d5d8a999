using System.Globalization;

namespace GateStream.Ingest.Internal;

/// <summary>What is wrong with the bytes at <see cref="WireError.Offset"/>.</summary>
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
    UnclosedGroup,
    UnmatchedEndGroup,
    MismatchedEndGroup,
    GroupTooDeep,
}

/// <summary>
/// The first framing problem found in a message: plain data, written by <see cref="ProtoWire"/> and
/// <see cref="WireReader"/> without allocating, and turned into text only when the message is refused. The one error
/// model of every protobuf reader in this assembly (OTLP and native).
/// </summary>
/// <remarks>
/// <see cref="Offset"/> is relative to the span the failing <see cref="ProtoWire"/> call was given; readers with an
/// origin (<see cref="WireReader"/>) make it absolute before handing the error on.
/// </remarks>
internal struct WireError
{
    public WireProblem Problem;
    public int Offset;
    public int Field;
    public WireType Wire;
    public WireType Expected;

    /// <summary>The known field accepts a varint or a packed run (repeated scalars) rather than one wire type.</summary>
    public bool ExpectedPacked;

    /// <summary>The varint was inside a packed run of this field.</summary>
    public bool InPacked;

    /// <summary>The message (OTLP: its type, "Span") or place (native: "samples[3]") where the problem was found.</summary>
    public string? Message;

    public string? FieldName;

    /// <summary>The declared length (TruncatedLength), the whole tag (InvalidFieldNumber), or the group's opening field (MismatchedEndGroup).</summary>
    public ulong Declared;

    /// <summary>Bytes left where the value was cut off.</summary>
    public int Available;

    public readonly bool Failed => Problem != WireProblem.None;

    /// <summary>Sets the problem, keeping the offset relative to the caller's span; returns false for tail calls.</summary>
    public bool Set(WireProblem problem, int offset, int field = 0, WireType wire = default, ulong declared = 0, int available = 0)
    {
        this = new WireError { Problem = problem, Offset = offset, Field = field, Wire = wire, Declared = declared, Available = available };
        return false;
    }

    /// <summary>What is wrong, without where (the native reader's wording; its caller adds the byte offset and the batch).</summary>
    public readonly string What()
    {
        var what = Problem switch
        {
            WireProblem.TruncatedVarint => "varint cut off by the end of the message",
            WireProblem.VarintTooLong => "varint longer than 10 bytes",
            WireProblem.TruncatedFixed => Text($"{FixedSize(Wire)}-byte fixed value cut off by the end of the message ({Available} bytes left)"),
            WireProblem.TruncatedLength => Text($"length {Declared} runs past the end of the message ({Available} bytes left)"),
            WireProblem.InvalidFieldNumber => Text($"invalid tag {Declared} (field number {Declared >> 3})"),
            WireProblem.GroupWireType or WireProblem.InvalidWireType => Text($"invalid wire type {(int)Wire} for field {Field}"),
            WireProblem.WrongWireType => Text($"field {Field} ({FieldName}) has wire type {Name(Wire)}, expected {ExpectedText()}"),
            WireProblem.UnclosedGroup => Text($"group (field {Field}) not closed before the end of the message"),
            WireProblem.UnmatchedEndGroup => Text($"end-group tag for field {Field} without a matching start-group"),
            WireProblem.MismatchedEndGroup => Text($"end-group for field {Field} closes a group opened by field {Declared}"),
            WireProblem.GroupTooDeep => Text($"groups nested deeper than {ProtoWire.MaxGroupDepth}"),
            _ => "undecodable data",
        };
        if (InPacked)
        {
            what = $"packed {FieldName}: {what}";
        }

        return Message is null ? what : $"{Message}: {what}";
    }

    /// <summary>The whole sentence, OTLP's wording: what, in which message type, at which byte of <paramref name="request"/>.</summary>
    public readonly string Describe(string request)
    {
        var where = Text($"in {Message ?? request} at byte {Offset}");
        var what = Problem switch
        {
            WireProblem.TruncatedVarint => Text($"truncated varint{FieldPart()} {where} (only {Available} bytes left)"),
            WireProblem.VarintTooLong => Text($"varint longer than 10 bytes{FieldPart()} {where}"),
            WireProblem.TruncatedFixed => Text($"truncated {FixedSize(Wire)}-byte value of field {Field} {where} (only {Available} bytes left)"),
            WireProblem.TruncatedLength => Text($"field {Field} {where} declares {Declared} bytes but only {Available} remain"),
            WireProblem.InvalidFieldNumber => Text($"invalid field number {Field} {where}"),
            WireProblem.GroupWireType => Text($"field {Field} {where} has group wire type {(int)Wire}, which OTLP does not use"),
            WireProblem.InvalidWireType => Text($"field {Field} {where} has invalid wire type {(int)Wire}"),
            WireProblem.WrongWireType => Text($"field {Field} ({FieldName}) {where} has wire type {Name(Wire)}, expected {ExpectedText()}"),
            _ => Text($"{What()} {where}"),
        };
        return $"malformed {request}: {what}";
    }

    private readonly string FieldPart() => Field > 0 ? Text($" in field {Field}") : "";

    private readonly string ExpectedText() => ExpectedPacked ? "0 (varint) or 2 (packed)" : Name(Expected);

    private static int FixedSize(WireType wire) => wire == WireType.Fixed64 ? 8 : 4;

    private static string Text(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);

    private static string Name(WireType wire) => wire switch
    {
        WireType.Varint => "0 (varint)",
        WireType.Fixed64 => "1 (64-bit)",
        WireType.LengthDelimited => "2 (length-delimited)",
        WireType.Fixed32 => "5 (32-bit)",
        _ => ((int)wire).ToString(CultureInfo.InvariantCulture),
    };
}
