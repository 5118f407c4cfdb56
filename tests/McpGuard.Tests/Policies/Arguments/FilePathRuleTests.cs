using System.Text.Json.Nodes;
using McpGuard.Tests.Infrastructure;

namespace McpGuard.Tests.Policies.Arguments;

public sealed class FilePathRuleTests(PathSandbox sandbox) : IClassFixture<PathSandbox>
{
    private GuardDecision Check(string path, Action<ArgumentRule>? configure = null)
    {
        var rule = new ArgumentRule { Path = "$.path", AllowedRoots = { sandbox.Root } };
        configure?.Invoke(rule);
        return TestCalls.EvaluateRules(new JsonObject { ["path"] = path }, rule);
    }

    private static void AssertDenied(GuardDecision decision, string ruleId)
    {
        Assert.Equal(GuardDecisionKind.Deny, decision.Kind);
        Assert.Equal(ruleId, decision.RuleId);
        Assert.Equal("$.path", decision.JsonPath);
    }

    [Fact]
    public void Evaluate_FileUnderRoot_Allows()
    {
        Assert.Same(GuardDecision.Allow, Check(sandbox.In("a", "x.txt")));
    }

    [Fact]
    public void Evaluate_RootItself_Allows()
    {
        Assert.Same(GuardDecision.Allow, Check(sandbox.Root));
    }

    [Fact]
    public void Evaluate_RootWithTrailingSeparator_Allows()
    {
        Assert.Same(GuardDecision.Allow, Check(sandbox.Root + "/"));
    }

    [Fact]
    public void Evaluate_NewFileUnderRoot_Allows()
    {
        Assert.Same(GuardDecision.Allow, Check(sandbox.In("new-dir", "new-file.txt")));
    }

    [Fact]
    public void Evaluate_DotDotEscapingRoot_DeniesOutsideRoots()
    {
        AssertDenied(Check(sandbox.Root + "/a/../../x.txt"), "argument.path-outside-roots");
    }

    [Fact]
    public void Evaluate_DotDotStayingInsideRoot_Allows()
    {
        Assert.Same(GuardDecision.Allow, Check(sandbox.Root + "/a/b/../../x.txt"));
    }

    [Fact]
    public void Evaluate_DotDotAboveFileSystemRoot_DeniesOutsideRoots()
    {
        AssertDenied(Check("/../../../../etc/passwd"), "argument.path-outside-roots");
    }

    [Fact]
    public void Evaluate_RepeatedSeparators_Allows()
    {
        Assert.Same(GuardDecision.Allow, Check(sandbox.Root + "//a///b////x.txt"));
    }

    [Fact]
    public void Evaluate_DotSegments_Allows()
    {
        Assert.Same(GuardDecision.Allow, Check(sandbox.Root + "/./a/././x.txt"));
    }

    [Fact]
    public void Evaluate_SiblingDirectorySharingRootPrefix_DeniesOutsideRoots()
    {
        AssertDenied(Check(Path.Combine(sandbox.Base, "rootX", "x.txt")), "argument.path-outside-roots");
    }

    [Fact]
    public void Evaluate_SymlinkInsideRoot_Allows()
    {
        Assert.Same(GuardDecision.Allow, Check(sandbox.In("link-in", "x.txt")));
    }

    [Fact]
    public void Evaluate_SymlinkWithRelativeTargetInsideRoot_Allows()
    {
        Assert.Same(GuardDecision.Allow, Check(sandbox.In("rel-in", "b", "x.txt")));
    }

    [Fact]
    public void Evaluate_DirectorySymlinkToOutside_DeniesOutsideRoots()
    {
        AssertDenied(Check(sandbox.In("link-out", "x.txt")), "argument.path-outside-roots");
    }

    [Fact]
    public void Evaluate_SymlinkWithRelativeTargetOutside_DeniesOutsideRoots()
    {
        AssertDenied(Check(sandbox.In("rel-out", "x.txt")), "argument.path-outside-roots");
    }

    [Fact]
    public void Evaluate_FileSymlinkToOutside_DeniesOutsideRoots()
    {
        AssertDenied(Check(sandbox.In("file-out")), "argument.path-outside-roots");
    }

    [Fact]
    public void Evaluate_NewFileThroughSymlinkToOutside_DeniesOutsideRoots()
    {
        AssertDenied(Check(sandbox.In("link-out", "created-by-server.txt")), "argument.path-outside-roots");
    }

    [Fact]
    public void Evaluate_DotDotAfterSymlinkToOutside_DeniesBecauseTheKernelFollowsTheLinkFirst()
    {
        // Lexically root/x.txt, but open() resolves link-out first and lands in base/x.txt (the secret).
        // (.NET's own file APIs would normalize the ".." lexically; realpath(3) shows what open(2) does.)
        Assert.Equal(PathSandbox.Secret, File.ReadAllText(PathSandbox.RealPath(sandbox.Root + "/link-out/../x.txt")!));
        AssertDenied(Check(sandbox.Root + "/link-out/../x.txt"), "argument.path-outside-roots");
    }

    [Fact]
    public void Evaluate_DotDotAfterLinkBackInside_DeniesBecauseNodeResolvesDotDotFirst()
    {
        // open(2) lands in root/x.txt, but Node's path.resolve + realpath (server-filesystem) reads outside/x.txt.
        string path = sandbox.Root + "/link-out/link-in/../x.txt";
        Assert.Equal(PathSandbox.Secret, File.ReadAllText(PathSandbox.RealPath(Path.GetFullPath(path))!));

        AssertDenied(Check(path), "argument.path-outside-roots");
    }

