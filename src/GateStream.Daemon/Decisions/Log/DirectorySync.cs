using System.Runtime.InteropServices;

namespace GateStream.Daemon.Decisions.Log;

/// <summary>
/// fsync on a directory, so that a newly created segment file's name is as durable as its contents.
/// POSIX only makes a new directory entry durable once the directory itself is synced, and .NET cannot
/// open a directory as a file, hence libc.
/// </summary>
internal static class DirectorySync
{
    private const int ReadOnly = 0; // O_RDONLY on Linux and macOS
    private const int LinuxCloseOnExec = 0x80000; // O_CLOEXEC
    private const int MacCloseOnExec = 0x1000000; // O_CLOEXEC
    private const int InvalidArgument = 22; // EINVAL on Linux and macOS: the file system cannot sync directories

    /// <summary>Syncs <paramref name="directory"/>; false when the platform or file system offers no way to.</summary>
    /// <exception cref="IOException">The directory could not be opened or the sync failed.</exception>
    public static bool Flush(string directory)
    {
        // NTFS journals directory entries with the file; there is nothing to add on Windows.
        if (OperatingSystem.IsWindows())
        {
            return false;
        }

        int fd;
        try
        {
            // Close-on-exec, so a process started meanwhile does not inherit the descriptor.
            var flags = ReadOnly | (OperatingSystem.IsLinux() ? LinuxCloseOnExec : OperatingSystem.IsMacOS() ? MacCloseOnExec : 0);
            fd = NativeMethods.Open(directory, flags);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }

        if (fd < 0)
        {
            throw new IOException($"Could not open directory '{directory}' to sync it (errno {Marshal.GetLastPInvokeError()}).");
        }

        try
        {
            if (NativeMethods.FSync(fd) == 0)
            {
                return true;
            }

            var errno = Marshal.GetLastPInvokeError();
            return errno == InvalidArgument
                ? false
                : throw new IOException($"fsync of directory '{directory}' failed (errno {errno}).");
        }
        finally
        {
            _ = NativeMethods.Close(fd);
        }
    }

    private static class NativeMethods
    {
        [DllImport("libc", EntryPoint = "open", SetLastError = true)]
        public static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

        [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
        public static extern int FSync(int fd);

        [DllImport("libc", EntryPoint = "close", SetLastError = true)]
        public static extern int Close(int fd);
    }
}
