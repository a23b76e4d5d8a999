using Google.Protobuf;

namespace GateStream.Ingest.Tests.Otlp;

/// <summary>Hand-built protobuf bytes, for what the generated messages cannot express (unknown fields, bad framing).</summary>
internal static class Wire
{
    public static byte[] Varint(ulong value)
    {
        var bytes = new List<byte>();
        do
        {
            var b = (byte)(value & 0x7F);
            value >>= 7;
            bytes.Add(value != 0 ? (byte)(b | 0x80) : b);
        }
        while (value != 0);
        return [.. bytes];
    }

    public static byte[] Tag(int field, int wireType) => Varint(((ulong)field << 3) | (uint)wireType);

    public static byte[] VarintField(int field, ulong value) => [.. Tag(field, 0), .. Varint(value)];

    public static byte[] Fixed64Field(int field, ulong value) => [.. Tag(field, 1), .. BitConverter.GetBytes(value)];

    public static byte[] Fixed32Field(int field, uint value) => [.. Tag(field, 5), .. BitConverter.GetBytes(value)];

    public static byte[] LengthDelimited(int field, byte[] payload) => [.. Tag(field, 2), .. Varint((ulong)payload.Length), .. payload];

    public static byte[] Message(int field, IMessage message) => LengthDelimited(field, message.ToByteArray());

    /// <summary>One unknown field of every wire type a reader must skip, numbered from <paramref name="first"/>.</summary>
    public static byte[] UnknownFields(int first = 900) =>
    [
        .. VarintField(first, 0xFFFF_FFFF_FFFF),
        .. Fixed64Field(first + 1, 0x0102_0304_0506_0708),
        .. LengthDelimited(first + 2, [.. VarintField(1, 7), .. LengthDelimited(2, [1, 2, 3])]),
        .. Fixed32Field(first + 3, 0xDEAD_BEEF),
        .. VarintField(first + 4, ulong.MaxValue),
    ];
}
