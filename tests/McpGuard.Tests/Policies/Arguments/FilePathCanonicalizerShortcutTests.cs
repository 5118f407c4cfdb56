using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using McpGuard.Policies.Arguments;
using McpGuard.Tests.Infrastructure;

namespace McpGuard.Tests.Policies.Arguments;

/// <summary>
/// The shortcut for paths already in canonical form (<see cref="FilePathCanonicalizer.IsSimpleAbsolute"/> and one
/// <c>openat2(2)</c> with <c>RESOLVE_NO_SYMLINKS</c> or one <c>readlink(2)</c> per component on a single UTF-8 copy,
/// <see cref="UnixLink.TryWalkWithoutLinks"/>) against the
/// general component walk, on a real directory tree with files, directories, and absolute, relative, dangling and
/// looping links.
/// </summary>
public sealed class FilePathCanonicalizerShortcutTests : IDisposable
{
    private static readonly string[] s_names = ["dir", "file.txt", "abs-link", "rel-link", "dangling", "up-link", "loop", "missing", "ünï", "..", ".", ""];

    private readonly string _root = Directory.CreateTempSubdirectory("mcpguard-shortcut-").FullName;

    public FilePathCanonicalizerShortcutTests()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // The same entries at two levels, so generated paths cross links in the middle as well as at the end.
        foreach (string dir in new[] { _root, Directory.CreateDirectory(Path.Combine(_root, "dir")).FullName })
        {
            File.WriteAllText(Path.Combine(dir, "file.txt"), "x");
            Directory.CreateDirectory(Path.Combine(dir, "ünï"));
            File.CreateSymbolicLink(Path.Combine(dir, "abs-link"), "/tmp");
            File.CreateSymbolicLink(Path.Combine(dir, "rel-link"), "ünï");
            File.CreateSymbolicLink(Path.Combine(dir, "dangling"), "missing/x");
            File.CreateSymbolicLink(Path.Combine(dir, "up-link"), "..");
            File.CreateSymbolicLink(Path.Combine(dir, "loop"), "loop");
        }
    }

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Theory]
    [InlineData("/a", true)]
    [InlineData("/a/b.c/..d/.e", true)]
    [InlineData("/a/ünï/文件", true)]
    [InlineData("/", false)]
    [InlineData("/a/", false)]
    [InlineData("//a", false)]
    [InlineData("/a//b", false)]
    [InlineData("/a/./b", false)]
    [InlineData("/a/../b", false)]
    [InlineData("/a/.", false)]
    [InlineData("/a/..", false)]
    [InlineData("a/b", false)]
    [InlineData("", false)]
    [InlineData("/a\0b", false)]
    public void IsSimpleAbsolute_OnlyCanonicalLookingUnixPaths(string path, bool expected)
    {
        Assert.Equal(expected && !OperatingSystem.IsWindows(), FilePathCanonicalizer.IsSimpleAbsolute(path));
    }

    [Fact]
    public void TryWalkWithoutLinks_AnswersPerKindOfPath()
    {
        if (OperatingSystem.IsWindows())
        {
            Assert.False(UnixLink.TryWalkWithoutLinks(_root));
            return;
        }

        Assert.True(UnixLink.TryWalkWithoutLinks(Path.Combine(_root, "dir", "file.txt")));
        Assert.True(UnixLink.TryWalkWithoutLinks(Path.Combine(_root, "missing", "abs-link"))); // below a missing component nothing is probed
        Assert.True(UnixLink.TryWalkWithoutLinks(Path.Combine(_root, "file.txt", "x"))); // ENOTDIR: missing
        Assert.False(UnixLink.TryWalkWithoutLinks(Path.Combine(_root, "abs-link")));
        Assert.False(UnixLink.TryWalkWithoutLinks(Path.Combine(_root, "rel-link", "x")));
        Assert.False(UnixLink.TryWalkWithoutLinks(Path.Combine(_root, "dir", "dangling")));
        Assert.False(UnixLink.TryWalkWithoutLinks(_root + "/" + new string('a', 400))); // longer than the buffer: general walk

        // Deep paths (three or more components) are first answered by one openat2(RESOLVE_NO_SYMLINKS) on Linux.
        Assert.True(UnixLink.TryWalkWithoutLinks(Path.Combine(_root, "dir", "ünï"))); // exists, no link
        Assert.True(UnixLink.TryWalkWithoutLinks(Path.Combine(_root, "dir", "ünï", "new.txt"))); // missing last component: the parent opens
        Assert.True(UnixLink.TryWalkWithoutLinks(Path.Combine(_root, "dir", "missing", "deeper", "new.txt"))); // missing higher up
        Assert.False(UnixLink.TryWalkWithoutLinks(Path.Combine(_root, "dir", "rel-link", "new.txt"))); // a link, then a missing component
        Assert.False(UnixLink.TryWalkWithoutLinks(Path.Combine(_root, "dir", "up-link", "dir", "file.txt"))); // a link in the middle
        Assert.False(UnixLink.TryWalkWithoutLinks(Path.Combine(_root, "dir", "loop"))); // a looping link last
        Assert.False(UnixLink.TryWalkWithoutLinks(Path.Combine(_root, "dir", "dangling"))); // a dangling link last
    }

    /// <summary>
    /// Where <c>openat2(2)</c> is refused (an older kernel: <c>ENOSYS</c>; a container's seccomp profile: <c>ENOSYS</c>
    /// or <c>EPERM</c>), the shortcut must give the same answers through <c>readlink(2)</c> and stop trying
    /// <c>openat2</c>. Run under a real seccomp filter on a thread of its own.
    /// </summary>
    [Theory]
    [InlineData(38)] // ENOSYS
    [InlineData(1)] // EPERM
    public void TryWalkWithoutLinks_OpenAt2RefusedBySeccomp_SameAnswersThroughReadlink(int errno)
    {
        if (!SeccompThread.Supported)
        {
            return; // seccomp is Linux only
        }

        const int SysOpenAt2 = 437;
        string[] names = ["dir", "file.txt", "rel-link", "up-link", "dangling", "loop", "missing", "ünï"];
        string[] paths =
        [
            .. from a in names from b in names select $"{_root}/{a}/{b}",
            .. from a in names from b in names from c in names select $"{_root}/dir/{a}/{b}/{c}",
        ];

        // The oracle: the general walk, on this unfiltered thread.
        (string, string)?[] expected = [.. paths.Select(p => Try(() => FilePathCanonicalizer.CanonicalizeByWalk(p)))];
        try
        {
            UnixLink.UseOpenAt2 = true;
            SeccompThread.Run(SysOpenAt2, errno, () =>
            {
                Assert.Equal(errno, SeccompThread.ErrnoOf(SysOpenAt2)); // the filter is in force on this thread
                Assert.True(UnixLink.TryWalkWithoutLinks(Path.Combine(_root, "dir", "ünï", "new.txt")));
                Assert.False(UnixLink.UseOpenAt2); // refused once: not tried again
                UnixLink.UseOpenAt2 = true;
                Assert.True(UnixLink.TryWalkWithoutLinks(Path.Combine(_root, "dir", "missing", "deeper", "new.txt")));
                UnixLink.UseOpenAt2 = true;
                Assert.False(UnixLink.TryWalkWithoutLinks(Path.Combine(_root, "dir", "rel-link", "new.txt")));
                UnixLink.UseOpenAt2 = true;
                Assert.False(UnixLink.TryWalkWithoutLinks(Path.Combine(_root, "dir", "up-link", "dir", "file.txt")));
                UnixLink.UseOpenAt2 = true;
                Assert.False(UnixLink.TryWalkWithoutLinks(Path.Combine(_root, "dir", "dangling")));
                for (int i = 0; i < paths.Length; i++)
                {
                    UnixLink.UseOpenAt2 = i % 2 == 0; // both the first refusal and the readlink-only walk
                    string path = paths[i];
                    Assert.True(expected[i] == Try(() => FilePathCanonicalizer.Canonicalize(path)), path);
                }
            });
        }
        finally
        {
            UnixLink.UseOpenAt2 = true;
        }
    }

    [Property(MaxTest = 300)]
    public Property Canonicalize_AnyPathInTheTree_SameAsTheGeneralWalk()
    {
        Gen<string> component = Gen.Elements(s_names);
        Gen<string> path = Gen.Choose(1, 5).SelectMany(n => Gen.ArrayOf(component, n))
            .Select(parts => _root + "/" + string.Join('/', parts));
        return Prop.ForAll(path.ToArbitrary(), p =>
        {
            (string, string)? walked = Try(() => FilePathCanonicalizer.CanonicalizeByWalk(p));
            (string, string)? result = Try(() => FilePathCanonicalizer.Canonicalize(p));
            return (OperatingSystem.IsWindows() || walked == result).Label($"{p}: walk {walked}, canonicalize {result}");
        });
    }

    [Fact]
    public void Canonicalize_SimplePathThroughALink_IsResolved()
    {
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        // The shortcut must hand a path with a link on the way to the general walk, which follows it.
        string through = Path.Combine(_root, "dir", "up-link", "file.txt");
        Assert.True(FilePathCanonicalizer.IsSimpleAbsolute(through));
        Assert.Equal((Path.Combine(_root, "file.txt"), Path.Combine(_root, "file.txt")), FilePathCanonicalizer.Canonicalize(through));
    }

    /// <summary>The result, or null when the walk refuses the path (a link loop): both must agree on that too.</summary>
    private static (string, string)? Try(Func<(string, string)> canonicalize)
    {
        try
        {
            return canonicalize();
        }
        catch (IOException)
        {
            return null;
        }
    }
}
