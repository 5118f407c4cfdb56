using McpGuard.Policies.Arguments;

namespace McpGuard.Tests.Policies.Arguments;

/// <summary>
/// The one-call <c>readlink(2)</c> probe against the portable answer (<see cref="FileInfo"/>: <c>lstat(2)</c> and
/// <c>readlink(2)</c>) on real files, directories and links in a temporary directory.
/// </summary>
public sealed class UnixLinkTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("mcpguard-link-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static (bool Exists, string? Target) Portable(string path)
    {
        var info = new FileInfo(path);
        FileAttributes attributes = info.Attributes;
        if ((int)attributes == -1)
        {
            return (false, null);
        }

        return (true, (attributes & FileAttributes.ReparsePoint) != 0 ? info.LinkTarget : null);
    }

    [Fact]
    public void TryProbe_AgreesWithFileInfo_OnEveryKindOfEntry()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.False(UnixLink.TryProbe(_dir, out _, out _)); // not used on Windows
            return;
        }

        string file = Path.Combine(_dir, "file.txt");
        File.WriteAllText(file, "x");
        string sub = Directory.CreateDirectory(Path.Combine(_dir, "sub")).FullName;
        File.CreateSymbolicLink(Path.Combine(_dir, "abs-link"), file);
        File.CreateSymbolicLink(Path.Combine(_dir, "rel-link"), "sub/../file.txt");
        File.CreateSymbolicLink(Path.Combine(_dir, "dangling"), Path.Combine(_dir, "missing", "x"));
        Directory.CreateSymbolicLink(Path.Combine(_dir, "dir-link"), "/");
        File.CreateSymbolicLink(Path.Combine(_dir, "ünïcode-链接"), "目标/ファイル");
        string[] paths =
        [
            file, sub, _dir, "/",
            Path.Combine(_dir, "abs-link"), Path.Combine(_dir, "rel-link"), Path.Combine(_dir, "dangling"),
            Path.Combine(_dir, "dir-link"), Path.Combine(_dir, "ünïcode-链接"),
            Path.Combine(_dir, "missing"), Path.Combine(_dir, "missing", "deeper"),
            Path.Combine(file, "under-a-file"), // ENOTDIR
        ];

        foreach (string path in paths)
        {
            Assert.True(UnixLink.TryProbe(path, out bool exists, out string? target), path);
            (bool portableExists, string? portableTarget) = Portable(path);
            Assert.Equal((portableExists, portableTarget), (exists, target));
        }

        Assert.True(UnixLink.TryProbe(Path.Combine(_dir, "abs-link"), out _, out string? absTarget));
        Assert.Equal(file, absTarget);
        Assert.True(UnixLink.TryProbe(Path.Combine(_dir, "missing"), out bool missingExists, out _));
        Assert.False(missingExists);
    }

    [Fact]
    public void TryProbe_PathWithNul_IsNotProbed()
    {
        Assert.False(UnixLink.TryProbe(_dir + "\0/etc", out _, out _));
    }

    [Fact]
    public void Canonicalize_LinkChain_ResolvesThroughTheProbe()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        string target = Directory.CreateDirectory(Path.Combine(_dir, "real")).FullName;
        Directory.CreateSymbolicLink(Path.Combine(_dir, "hop2"), "real");
        Directory.CreateSymbolicLink(Path.Combine(_dir, "hop1"), Path.Combine(_dir, "hop2"));
        string resolved = FilePathCanonicalizer.ResolvePhysical(Path.Combine(_dir, "hop1", "x.txt"));
        Assert.Equal(Path.Combine(FilePathCanonicalizer.ResolvePhysical(target), "x.txt"), resolved);
    }
}
