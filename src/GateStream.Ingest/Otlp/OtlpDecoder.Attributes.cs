using System.Buffers.Text;
using System.Runtime.InteropServices;
using GateStream.Ingest.Internal;

namespace GateStream.Ingest.Otlp;

/// <summary>Resource attributes (the series key) and attribute values.</summary>
public sealed partial class OtlpDecoder
{
    private enum AttributeState : byte
    {
        Missing,
        Found,
        NotString,
    }

    private enum KeyProblem : byte
    {
        None,
        Missing,
        NotString,
        Empty,
        TooLong,
        Invalid,
    }

    private enum ValueKind : byte
    {
        None,
        String,
        Int,
        Double,
        Other,
    }

    /// <summary>The deployment and version of one resource, as slices of the request.</summary>
    private ref struct ResourceKey
    {
        public ReadOnlySpan<byte> Deployment;
        public ReadOnlySpan<byte> Version;
        public AttributeState DeploymentState;
        public AttributeState VersionState;
    }

    [StructLayout(LayoutKind.Auto)]
    private readonly record struct KeyCheck(KeyProblem Problem, bool OnVersion, int Length)
    {
        public bool Ok => Problem == KeyProblem.None;
    }

    private ref struct AnyValue
    {
        public ValueKind Kind;
        public ReadOnlySpan<byte> String;
        public long Int;
        public double Double;

        /// <summary>An integer from an int, an integral double or a decimal string (senders disagree on the type).</summary>
        public readonly bool TryGetInteger(out long value)
        {
            switch (Kind)
            {
                case ValueKind.Int:
                    value = Int;
                    return true;
                case ValueKind.Double when double.IsFinite(Double) && Math.Abs(Double) < 1e15 && Math.Floor(Double) == Double:
                    value = (long)Double;
                    return true;
                case ValueKind.String:
                    return Utf8Parser.TryParse(String, out value, out var consumed) && consumed == String.Length;
                default:
                    value = 0;
                    return false;
            }
        }
    }

    /// <summary>Reads the key attributes of a <c>Resource</c>. Repeated attributes: the last one wins.</summary>
    private bool ReadResource(ReadOnlySpan<byte> data, int origin, scoped ref ResourceKey key)
    {
        var reader = new WireReader(data, origin, "Resource", ref _error);
        while (reader.TryReadNext(1, "attributes", out var pair, out var pairOrigin))
        {
            if (!ReadKeyValue(pair, pairOrigin, out var name, out var value, out var valueOrigin))
            {
                return false;
            }

            var isDeployment = name.SequenceEqual(_deploymentKey);
            var isVersion = name.SequenceEqual(_versionKey);
            if (!isDeployment && !isVersion)
            {
                continue;
            }

            if (!ReadAnyValue(value, valueOrigin, out var any))
            {
                return false;
            }

            var state = any.Kind == ValueKind.String ? AttributeState.Found : AttributeState.NotString;
            if (isDeployment)
            {
                key.Deployment = any.String;
                key.DeploymentState = state;
            }

            if (isVersion)
            {
                key.Version = any.String;
                key.VersionState = state;
            }
        }

        return !reader.Failed;
    }

    /// <summary>
    /// Splits a <c>KeyValue</c> laid out as every OTLP exporter writes it (the key with a one-byte length, then the
    /// value filling the rest, or no value), reading nothing inside the value. False for any other layout, which
    /// <see cref="ReadKeyValue"/> then reads and checks field by field; for this one the two agree byte for byte,
    /// so a malformed attribute is refused the same way on either path.
    /// </summary>
    private static bool TrySplitUsualKeyValue(ReadOnlySpan<byte> data, int origin, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value, out int valueOrigin)
    {
        const byte KeyTag = (1 << 3) | (int)WireType.LengthDelimited;
        const byte ValueTag = (2 << 3) | (int)WireType.LengthDelimited;
        value = default;
        valueOrigin = origin;
        if (data.Length < 2 || data[0] != KeyTag || data[1] >= 0x80 || data[1] > data.Length - 2)
        {
            key = default;
            return false;
        }

        key = data.Slice(2, data[1]);
        var position = 2 + key.Length;
        if (position == data.Length)
        {
            return true;
        }

        // The value's length in one or two bytes, and exactly the rest of the KeyValue.
        if (data.Length - position < 2 || data[position] != ValueTag)
        {
            return false;
        }

        int length = data[position + 1];
        position += 2;
        if (length >= 0x80)
        {
            if (position == data.Length || data[position] >= 0x80)
            {
                return false;
            }

            length = (length & 0x7F) | (data[position] << 7);
            position++;
        }

        if (length != data.Length - position)
        {
            return false;
        }

        value = data[position..];
        valueOrigin = origin + position;
        return true;
    }

