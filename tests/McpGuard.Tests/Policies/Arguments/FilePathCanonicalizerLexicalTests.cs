using McpGuard.Policies.Arguments;

namespace McpGuard.Tests.Policies.Arguments;

public sealed class FilePathCanonicalizerLexicalTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("mcpguard-canon-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Canonicalize_DotDotAfterSymlink_PhysicalAndLexicalDiffer()
    {
        string root = FilePathCanonicalizer.CanonicalizeRoot(_root);
        Directory.CreateDirectory(Path.Combine(_root, "a", "b"));
        Directory.CreateSymbolicLink(Path.Combine(_root, "l"), Path.Combine(_root, "a", "b"));

        (string physical, string lexical) = FilePathCanonicalizer.Canonicalize(_root + "/l/../c");

        Assert.Equal(Path.Combine(root, "a", "c"), physical);
        Assert.Equal(Path.Combine(root, "c"), lexical);
    }

    [Fact]
    public void Canonicalize_NoDotSegments_BothFollowSymlink()
    {
        string root = FilePathCanonicalizer.CanonicalizeRoot(_root);
        Directory.CreateDirectory(Path.Combine(_root, "a"));
        Directory.CreateSymbolicLink(Path.Combine(_root, "l"), Path.Combine(_root, "a"));

        (string physical, string lexical) = FilePathCanonicalizer.Canonicalize(Path.Combine(_root, "l", "x.txt"));

        Assert.Equal(Path.Combine(root, "a", "x.txt"), physical);
        Assert.Equal(physical, lexical);
    }
}
