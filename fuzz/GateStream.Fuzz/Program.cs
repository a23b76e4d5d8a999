using System.Runtime.InteropServices;
using GateStream.Fuzz;
using SharpFuzz;

// gatestream-fuzz TARGET              under afl-fuzz (persistent mode; see fuzz/README.md)
// gatestream-fuzz TARGET FILE|DIR...  run inputs once each, e.g. to reproduce a crash afl-fuzz saved
// gatestream-fuzz seeds CORPUS        (re)write the generated seeds (seed-*) of the targets that have them
if (args.Length == 2 && args[0] == "seeds")
{
    Seeds.WriteAll(args[1]);
    return 0;
}

if (args.Length == 0 || Targets.Find(args[0]) is not { } target)
{
    Console.Error.WriteLine("usage: GateStream.Fuzz TARGET [FILE|DIR...] | GateStream.Fuzz seeds CORPUS_DIR");
    Console.Error.WriteLine("targets:");
    foreach (var t in Targets.All)
    {
        Console.Error.WriteLine($"  {t.Name,-20} {t.What}");
    }

    return 2;
}

if (args.Length == 1)
{
    Fuzzer.Run(stream =>
    {
        using var buffer = new MemoryStream();
        stream.CopyTo(buffer);
        target.Run(buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
    });
    return 0;
}

// Assemblies rewritten by `dotnet sharpfuzz` count branches into afl's map, which only exists under afl-fuzz: give
// them one here so instrumented builds replay inputs too, and say how much of it the inputs touched. 0 in an
// instrumented build means the target never runs instrumented code: afl-fuzz would stop with "No instrumentation detected".
var map = CoverageMap.Attach();
var failed = 0;
var files = 0;
foreach (var file in args.Skip(1).SelectMany(a => Directory.Exists(a) ? Directory.EnumerateFiles(a, "*", SearchOption.AllDirectories) : [a]))
{
    files++;
    try
    {
        target.Run(File.ReadAllBytes(file));
    }
    catch (Exception e)
    {
        failed++;
        Console.Error.WriteLine($"{file}: {e}");
    }
}

Console.WriteLine($"{target.Name}: {failed} of {files} inputs failed; map entries touched by instrumented code: {CoverageMap.Touched(map)}");
return failed == 0 ? 0 : 1;

/// <summary>SharpFuzz's coverage map (afl's shared memory) for replays outside afl-fuzz.</summary>
internal static unsafe class CoverageMap
{
    private const int Size = 1 << 16;

    public static nint Attach()
    {
        if (SharpFuzz.Common.Trace.SharedMem == null)
        {
            SharpFuzz.Common.Trace.SharedMem = (byte*)NativeMemory.AllocZeroed(Size);
        }

        return (nint)SharpFuzz.Common.Trace.SharedMem;
    }

    public static int Touched(nint map) => Size - new ReadOnlySpan<byte>((void*)map, Size).Count((byte)0);
}
