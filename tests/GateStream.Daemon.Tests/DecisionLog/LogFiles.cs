namespace GateStream.Daemon.Tests.DecisionLog;

/// <summary>Damage done to segment files by hand, as a disk or a person would.</summary>
internal static class LogFiles
{
    public static void FlipBit(string file, long offset, int bit)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = offset;
        var value = stream.ReadByte();
        stream.Position = offset;
        stream.WriteByte((byte)(value ^ (1 << bit)));
    }
}
