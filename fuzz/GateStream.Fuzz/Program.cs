using GateStream.Fuzz;
using SharpFuzz;

// gatestream-fuzz TARGET              under afl-fuzz (persistent mode; see fuzz/README.md)
// gatestream-fuzz TARGET FILE|DIR...  run inputs once each, e.g. to reproduce a crash afl-fuzz saved
if (args.Length == 0 || Targets.Find(args[0]) is not { } target)
{
    Console.Error.WriteLine("usage: GateStream.Fuzz TARGET [FILE|DIR...]");
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

var failed = 0;
foreach (var file in args.Skip(1).SelectMany(a => Directory.Exists(a) ? Directory.EnumerateFiles(a, "*", SearchOption.AllDirectories) : [a]))
{
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

Console.WriteLine($"{target.Name}: {failed} of the inputs failed.");
return failed == 0 ? 0 : 1;
