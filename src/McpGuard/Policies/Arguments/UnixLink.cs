using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace McpGuard.Policies.Arguments;

/// <summary>
/// One <c>readlink(2)</c> per path component on Linux, macOS and FreeBSD: it tells, in a single system call, whether the
/// component is missing (<c>ENOENT</c>, <c>ENOTDIR</c>), exists and is not a link (<c>EINVAL</c>), or is a link and
/// where it points. <see cref="FileInfo"/> takes an <c>lstat(2)</c> plus a <c>readlink(2)</c> for a link, and builds a
/// full path and a status cache around them.
/// </summary>
/// <remarks>Any other outcome (another errno, a target longer than the buffer, libc not loadable) answers
/// "not probed" and the caller takes the portable <see cref="FileInfo"/> path, so results never depend on this shortcut.
/// Errno values used are the same on those systems (POSIX.1-2017, <c>errno.h</c>: ENOENT 2, ENOTDIR 20, EINVAL 22).</remarks>
internal static unsafe partial class UnixLink
{
    private const int BufferSize = 4096;
    private const int ENOENT = 2;
    private const int ENOTDIR = 20;
    private const int EINVAL = 22;

    private static readonly bool s_supported = OperatingSystem.IsLinux() || OperatingSystem.IsMacOS() || OperatingSystem.IsFreeBSD();
    private static volatile bool s_unavailable;

