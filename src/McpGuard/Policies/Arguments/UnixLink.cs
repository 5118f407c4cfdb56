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

    [LibraryImport("libc", EntryPoint = "readlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint ReadLink(string path, byte* buffer, nint size);
}
