using BenchmarkDotNet.Attributes;
using McpGuard.Policies.Arguments;

namespace McpGuard.Benchmarks;

/// <summary>
/// The path constraint's canonicalization of a path already in canonical form (the common case), on a real directory tree:
/// with one <c>openat2(2)</c> that refuses links (Linux 5.6+) against one <c>readlink(2)</c> per component. Every system
/// call costs over a microsecond on the benchmark VM, so the number of calls decides. Run:
/// <c>dotnet run -c Release --project benchmarks/McpGuard.Benchmarks -- --filter *FilePathCanonicalizerBenchmarks*</c>.
/// </summary>
public class FilePathCanonicalizerBenchmarks
{
    private string _root = string.Empty;
    private string _path = string.Empty;

    /// <summary>The path: an existing file six components deep, a missing file in that directory (a write), a missing top-level directory (the round-trip benchmarks' <c>/data/a.txt</c> shape).</summary>
    [Params("existing-deep", "new-file-deep", "missing-top")]
    public string Shape { get; set; } = "existing-deep";

    /// <summary>Whether <c>openat2</c> is tried first.</summary>
    [Params(true, false)]
    public bool OpenAt2 { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _root = Directory.CreateTempSubdirectory("mcpguard-bench-").FullName;
        string dir = Directory.CreateDirectory(Path.Combine(_root, "projects", "repo", "src")).FullName;
        File.WriteAllText(Path.Combine(dir, "file.txt"), "x");
        _path = Shape switch
        {
            "existing-deep" => Path.Combine(dir, "file.txt"),
            "new-file-deep" => Path.Combine(dir, "new.txt"),
            _ => "/mcpguard-missing-" + Guid.NewGuid().ToString("N") + "/a.txt",
        };
        UnixLink.UseOpenAt2 = OpenAt2;
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        UnixLink.UseOpenAt2 = true;
        Directory.Delete(_root, recursive: true);
    }

    [Benchmark]
    public int Canonicalize() => FilePathCanonicalizer.Canonicalize(_path).Physical.Length;
}
