using System.Runtime.InteropServices;

namespace GateStream.Policies.Internal;

internal enum FileKind
{
    Missing,
    Regular,
    Directory,
    SymbolicLink,
    Fifo,
    Socket,
    CharacterDevice,
    BlockDevice,
    Other,
}

/// <summary>
/// What a path is, asked without opening it: opening a FIFO for reading blocks until a writer comes, and .NET has no
/// public call for a file's type. On Linux, statx (whose struct is the same on every architecture, unlike struct
/// stat) and realpath; elsewhere the managed approximation, which cannot tell a FIFO from a file.
/// </summary>
internal static partial class UnixFiles
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxType = 0x1;
    private const uint StatxSize = 0x200;
    private const int StatxBufferBytes = 256;
    private const int ModeOffset = 28;
    private const int SizeOffset = 40;

    /// <summary>The kind of <paramref name="path"/> itself (a link is not followed) and its size in bytes.</summary>
    public static (FileKind Kind, long Size) Probe(string path, bool followLinks)
    {
        if (OperatingSystem.IsLinux())
        {
            var buffer = new byte[StatxBufferBytes];
            if (Statx(AtFdCwd, path, followLinks ? 0 : AtSymlinkNoFollow, StatxType | StatxSize, buffer) != 0)
            {
                return (FileKind.Missing, 0);
            }

            // Native byte order, as the kernel wrote them.
            var mode = MemoryMarshal.Read<ushort>(buffer.AsSpan(ModeOffset));
            var size = (long)Math.Min(MemoryMarshal.Read<ulong>(buffer.AsSpan(SizeOffset)), long.MaxValue);

            return ((mode & 0xF000) switch
            {
                0x8000 => FileKind.Regular,
                0x4000 => FileKind.Directory,
                0xA000 => FileKind.SymbolicLink,
                0x1000 => FileKind.Fifo,
                0xC000 => FileKind.Socket,
                0x2000 => FileKind.CharacterDevice,
                0x6000 => FileKind.BlockDevice,
                _ => FileKind.Other,
            }, size);
        }

        FileSystemInfo info = new FileInfo(path);
        if (!info.Exists)
        {
            info = new DirectoryInfo(path);
            if (!info.Exists && info.LinkTarget is null)
            {
                return (FileKind.Missing, 0);
            }
        }

        if (!followLinks && info.LinkTarget is not null)
        {
            return (FileKind.SymbolicLink, 0);
        }

        if (followLinks && info.LinkTarget is not null)
        {
            info = info.ResolveLinkTarget(returnFinalTarget: true) ?? info;
        }

        return info is FileInfo { Exists: true } file ? (FileKind.Regular, file.Length)
            : info.Exists ? (FileKind.Directory, 0)
            : (FileKind.Missing, 0);
    }

    /// <summary>The absolute path with every symbolic link resolved, or null when it does not resolve.</summary>
    public static string? RealPath(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            var full = Path.GetFullPath(path);
            return (File.Exists(full) || Directory.Exists(full))
                ? (new FileInfo(full).ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full)
                : null;
        }

        var resolved = RealPathNative(path, 0);
        if (resolved == 0)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            Free(resolved);
        }
    }

    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Directory => "a directory",
        FileKind.SymbolicLink => "a symbolic link",
        FileKind.Fifo => "a FIFO (named pipe)",
        FileKind.Socket => "a socket",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Missing => "missing",
        _ => "not a regular file",
    };

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Statx(int directoryFd, string path, int flags, uint mask, [Out] byte[] buffer);

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial nint RealPathNative(string path, nint resolved);

    [LibraryImport("libc", EntryPoint = "free")]
    private static partial void Free(nint pointer);
}
