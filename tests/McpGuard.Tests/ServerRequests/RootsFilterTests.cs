using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using McpGuard.Policies.Arguments;
using McpGuard.ServerRequests;
using McpGuard.Tests.Infrastructure;

namespace McpGuard.Tests.ServerRequests;

public static class RootUriGenerators
{
    /// <summary>Raw root strings: file URIs built from sandbox-relative segments, plus hostile shapes.</summary>
    public static readonly string[] Shapes =
    [
        "file:///", "file://", "file:", "/", "http://example.com/", "file://evil.example/etc", "file:///etc/passwd", "file:///tmp/%2e%2e/etc",
        "file:///tmp/a?x=1", "file:///tmp/a#f", "file:////server/share", "not a uri", "", "file:///%00", "file:///tmp/a%2Fb", "FILE:///", "file://localhost/",
    ];

    public static readonly string[] Segments = ["a", "b", "..", ".", "", "link-in", "link-out", "rel-out", "x.txt", "loop1", "%2e%2e", "a b", "%20"];
}

public sealed class RootsFilterTests(PathSandbox sandbox) : IClassFixture<PathSandbox>
{
    private RootsFilter Filter(params string[] allowed)
    {
        var options = new RootsOptions();
        options.AllowedRoots.AddRange(allowed);
        return new RootsFilter(options);
    }

    private static JsonObject Result(params string[] uris)
    {
        var roots = new JsonArray();
        foreach (string uri in uris)
        {
            roots.Add((JsonNode)new JsonObject { ["uri"] = uri, ["name"] = "n" });
        }

        return new JsonObject { ["roots"] = roots };
    }

    private static string[] Uris(JsonObject result) => [.. ((JsonArray)result["roots"]!).Select(r => r!["uri"]!.GetValue<string>())];

    private static string FileUri(string path) => new Uri(path).AbsoluteUri;

    [Fact]
    public void Filter_WideAndOutsideRoots_OnlyAllowedKept()
    {
        (JsonObject filtered, JsonObject details) = Filter(sandbox.Root).Filter(Result("file:///", FileUri(sandbox.Base), FileUri(sandbox.Outside), FileUri(sandbox.In("a"))));

        Assert.Equal([FileUri(sandbox.RealRoot + "/a")], Uris(filtered));
        Assert.Equal(4, details["offered"]!.GetValue<int>());
        Assert.Equal(3, details["droppedCount"]!.GetValue<int>());
        Assert.All(((JsonArray)details["dropped"]!).Select(d => d!["ruleId"]!.GetValue<string>()), r => Assert.Equal("roots.outside-allowed", r));
    }

    [Fact]
    public void Filter_SymlinkOutOfAllowedRoot_Dropped()
    {
        (JsonObject filtered, _) = Filter(sandbox.Root).Filter(Result(FileUri(sandbox.In("link-out")), FileUri(sandbox.In("rel-out")), FileUri(sandbox.In("link-in"))));

        Assert.Equal([FileUri(sandbox.RealRoot + "/a")], Uris(filtered));
    }

    [Fact]
    public void Filter_DotDotInUri_CanonicalizedThenChecked()
    {
        (JsonObject filtered, _) = Filter(sandbox.Root).Filter(Result("file://" + sandbox.Root + "/a/../../outside", "file://" + sandbox.Root + "/a/../b/."));

        Assert.Equal([FileUri(sandbox.RealRoot + "/b")], Uris(filtered));
    }

    [Theory]
    [InlineData("http://example.com/", "roots.not-file-uri")]
    [InlineData("/plain/path", "roots.not-file-uri")]
    [InlineData("file://evil.example/etc", "roots.invalid-uri")]
    [InlineData("file:///tmp/a?x=1", "roots.invalid-uri")]
    [InlineData("file:///tmp/a#frag", "roots.invalid-uri")]
    public void Check_NotALocalFileUri_DroppedWithRule(string uri, string rule) =>
        Assert.Equal((null, rule), Filter("/").Check(uri));

    [Fact]
    public void Filter_MalformedResult_EmptyRoots()
    {
        (JsonObject filtered, JsonObject details) = Filter(sandbox.Root).Filter(new JsonObject { ["roots"] = "all of them" });

        Assert.Empty((JsonArray)filtered["roots"]!);
        Assert.True(details["malformed"]!.GetValue<bool>());
    }