    [Fact]
    public void Evaluate_LinkFromOutsideBackInside_Allows()
    {
        Assert.Same(GuardDecision.Allow, Check(sandbox.In("link-out", "link-in", "x.txt")));
    }

    [Fact]
    public void Evaluate_SymlinkLoop_DeniesWithoutThrowing()
    {
        GuardDecision decision = Check(sandbox.In("loop1", "x.txt"));

        AssertDenied(decision, "argument.check-failed");
    }

    [Fact]
    public void Evaluate_RootConfiguredThroughSymlink_AllowsPathsUnderItsTarget()
    {
        Assert.Same(GuardDecision.Allow, Check(sandbox.In("a", "x.txt"), r =>
        {
            r.AllowedRoots.Clear();
            r.AllowedRoots.Add(Path.Combine(sandbox.Base, "root-link"));
        }));
    }

    [Fact]
    public void Evaluate_RelativePathWithoutBase_DeniesRelative()
    {
        AssertDenied(Check("a/x.txt"), "argument.path-relative");
    }

    [Fact]
    public void Evaluate_DotRelativePathWithoutBase_DeniesRelative()
    {
        AssertDenied(Check("./x.txt"), "argument.path-relative");
    }

    [Fact]
    public void Evaluate_RelativePathWithBaseInsideRoot_Allows()
    {
        Assert.Same(GuardDecision.Allow, Check("a/x.txt", r => r.RelativePathBase = sandbox.Root));
    }

    [Fact]
    public void Evaluate_RelativePathEscapingBase_DeniesOutsideRoots()
    {
        AssertDenied(Check("../outside/x.txt", r => r.RelativePathBase = sandbox.Root), "argument.path-outside-roots");
    }

    [Theory]
    [InlineData("~")]
    [InlineData("~/x.txt")]
    [InlineData("~root/.ssh/id_rsa")]
    public void Evaluate_HomeRelativePath_DeniesHomeRelative(string path)
    {
        AssertDenied(Check(path), "argument.path-home-relative");
    }

    [Fact]
    public void Evaluate_NulCharacter_DeniesInvalid()
    {
        AssertDenied(Check(sandbox.In("x.txt") + "\0/../../../etc/passwd"), "argument.path-invalid");
    }

    [Fact]
    public void Evaluate_EmptyString_DeniesInvalid()
    {
        AssertDenied(Check(string.Empty), "argument.path-invalid");
    }

    [Fact]
    public void Evaluate_NonStringValue_DeniesType()
    {
        AssertDenied(TestCalls.EvaluateRules("""{"path":42}""", new ArgumentRule { Path = "$.path", AllowedRoots = { sandbox.Root } }), "argument.type");
    }

    [Fact]
    public void Evaluate_DifferentCaseInsensitiveMode_Allows()
    {
        string upper = Path.Combine(sandbox.Base, "ROOT", "a", "x.txt");

        Assert.Same(GuardDecision.Allow, Check(upper, r => r.PathCase = PathCaseSensitivity.Insensitive));
    }

    [Fact]
    public void Evaluate_DifferentCaseSensitiveMode_DeniesOutsideRoots()
    {
        string upper = Path.Combine(sandbox.Base, "ROOT", "a", "x.txt");

        AssertDenied(Check(upper, r => r.PathCase = PathCaseSensitivity.Sensitive), "argument.path-outside-roots");
    }

    [Fact]
    public void Evaluate_DifferentCaseAutoMode_FollowsThePlatformsFileSystem()
    {
        string upper = Path.Combine(sandbox.Base, "ROOT", "a", "x.txt");
        bool folds = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS();

        GuardDecision decision = Check(upper, r => r.PathCase = PathCaseSensitivity.Auto);

        Assert.Equal(folds ? GuardDecisionKind.Allow : GuardDecisionKind.Deny, decision.Kind);
    }

    [Fact]
    public void Evaluate_SecondOfSeveralRoots_Allows()
    {
        Assert.Same(GuardDecision.Allow, Check(Path.Combine(sandbox.Outside, "a", "x.txt"), r => r.AllowedRoots.Add(sandbox.Outside)));
    }

    [Fact]
    public void Evaluate_WildcardSelectorViolationAtIndex_ReportsNormalizedPath()
    {
        var rule = new ArgumentRule { Path = "$.paths[*]", AllowedRoots = { sandbox.Root } };
        var arguments = new JsonObject { ["paths"] = new JsonArray(sandbox.In("x.txt"), sandbox.In("a", "x.txt"), sandbox.In("link-out", "x.txt")) };

        GuardDecision decision = TestCalls.EvaluateRules(arguments, rule);

        Assert.Equal(("argument.path-outside-roots", "$.paths[2]"), (decision.RuleId, decision.JsonPath));
    }

    [Fact]
    public void Evaluate_CustomId_ReplacesBuiltInRuleId()
    {
        GuardDecision decision = Check(sandbox.In("link-out", "x.txt"), r => r.Id = "fs.sandbox");

        Assert.Equal(("fs.sandbox", "$.path"), (decision.RuleId, decision.JsonPath));
    }
}