    /// <summary>Splits a <c>KeyValue</c> into its key and its (still encoded) <c>AnyValue</c>.</summary>
    private bool ReadKeyValue(ReadOnlySpan<byte> data, int origin, out ReadOnlySpan<byte> key, out ReadOnlySpan<byte> value, out int valueOrigin)
    {
        key = default;
        value = default;
        valueOrigin = origin;
        var reader = new WireReader(data, origin, "KeyValue", ref _error);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag(out var field, out var wire))
            {
                return false;
            }

            switch (field)
            {
                case 1:
                    if (!reader.Expect(wire, WireType.LengthDelimited, "key") || !reader.TryReadLengthDelimited(out key, out _))
                    {
                        return false;
                    }

                    break;
                case 2:
                    if (!reader.Expect(wire, WireType.LengthDelimited, "value") || !reader.TryReadLengthDelimited(out value, out valueOrigin))
                    {
                        return false;
                    }

                    break;
                default:
                    if (!reader.TrySkip(wire))
                    {
                        return false;
                    }

                    break;
            }
        }

        return true;
    }

    /// <summary>Reads the scalar members of an <c>AnyValue</c> (a oneof: the last member on the wire wins).</summary>
    private bool ReadAnyValue(ReadOnlySpan<byte> data, int origin, out AnyValue value)
    {
        value = default;
        var reader = new WireReader(data, origin, "AnyValue", ref _error);
        while (reader.HasMore)
        {
            if (!reader.TryReadTag(out var field, out var wire))
            {
                return false;
            }

            switch (field)
            {
                case 1:
                    if (!reader.Expect(wire, WireType.LengthDelimited, "string_value") || !reader.TryReadLengthDelimited(out value.String, out _))
                    {
                        return false;
                    }

                    value.Kind = ValueKind.String;
                    break;
                case 2:
                    if (!reader.Expect(wire, WireType.Varint, "bool_value") || !reader.TryReadVarint(out _))
                    {
                        return false;
                    }

                    value.Kind = ValueKind.Other;
                    break;
                case 3:
                    if (!reader.Expect(wire, WireType.Varint, "int_value") || !reader.TryReadVarint(out var integer))
                    {
                        return false;
                    }

                    value.Int = (long)integer;
                    value.Kind = ValueKind.Int;
                    break;
                case 4:
                    if (!reader.Expect(wire, WireType.Fixed64, "double_value") || !reader.TryReadDouble(out value.Double))
                    {
                        return false;
                    }

                    value.Kind = ValueKind.Double;
                    break;
                case 5 or 6 or 7:
                    if (!reader.Expect(wire, WireType.LengthDelimited, field == 5 ? "array_value" : field == 6 ? "kvlist_value" : "bytes_value")
                        || !reader.TryReadLengthDelimited(out _, out _))
                    {
                        return false;
                    }

                    value.Kind = ValueKind.Other;
                    break;
                default:
                    if (!reader.TrySkip(wire))
                    {
                        return false;
                    }

                    break;
            }
        }

        if (value.Kind != ValueKind.String)
        {
            value.String = default;
        }

        return true;
    }

    private KeyCheck Check(scoped ref ResourceKey key)
    {
        var deployment = CheckValue(key.DeploymentState, key.Deployment);
        if (deployment != KeyProblem.None)
        {
            return new KeyCheck(deployment, OnVersion: false, key.Deployment.Length);
        }

        var version = CheckValue(key.VersionState, key.Version);
        return new KeyCheck(version, OnVersion: true, key.Version.Length);
    }

    private KeyProblem CheckValue(AttributeState state, ReadOnlySpan<byte> value) => state switch
    {
        AttributeState.Missing => KeyProblem.Missing,
        AttributeState.NotString => KeyProblem.NotString,
        _ when value.IsEmpty => KeyProblem.Empty,
        _ when value.Length > _options.MaxKeyAttributeBytes => KeyProblem.TooLong,
        _ when !IsCleanUtf8(value) => KeyProblem.Invalid,
        _ => KeyProblem.None,
    };

    /// <summary>"resource_spans[2] (service.name=checkout): resource attribute 'service.version' is missing; its 12 spans were rejected".</summary>
    private void NoteResourceProblem(string list, scoped ref ResourceKey key, KeyCheck check, long rejected, string items)
    {
        if (!WantsProblem)
        {
            return;
        }

        var attribute = check.OnVersion ? _options.VersionAttribute : _options.DeploymentAttribute;
        var what = check.Problem switch
        {
            KeyProblem.Missing => "is missing",
            KeyProblem.NotString => "is not a string",
            KeyProblem.Empty => "is empty",
            KeyProblem.TooLong => $"is {check.Length} bytes, over the {_options.MaxKeyAttributeBytes}-byte limit",
            _ => "is not valid UTF-8 or contains control characters",
        };
        var named = check.OnVersion ? $" ({_options.DeploymentAttribute}={Printable(key.Deployment)})" : "";
        NoteProblem($"{list}[{_resourceIndex}]{named}: resource attribute '{attribute}' {what}; its {rejected} {items} were rejected");
    }
}
