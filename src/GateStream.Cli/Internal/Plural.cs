using System.Globalization;

namespace GateStream.Cli.Internal;

/// <summary>Counts with their noun: <c>1 gate</c>, <c>2 gates</c>, <c>1,204 decisions</c>.</summary>
internal static class Plural
{
    public static string Of(long count, string one, string? many = null) =>
        count.ToString("N0", CultureInfo.InvariantCulture) + " " + (count == 1 ? one : many ?? one + "s");

    public static string Of(ulong count, string one, string? many = null) =>
        count.ToString("N0", CultureInfo.InvariantCulture) + " " + (count == 1 ? one : many ?? one + "s");
}