    [Fact]
    public void Filter_NonObjectEntriesAndMissingUris_Dropped()
    {
        var result = new JsonObject { ["roots"] = new JsonArray(1, "x", null, new JsonObject(), new JsonObject { ["uri"] = 5 }, new JsonObject { ["uri"] = FileUri(sandbox.Root) }) };

        (JsonObject filtered, JsonObject details) = Filter(sandbox.Root).Filter(result);

        Assert.Equal([FileUri(sandbox.RealRoot)], Uris(filtered));
        Assert.Equal(5, details["droppedCount"]!.GetValue<int>());
    }

    [Fact]
    public void Filter_NoAllowedRoots_EverythingDropped()
    {
        (JsonObject filtered, _) = Filter().Filter(Result("file:///", FileUri(sandbox.Root)));

        Assert.Empty((JsonArray)filtered["roots"]!);
    }

    [Fact]
    public void Filter_ManyRoots_BoundedAndDeduplicated()
    {
        string[] many = [.. Enumerable.Repeat(FileUri(sandbox.Root), RootsFilter.MaxRoots + 500)];

        (JsonObject filtered, JsonObject details) = Filter(sandbox.Root).Filter(Result(many));

        Assert.Single(Uris(filtered));
        Assert.Equal(500, details["droppedCount"]!.GetValue<int>());
        Assert.True(((JsonArray)details["dropped"]!).Count <= 32);
    }

    [Fact]
    public void Constructor_FileUriAllowedRoot_SameAsPath()
    {
        (JsonObject filtered, _) = Filter(FileUri(sandbox.Root)).Filter(Result(FileUri(sandbox.In("a", "b"))));

        Assert.Equal([FileUri(sandbox.RealRoot + "/a/b")], Uris(filtered));
    }

    private Gen<string> RootString()
    {
        Gen<string> fromSegments = Gen.Choose(0, 6)
            .SelectMany(n => Gen.ArrayOf(Gen.Elements(RootUriGenerators.Segments), n))
            .SelectMany(segments => Gen.Elements(sandbox.Root, sandbox.Base, sandbox.Outside, "/tmp", "/")
                .Select(start => "file://" + (start == "/" ? string.Empty : start) + "/" + string.Join('/', segments)));
        return Gen.Frequency((4, fromSegments), (1, Gen.Elements(RootUriGenerators.Shapes)));
    }

    [Fact]
    public void Filter_RandomRoots_KeptRootsAreUnderAllowedRootAndOffered()
    {
        Prop.ForAll(RootLists(), uris =>
        {
            RootsFilter filter = Filter(sandbox.Root);
            (JsonObject filtered, _) = filter.Filter(Result(uris));
            string[] kept = Uris(filtered);
            var problems = new List<string>();
            foreach (string uri in kept)
            {
                string path = new Uri(uri).LocalPath;

                // Oracle: the kernel's realpath of the kept root (when it exists) and the path itself are under the real root.
                if (!sandbox.IsUnderRealRoot(path) || (PathSandbox.RealPath(path) is { } real && !sandbox.IsUnderRealRoot(real)))
                {
                    problems.Add("outside: " + uri);
                }

                // Subset: every kept root is the canonical form of an offered root.
                if (!uris.Any(offered => filter.Check(offered).CanonicalUri == uri))
                {
                    problems.Add("not offered: " + uri);
                }
            }

            if (kept.Length > uris.Length || kept.Distinct().Count() != kept.Length)
            {
                problems.Add("more or duplicate roots");
            }

            return (problems.Count == 0).Label(string.Join("; ", problems));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Filter_RandomRoots_Idempotent()
    {
        Prop.ForAll(RootLists(), uris =>
        {
            RootsFilter filter = Filter(sandbox.Root, sandbox.Outside + "/a");
            (JsonObject once, _) = filter.Filter(Result(uris));
            (JsonObject twice, _) = filter.Filter(once.DeepClone());
            return JsonNode.DeepEquals(once, twice).Label(once.ToJsonString() + " vs " + twice.ToJsonString());
        }).QuickCheckThrowOnFailure();
    }

    private Arbitrary<string[]> RootLists() =>
        Gen.Choose(0, 8).SelectMany(n => Gen.ArrayOf(RootString(), n)).ToArbitrary();

    [Fact]
    public void IsUnder_SiblingPrefix_NotUnder() =>
        Assert.False(FilePathCanonicalizer.IsUnder(sandbox.Base + "/rootX", sandbox.Root, ignoreCase: false));
}
