using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using McpGuard.Policies;
using McpGuard.Tests.Infrastructure;

namespace McpGuard.Tests.Policies;

public static class PathSegmentGenerators
{
    // Single names plus a few two-step tokens (still plain segments joined by '/') that make the interesting
    // link/".." interleavings likely enough to be hit in a few hundred runs.
    public static readonly string[] Segments =
        ["a", "b", "..", ".", "", "link-in", "link-out", "x.txt", "rel-in", "rel-out", "loop1", "file-out", "link-out/link-in", "link-in/..", "link-out/.."];

    public static Arbitrary<string[]> SegmentLists() =>
        Gen.Choose(0, 8).SelectMany(n => Gen.ArrayOf(Gen.Elements(Segments), n)).ToArbitrary();
}

public sealed class ArgumentConstraintProperties(PathSandbox sandbox) : IClassFixture<PathSandbox>
{
    /// <summary>One tool per rule kind (and selector shape), so every kind runs on every generated input.</summary>
    private McpGuardOptions EveryRuleKind()
    {
        var options = new McpGuardOptions();
        var server = new GuardServerOptions();
        options.Servers[TestCalls.ServerName] = server;
        void Add(string name, Action<GuardToolOptions> configure)
        {
            var tool = new GuardToolOptions();
            configure(tool);
            server.Tools[name] = tool;
        }

        Add("path", t => t.Arguments.Add(new ArgumentRule { Path = "$.*", AllowedRoots = { sandbox.Root } }));
        Add("path-nested", t => t.Arguments.Add(new ArgumentRule { Path = "$.*[*]", AllowedRoots = { sandbox.Root }, RelativePathBase = sandbox.Root, PathCase = PathCaseSensitivity.Insensitive }));
        Add("path-member", t => t.Arguments.Add(new ArgumentRule { Path = "$.path", AllowedRoots = { sandbox.Root, sandbox.Outside } }));
        Add("url", t => t.Arguments.Add(new ArgumentRule { Path = "$.*", AllowedHosts = { "example.com", "*.example.org" } }));
        Add("url-scheme", t => t.Arguments.Add(new ArgumentRule { Path = "$.url", AllowedSchemes = { "https", "http" } }));
        Add("pattern", t => t.Arguments.Add(new ArgumentRule { Path = "$.*", Pattern = "[a-z/.]*|x+y" }));
        Add("enum", t => t.Arguments.Add(new ArgumentRule { Path = "$.*.*", AllowedValues = { "a", "1", "true", "null" } }));
        Add("range", t => t.Arguments.Add(new ArgumentRule { Path = "$.*", Minimum = -5, Maximum = 5 }));
        Add("length", t => t.Arguments.Add(new ArgumentRule { Path = "$[*]", MinLength = 1, MaxLength = 8, Id = "custom.length" }));
        Add("items", t => t.Arguments.Add(new ArgumentRule { Path = "$.*", MaxItems = 2 }));
        Add("quoted", t => t.Arguments.Add(new ArgumentRule { Path = "$['a b'][0]", Pattern = "z" }));
        Add("index", t => t.Arguments.Add(new ArgumentRule { Path = "$.a[0][*]", Pattern = "z" }));
        Add("props", t =>
        {
            t.RequiredProperties.Add("path");
            t.ForbiddenProperties.AddRange(["a", ""]);
            t.MaxArgumentBytes = 4096;
        });
        Add("all", t => t.Arguments.AddRange(
        [
            new ArgumentRule { Path = "$.s", MaxLength = 100 },
            new ArgumentRule { Path = "$.n", Minimum = -1e300 },
            new ArgumentRule { Path = "$.arr", MaxItems = 100 },
        ]));
        return options;
    }

    [Property(MaxTest = 300, Arbitrary = [typeof(JsonGenerators)])]
    public Property EvaluateCallAsync_ArbitraryJson_NeverThrowsAndEveryDenyHasRuleIdAndPath(HostileArguments arguments)
    {
        McpGuardOptions options = EveryRuleKind();
        var stage = new ArgumentConstraintStage(options);
        GuardSessionInfo session = TestCalls.Session(options);
        var failures = new List<string>();
        foreach (string tool in options.Servers[TestCalls.ServerName].Tools.Keys)
        {
            GuardDecision decision = stage.EvaluateCallAsync(TestCalls.Call(session, tool, arguments.Node?.DeepClone()), CancellationToken.None).Result;
            if (decision is null)
            {
                failures.Add(tool + ": null decision");
            }
            else if (decision.Kind == GuardDecisionKind.Deny && (string.IsNullOrEmpty(decision.RuleId) || decision.JsonPath is not { } p || !p.StartsWith('$')))
            {
                failures.Add($"{tool}: deny without rule id or JSON path ({decision})");
            }
            else if (decision.Kind == GuardDecisionKind.RequireApproval)
            {
                failures.Add(tool + ": argument constraints never ask for approval");
            }
        }

        return (failures.Count == 0).Label(string.Join("; ", failures));
    }

    [Property(MaxTest = 500, Arbitrary = [typeof(PathSegmentGenerators)])]
    public Property EvaluateCallAsync_AcceptedPath_ResolvesUnderTheRootByIndependentOracles(string[] segments, bool trailingSlash)
    {
        string candidate = sandbox.Root + "/" + string.Join('/', segments) + (trailingSlash ? "/" : string.Empty);
        GuardDecision decision = TestCalls.EvaluateRules(new JsonObject { ["path"] = candidate }, new ArgumentRule { Path = "$.path", AllowedRoots = { sandbox.Root } });
        if (decision.Kind != GuardDecisionKind.Allow)
        {
            return (decision.RuleId is "argument.path-outside-roots" or "argument.check-failed").Label("unexpected rule " + decision.RuleId)
                .Classify(true, "denied");
        }

        var problems = new List<string>();

        // Oracle 1 (Node's path.resolve): lexical normalization stays under the root.
        if (!sandbox.IsUnderRealRoot(Path.GetFullPath(candidate)))
        {
            problems.Add("lexically outside: " + Path.GetFullPath(candidate));
        }

        // Oracle 2 (the kernel, as open(2) resolves it): realpath(3) of the path, and of Node's resolved form.
        foreach (string form in new[] { candidate, Path.GetFullPath(candidate) })
        {
            if (PathSandbox.RealPath(form) is { } real)
            {
                if (!sandbox.IsUnderRealRoot(real))
                {
                    problems.Add($"realpath({form}) = {real}");
                }

                // Oracle 3: content. Every file under the root says "inside"; every file outside says "SECRET".
                if (File.Exists(real) && File.ReadAllText(real) != PathSandbox.Inside)
                {
                    problems.Add($"reads the outside secret through {form}");
                }
            }
            else if (segments.Length > 0 && segments[^1] is not (".." or "." or "") && !trailingSlash
                && PathSandbox.RealPath(form[..form.LastIndexOf('/')]) is { } parent && !sandbox.IsUnderRealRoot(parent))
            {
                // Oracle 4: a file that does not exist yet would be created in the kernel's resolution of its parent.
                problems.Add($"would create {form} in {parent}");
            }
        }

        return (problems.Count == 0).Label(candidate + ": " + string.Join("; ", problems)).Classify(true, "accepted");
    }
}