    /// <summary>Probes <paramref name="path"/> without following a final link.</summary>
    /// <returns><see langword="false"/> when the probe could not decide (use the portable path).</returns>
    [SkipLocalsInit]
    public static bool TryProbe(string path, out bool exists, out string? linkTarget)
    {
        exists = true;
        linkTarget = null;
        if (!s_supported || s_unavailable || path.Contains('\0', StringComparison.Ordinal))
        {
            return false;
        }

        byte* buffer = stackalloc byte[BufferSize];
        nint length;
        try
        {
            length = ReadLink(path, buffer, BufferSize);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            s_unavailable = true;
            return false;
        }

        if (length >= 0)
        {
            if (length >= BufferSize)
            {
                return false; // possibly truncated
            }

            linkTarget = Encoding.UTF8.GetString(buffer, (int)length);
            return true;
        }

        switch (Marshal.GetLastPInvokeError())
        {
            case EINVAL:
                return true; // exists, not a link
            case ENOENT:
            case ENOTDIR:
                exists = false;
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// Walks an absolute path in its simple form (see <see cref="FilePathCanonicalizer.IsSimpleAbsolute"/>) with one
    /// <c>readlink(2)</c> per component on a single UTF-8 copy of the path, and answers whether no component up to the
    /// first missing one is a symbolic link: then the path is already its own canonical form.
    /// </summary>
    /// <returns><see langword="true"/> when no component is a link (the walk stops at the first missing component, below
    /// which nothing exists); <see langword="false"/> when a component is a link or the probe could not decide (take the
    /// general walk).</returns>
    [SkipLocalsInit]
    public static bool TryWalkWithoutLinks(string absolutePath)
    {
        if (!s_supported || s_unavailable)
        {
            return false;
        }

        const int MaxPathBytes = 1024; // longer paths take the general walk
        if (absolutePath.Length > MaxPathBytes / 3)
        {
            return false;
        }

        byte* path = stackalloc byte[MaxPathBytes + 1];
        int length = Encoding.UTF8.GetBytes(absolutePath, new Span<byte>(path, MaxPathBytes));
        path[length] = 0;
        byte target;
        try
        {
            if (TryOpenWithoutLinks(path, length) is { } decided)
            {
                return decided;
            }

            // Component ends: every separator after the first byte, then the end of the path.
            for (int end = 1; end <= length; end++)
            {
                if (end < length && path[end] != (byte)'/')
                {
                    continue;
                }

                path[end] = 0;
                nint result = ReadLink(path, &target, 1);
                if (end < length)
                {
                    path[end] = (byte)'/';
                }

                if (result >= 0)
                {
                    return false; // a link: the general walk follows it
                }

                switch (Marshal.GetLastPInvokeError())
                {
                    case EINVAL:
                        continue; // exists, not a link
                    case ENOENT:
                    case ENOTDIR:
                        return true; // missing: nothing below it exists, so nothing below it is a link
                    default:
                        return false;
                }
            }
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            s_unavailable = true;
            return false;
        }

        return true;
    }

    /// <summary>
    /// Linux 5.6+: one <c>openat2(2)</c> with <c>RESOLVE_NO_SYMLINKS</c> and <c>O_PATH</c> (the file itself is not opened:
    /// no device or FIFO side effects) answers for every component at once. It succeeds only when the whole path exists
    /// and no component, the last included, is a link; it fails with <c>ELOOP</c> when one is. Tried for paths of three or
    /// more components, where it saves system calls over one <c>readlink(2)</c> each (any system call costs over a
    /// microsecond on a virtual machine). A missing last component is answered by opening the parent the same way.
    /// </summary>
    /// <returns><see langword="true"/>: no component is a link; <see langword="false"/>: one is; <see langword="null"/>:
    /// undecided (a missing or unreadable component higher up, or <c>openat2</c> unavailable, e.g. an older kernel or a
    /// seccomp filter, after which it is not tried again): the caller walks component by component.</returns>
    private static bool? TryOpenWithoutLinks(byte* path, int length)
    {
        if (!OperatingSystem.IsLinux() || s_noOpenAt2 || new ReadOnlySpan<byte>(path, length).Count((byte)'/') < 3)
        {
            return null;
        }

        switch (OpenWithoutLinks(path))
        {
            case 0:
                return true;
            case ELOOP:
                return false;
            case ENOENT:
                int slash = new ReadOnlySpan<byte>(path, length).LastIndexOf((byte)'/');
                path[slash] = 0;
                int parent = OpenWithoutLinks(path);
                path[slash] = (byte)'/';
                return parent switch
                {
                    0 => true, // the parent exists without links and the last component is missing
                    ELOOP => false,
                    _ => null,
                };
            default:
                return null;
        }
    }

    /// <summary>0 when <paramref name="path"/> opens without following a link (the descriptor is closed again), else the errno.</summary>
    private static int OpenWithoutLinks(byte* path)
    {
        OpenHow how = new() { Flags = O_PATH | O_CLOEXEC, Resolve = RESOLVE_NO_SYMLINKS };
        nint fd = Syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(OpenHow));
        if (fd >= 0)
        {
            _ = Close((int)fd);
            return 0;
        }

        int errno = Marshal.GetLastPInvokeError();
        if (errno is ENOSYS or EPERM or E2BIG or EINVAL)
        {
            s_noOpenAt2 = true; // not this kernel, or filtered: readlink per component from now on
        }

        return errno;
    }

    // Linux UAPI (include/uapi/linux/openat2.h, asm-generic/fcntl.h; the syscall number is 437 on every architecture).
    private const int SYS_openat2 = 437;
    private const int AT_FDCWD = -100;
    private const ulong O_PATH = 0x200000;
    private const ulong O_CLOEXEC = 0x80000;
    private const ulong RESOLVE_NO_SYMLINKS = 0x04;
    private const int EPERM = 1;
    private const int E2BIG = 7;
    private const int ENOSYS = 38;
    private const int ELOOP = 40;

    private static volatile bool s_noOpenAt2;

    /// <summary>Whether <c>openat2(2)</c> is tried (Linux): false after it failed as unavailable; settable so benchmarks
    /// and tests can compare with the per-component walk.</summary>
    internal static bool UseOpenAt2
    {
        get => OperatingSystem.IsLinux() && !s_noOpenAt2;
        set => s_noOpenAt2 = !value;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct OpenHow
    {
        public ulong Flags;
        public ulong Mode;
        public ulong Resolve;
    }

    [LibraryImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static partial nint Syscall(nint number, nint dirfd, byte* path, OpenHow* how, nint size);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);

    [LibraryImport("libc", EntryPoint = "readlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint ReadLink(string path, byte* buffer, nint size);

    [LibraryImport("libc", EntryPoint = "readlink", SetLastError = true)]
    private static partial nint ReadLink(byte* path, byte* buffer, nint size);
}
