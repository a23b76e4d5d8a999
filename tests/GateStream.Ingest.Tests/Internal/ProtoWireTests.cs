using GateStream.Ingest.Internal;

namespace GateStream.Ingest.Tests.Internal;

/// <summary>The block-at-a-time packed-varint count and the inline packed read agree with the byte-by-byte definitions.</summary>
public class ProtoWireTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void Counting_a_packed_run_agrees_with_a_byte_by_byte_count_around_every_block_boundary(int seed)
    {
        var random = new Random(seed);
        for (var i = 0; i < 4_000; i++)
        {
            var packed = RandomPacked(random, random.Next(0, 300));
            var expected = CountByteByByte(packed);

            var ok = ProtoWire.TryCountPackedVarints(packed, out var count);

            Assert.Equal(expected, (ok, count));
        }
    }

    [Fact]
    public void A_ten_byte_run_is_refused_at_its_start_wherever_it_falls_in_a_block()
    {
        for (var start = 0; start < 140; start++)
        {
            var packed = new byte[160];
            packed.AsSpan(start, ProtoWire.MaxVarintBytes).Fill(0x80);

            Assert.False(ProtoWire.TryCountPackedVarints(packed, out var at));
            Assert.Equal(start, at);

            // Nine continuation bytes and a terminator is a whole (10-byte) varint.
            packed[start + ProtoWire.MaxVarintBytes - 1] = 0x01;
            Assert.True(ProtoWire.TryCountPackedVarints(packed, out var count));
            Assert.Equal(packed.Length - (ProtoWire.MaxVarintBytes - 1), count);
        }
    }

    [Fact]
    public void A_run_cut_off_by_the_end_is_refused_at_its_start()
    {
        for (var length = 1; length < 200; length++)
        {
            var packed = new byte[length];
            packed[^1] = 0x81;

            Assert.False(ProtoWire.TryCountPackedVarints(packed, out var at));
            Assert.Equal(length - 1, at);
        }
    }

    [Fact]
    public void Reading_a_packed_run_gives_the_values_the_general_reader_gives_up_to_the_last_byte()
    {
        var random = new Random(7);
        for (var i = 0; i < 2_000; i++)
        {
            var values = new List<ulong>();
            var bytes = new List<byte>();
            for (var n = random.Next(1, 40); n > 0; n--)
            {
                var value = random.Next(4) switch
                {
                    0 => (ulong)random.Next(128),
                    1 => (ulong)random.Next(1 << 21),
                    2 => (ulong)random.NextInt64(),
                    _ => ulong.MaxValue - (ulong)random.Next(1000),
                };
                values.Add(value);
                bytes.AddRange(Otlp.Wire.Varint(value));
            }

            var packed = bytes.ToArray();
            var position = 0;
            var read = new List<ulong>();
            while (position < packed.Length)
            {
                read.Add(ProtoWire.ReadPackedVarint(packed, ref position));
            }

            Assert.Equal(values, read);
            Assert.Equal(packed.Length, position);
        }
    }

    /// <summary>Varints of 1 to 10 bytes, and now and then a run of continuation bytes or a cut-off end.</summary>
    private static byte[] RandomPacked(Random random, int length)
    {
        var bytes = new byte[length];
        var i = 0;
        while (i < length)
        {
            var size = random.Next(10) == 0 ? random.Next(9, 16) : random.Next(1, 4);
            for (var k = 0; k < size && i < length; k++, i++)
            {
                bytes[i] = (byte)(k < size - 1 ? 0x80 | random.Next(128) : random.Next(128));
            }
        }

        if (length > 0 && random.Next(4) == 0)
        {
            bytes[^1] |= 0x80;
        }

        return bytes;
    }

    private static (bool Ok, int Count) CountByteByByte(byte[] packed)
    {
        int n = 0, run = 0;
        for (var i = 0; i < packed.Length; i++)
        {
            if (packed[i] < 0x80)
            {
                n++;
                run = 0;
            }
            else if (++run == ProtoWire.MaxVarintBytes)
            {
                return (false, i - (ProtoWire.MaxVarintBytes - 1));
            }
        }

        return run != 0 ? (false, packed.Length - run) : (true, n);
    }
}
