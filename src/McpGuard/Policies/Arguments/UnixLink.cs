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

    [LibraryImport("libc", EntryPoint = "readlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint ReadLink(string path, byte* buffer, nint size);

    [LibraryImport("libc", EntryPoint = "readlink", SetLastError = true)]
    private static partial nint ReadLink(byte* path, byte* buffer, nint size);
}
