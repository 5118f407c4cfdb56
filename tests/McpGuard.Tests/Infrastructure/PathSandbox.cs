using System.Runtime.InteropServices;

namespace McpGuard.Tests.Infrastructure;

/// <summary>
/// A real directory tree with real symbolic links in the temp directory:
/// <code>
/// base/root/            the allowed root; every file under it contains "inside"
///   x.txt  a/x.txt  a/b/x.txt
///   link-in  -> base/root/a        (absolute)     rel-in  -> a            (relative)
///   link-out -> base/outside       (absolute)     rel-out -> ../outside   (relative)
///   file-out -> base/outside/x.txt                loop1 -> loop2 -> loop1
/// base/outside/x.txt  outside/a/x.txt  outside/link-in -> base/root/a   (every file outside says "SECRET")
/// base/x.txt  base/a/x.txt  base/rootX/x.txt  base/root-link -> base/root
/// </code>
/// </summary>
public sealed class PathSandbox : IDisposable
{
    public const string Inside = "inside";
    public const string Secret = "SECRET";

    public PathSandbox()
    {
        Base = Directory.CreateTempSubdirectory("mcpguard-paths-").FullName;
        Root = Path.Combine(Base, "root");
        Outside = Path.Combine(Base, "outside");
        Write(Path.Combine(Root, "x.txt"), Inside);
        Write(Path.Combine(Root, "a", "x.txt"), Inside);
        Write(Path.Combine(Root, "a", "b", "x.txt"), Inside);
        Write(Path.Combine(Outside, "x.txt"), Secret);
        Write(Path.Combine(Outside, "a", "x.txt"), Secret);
        Write(Path.Combine(Base, "x.txt"), Secret);
        Write(Path.Combine(Base, "a", "x.txt"), Secret);
        Write(Path.Combine(Base, "rootX", "x.txt"), Secret);
        Directory.CreateSymbolicLink(Path.Combine(Root, "link-in"), Path.Combine(Root, "a"));
        Directory.CreateSymbolicLink(Path.Combine(Root, "rel-in"), "a");
        Directory.CreateSymbolicLink(Path.Combine(Root, "link-out"), Outside);
        Directory.CreateSymbolicLink(Path.Combine(Root, "rel-out"), Path.Combine("..", "outside"));
        File.CreateSymbolicLink(Path.Combine(Root, "file-out"), Path.Combine(Outside, "x.txt"));
        File.CreateSymbolicLink(Path.Combine(Root, "loop1"), Path.Combine(Root, "loop2"));
        File.CreateSymbolicLink(Path.Combine(Root, "loop2"), Path.Combine(Root, "loop1"));
        Directory.CreateSymbolicLink(Path.Combine(Outside, "link-in"), Path.Combine(Root, "a"));
        Directory.CreateSymbolicLink(Path.Combine(Base, "root-link"), Root);
        RealRoot = RealPath(Root) ?? throw new InvalidOperationException("realpath failed on the sandbox root");
    }

    public string Base { get; }

    public string Root { get; }

    /// <summary>The root as the kernel resolves it (realpath(3)); an oracle independent of McpGuard's canonicalizer.</summary>
    public string RealRoot { get; }

    public string Outside { get; }

    public string In(params string[] parts) => Path.Combine([Root, .. parts]);

    /// <summary>Whether <paramref name="path"/> equals or lies beneath <see cref="RealRoot"/> (plain string test).</summary>
    public bool IsUnderRealRoot(string path) =>
        path == RealRoot || path.StartsWith(RealRoot + "/", StringComparison.Ordinal);

    /// <summary>realpath(3) from libc: the kernel's resolution of every link, <c>.</c> and <c>..</c>; <see langword="null"/> if the path does not exist.</summary>
    public static string? RealPath(string path)
    {
        IntPtr resolved = NativeMethods.realpath(path, IntPtr.Zero);
        if (resolved == IntPtr.Zero)
        {
            return null;
        }

        try
        {
            return Marshal.PtrToStringUTF8(resolved);
        }
        finally
        {
            NativeMethods.free(resolved);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Base, recursive: true);
        }
        catch (IOException)
        {
            // Best effort clean-up of the temp directory.
        }
    }

    private static void Write(string path, string content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, content);
    }

    private static class NativeMethods
    {
#pragma warning disable SYSLIB1054, CA2101 // DllImport keeps the test project free of unsafe code; libc expects UTF-8.
        [DllImport("libc", SetLastError = true)]
        public static extern IntPtr realpath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, IntPtr resolved);

        [DllImport("libc")]
        public static extern void free(IntPtr ptr);
#pragma warning restore SYSLIB1054, CA2101
    }
}
