using System.Text;

namespace GateStream.Policies.Internal;

/// <summary>
/// Reads one policy file, or says why it will not: only a regular file, within the size limit, inside the confining
/// directory (after every link is resolved), and valid text. A refusal names the file and the reason, never its content.
/// </summary>
internal static class PolicySource
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);
    private static readonly UnicodeEncoding StrictUtf16Le = new(bigEndian: false, byteOrderMark: false, throwOnInvalidBytes: true);
    private static readonly UnicodeEncoding StrictUtf16Be = new(bigEndian: true, byteOrderMark: false, throwOnInvalidBytes: true);

    public static (string? Text, string? Refusal) Read(string path, PolicyLoadOptions options)
    {
        try
        {
            var (kind, size) = UnixFiles.Probe(path, followLinks: false);
            if (options.ConfinedTo is not null && Escapes(path, options.ConfinedTo, kind) is { } refusal)
            {
                return (null, refusal);
            }

            if (kind == FileKind.SymbolicLink)
            {
                (kind, size) = UnixFiles.Probe(path, followLinks: true);
            }

            if (kind == FileKind.Missing)
            {
                return (null, "the file does not exist (removed while being read, or a link to nothing).");
            }

            if (kind != FileKind.Regular)
            {
                return (null, $"the file is {UnixFiles.Describe(kind)}; only regular files are read.");
            }

            if (size > options.MaxFileBytes)
            {
                return (null, $"the file is {size} bytes, over the {options.MaxFileBytes}-byte limit for a policy file; it was not read.");
            }

            return ReadBounded(path, options.MaxFileBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException or NotSupportedException)
        {
            return (null, $"the file cannot be read: {e.GetType().Name}.");
        }
    }

    /// <summary>Why a link (or a path through linked directories) leads outside <paramref name="directory"/>, or null.</summary>
    private static string? Escapes(string path, string directory, FileKind kind)
    {
        var root = UnixFiles.RealPath(directory);
        var target = UnixFiles.RealPath(path);
        if (root is null || target is null)
        {
            return kind == FileKind.SymbolicLink ? "the file is a symbolic link to nothing." : null;
        }

        var inside = target.StartsWith(Path.TrimEndingDirectorySeparator(root) + Path.DirectorySeparatorChar, StringComparison.Ordinal);
        return inside ? null : "the file leads outside the policy directory (a symbolic link, or a linked directory); it was not read.";
    }

    private static (string? Text, string? Refusal) ReadBounded(string path, long maxBytes)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
        using var bytes = new MemoryStream();
        var chunk = new byte[64 * 1024];
        int read;
        while ((read = stream.Read(chunk, 0, chunk.Length)) > 0)
        {
            // The file may have grown since it was measured.
            if (bytes.Length + read > maxBytes)
            {
                return (null, $"the file grew past the {maxBytes}-byte limit for a policy file while being read.");
            }

            bytes.Write(chunk, 0, read);
        }

        return Decode(bytes.GetBuffer().AsSpan(0, (int)bytes.Length));
    }

    /// <summary>UTF-8 (the default, BOM optional) or UTF-16 with a BOM, as YAML allows; invalid bytes are refused, not replaced.</summary>
    internal static (string? Text, string? Refusal) Decode(ReadOnlySpan<byte> bytes)
    {
        Encoding encoding = StrictUtf8;
        var name = "UTF-8";
        if (bytes.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            bytes = bytes[3..];
        }
        else if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFF, 0xFE]))
        {
            (encoding, name) = (StrictUtf16Le, "UTF-16");
            bytes = bytes[2..];
        }
        else if (bytes.StartsWith((ReadOnlySpan<byte>)[0xFE, 0xFF]))
        {
            (encoding, name) = (StrictUtf16Be, "UTF-16");
            bytes = bytes[2..];
        }

        try
        {
            return (encoding.GetString(bytes), null);
        }
        catch (DecoderFallbackException e)
        {
            return (null, $"the file is not valid {name} text (at byte {e.Index}).");
        }
    }
}
