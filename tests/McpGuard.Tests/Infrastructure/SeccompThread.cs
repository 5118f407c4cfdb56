using System.Runtime.InteropServices;

namespace McpGuard.Tests.Infrastructure;

/// <summary>
/// Runs code on a dedicated thread under a real seccomp filter (Linux, <c>seccomp(2)</c> mode 2 through
/// <c>prctl(PR_SET_SECCOMP)</c>) that makes one system call fail with a chosen errno, the way a container runtime's
/// profile refuses a system call it does not know. A filter installed without <c>SECCOMP_FILTER_FLAG_TSYNC</c> binds
/// only the calling thread, and <c>PR_SET_NO_NEW_PRIVS</c>, which an unprivileged filter needs, is per thread too: the
/// rest of the test host is unaffected, and both end with the thread.
/// </summary>
public static class SeccompThread
{
    // include/uapi/linux/prctl.h, seccomp.h, filter.h, audit.h.
    private const int PR_SET_NO_NEW_PRIVS = 38;
    private const int PR_SET_SECCOMP = 22;
    private const int SECCOMP_MODE_FILTER = 2;
    private const uint SECCOMP_RET_ALLOW = 0x7fff0000;
    private const uint SECCOMP_RET_ERRNO = 0x00050000;
    private const ushort BPF_LD_W_ABS = 0x20; // BPF_LD | BPF_W | BPF_ABS
    private const ushort BPF_JEQ_K = 0x15; // BPF_JMP | BPF_JEQ | BPF_K
    private const ushort BPF_RET_K = 0x06; // BPF_RET | BPF_K
    private const uint OffsetNr = 0; // struct seccomp_data { int nr; __u32 arch; ... }
    private const uint OffsetArch = 4;

    /// <summary>The <c>AUDIT_ARCH_*</c> value of this process's architecture, or 0 where the test does not know it.</summary>
    private static uint AuditArch => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.X64 => 0xC000003E, // AUDIT_ARCH_X86_64
        Architecture.Arm64 => 0xC00000B7, // AUDIT_ARCH_AARCH64
        _ => 0,
    };

    /// <summary>Whether this machine can run <see cref="Run"/> (Linux on x64 or arm64).</summary>
    public static bool Supported => OperatingSystem.IsLinux() && AuditArch != 0;

    /// <summary>
    /// Runs <paramref name="body"/> on a new thread on which system call <paramref name="syscallNumber"/> fails with
    /// <paramref name="errno"/>; every other system call is allowed. Exceptions from the body are rethrown here.
    /// </summary>
    /// <exception cref="InvalidOperationException">The filter could not be installed (the message has the errno).</exception>
    public static void Run(int syscallNumber, int errno, Action body)
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            try
            {
                Install(syscallNumber, errno);
                body();
            }
            catch (Exception ex)
            {
                failure = ex;
            }
        });
        thread.Start();
        thread.Join();
        if (failure is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(failure).Throw();
        }
    }

    /// <summary>Calls <c>syscall(number, -100, path, ...)</c> with zeroed further arguments and returns the errno (0 when it succeeded).</summary>
    /// <remarks>Lets a test check that the filter is in force before it relies on it.</remarks>
    public static int ErrnoOf(int syscallNumber)
    {
        long result = NativeMethods.syscall(syscallNumber, -100, "/", IntPtr.Zero, 0);
        return result >= 0 ? 0 : Marshal.GetLastPInvokeError();
    }

    private static void Install(int syscallNumber, int errno)
    {
        // Foreign architecture: allow; this architecture's call: fail with errno; anything else: allow.
        SockFilter[] program =
        [
            new(BPF_LD_W_ABS, 0, 0, OffsetArch),
            new(BPF_JEQ_K, 0, 3, AuditArch),
            new(BPF_LD_W_ABS, 0, 0, OffsetNr),
            new(BPF_JEQ_K, 0, 1, (uint)syscallNumber),
            new(BPF_RET_K, 0, 0, SECCOMP_RET_ERRNO | ((uint)errno & 0xFFFF)),
            new(BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW),
        ];
        GCHandle pinned = GCHandle.Alloc(program, GCHandleType.Pinned);
        try
        {
            var fprog = new SockFprog { Length = (ushort)program.Length, Filter = pinned.AddrOfPinnedObject() };
            if (NativeMethods.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
            {
                throw new InvalidOperationException($"prctl(PR_SET_NO_NEW_PRIVS) failed with errno {Marshal.GetLastPInvokeError()}.");
            }

            if (NativeMethods.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ref fprog, 0, 0) != 0)
            {
                throw new InvalidOperationException($"prctl(PR_SET_SECCOMP) failed with errno {Marshal.GetLastPInvokeError()}.");
            }
        }
        finally
        {
            pinned.Free();
        }
    }

    [StructLayout(LayoutKind.Sequential)]
    private readonly struct SockFilter(ushort code, byte jt, byte jf, uint k)
    {
        public readonly ushort Code = code;
        public readonly byte Jt = jt;
        public readonly byte Jf = jf;
        public readonly uint K = k;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct SockFprog
    {
        public ushort Length;
        public IntPtr Filter;
    }

    private static class NativeMethods
    {
#pragma warning disable SYSLIB1054, CA2101 // DllImport keeps the test project free of unsafe code; libc expects UTF-8.
        [DllImport("libc", SetLastError = true)]
        public static extern int prctl(int option, long arg2, long arg3, long arg4, long arg5);

        [DllImport("libc", SetLastError = true)]
        public static extern int prctl(int option, long arg2, ref SockFprog arg3, long arg4, long arg5);

        [DllImport("libc", SetLastError = true)]
        public static extern long syscall(long number, long dirfd, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr how, long size);
#pragma warning restore SYSLIB1054, CA2101
    }
}
