using System.Collections.Frozen;
using System.Runtime.CompilerServices;
using System.Text;
using GateStream.Core.Gates;
using Google.Protobuf.Reflection;
using V1 = GateStream.Contracts.V1;

namespace GateStream.Wire;

/// <summary>
/// How enum values are shown to people and scripts, all derived from the value names in <c>proto/gatestream/v1</c>,
/// so every surface (CLI, logs, environment variables, JSON) names a value the same way:
/// <list type="bullet">
/// <item><see cref="ProtoName{T}"/>: the proto name, as protobuf JSON writes it (<c>PHASE_ROLLED_BACK</c>, <c>ACTION_HOLD</c>);</item>
/// <item><see cref="Label{T}"/>: without the enum's prefix (<c>ROLLED_BACK</c>, <c>HOLD</c>): lines for people, environment variables;</item>
/// <item><see cref="Title{T}"/>: in words run together (<c>RolledBack</c>, <c>Hold</c>): phases in human lines and logs.</item>
/// </list>
/// A value the proto does not define (a newer sender's) is shown by its number.
/// </summary>
public static class WireNames
{
    public static string ProtoName<T>(T value)
        where T : struct, Enum => Names<T>.Lookup(value).Wire;

    public static string Label<T>(T value)
        where T : struct, Enum => Names<T>.Lookup(value).Label;

    public static string Title<T>(T value)
        where T : struct, Enum => Names<T>.Lookup(value).Title;

    /// <summary><c>PROMOTE</c>, <c>ROLLBACK</c>: as the decision stream names the action.</summary>
    public static string Label(DecisionAction action) => Label(WireEnums.ToWire(action));

    /// <summary><c>Progressing</c>, <c>RolledBack</c>.</summary>
    public static string Title(GatePhase phase) => Title(WireEnums.ToWire(phase));

    private readonly record struct Name(string Wire, string Label, string Title);

    private static class Names<T>
        where T : struct, Enum
    {
        private static readonly FrozenDictionary<int, Name> ByNumber = Build();

        public static Name Lookup(T value)
        {
            var number = Unsafe.As<T, int>(ref value);
            if (ByNumber.TryGetValue(number, out var name))
            {
                return name;
            }

            var text = number.ToString(System.Globalization.CultureInfo.InvariantCulture);
            return new Name(text, text, text);
        }

        private static FrozenDictionary<int, Name> Build()
        {
            if (Unsafe.SizeOf<T>() != sizeof(int) || Descriptor() is not { } descriptor)
            {
                throw new ArgumentException($"{typeof(T).Name} is not a gatestream.v1 enum.");
            }

            // The prefix every value shares, by proto style: the enum's name in upper snake case (RULE_STATUS_).
            var prefix = descriptor.Values.Single(v => v.Number == 0).Name;
            prefix = prefix[..(prefix.LastIndexOf('_') + 1)];
            return descriptor.Values.ToFrozenDictionary(v => v.Number, v =>
            {
                var bare = v.Name.StartsWith(prefix, StringComparison.Ordinal) ? v.Name[prefix.Length..] : v.Name;
                return new Name(v.Name, bare, TitleOf(bare));
            });
        }

        private static EnumDescriptor? Descriptor()
        {
            foreach (var file in new[] { V1.DecisionsReflection.Descriptor, V1.GatesReflection.Descriptor, V1.EventsReflection.Descriptor })
            {
                if (file.EnumTypes.FirstOrDefault(e => e.ClrType == typeof(T)) is { } found)
                {
                    return found;
                }
            }

            return null;
        }
    }

    private static string TitleOf(string upperSnake)
    {
        var text = new StringBuilder(upperSnake.Length);
        foreach (var word in upperSnake.Split('_', StringSplitOptions.RemoveEmptyEntries))
        {
            text.Append(word[0]).Append(word.AsSpan(1).ToString().ToLowerInvariant());
        }

        return text.ToString();
    }
}
