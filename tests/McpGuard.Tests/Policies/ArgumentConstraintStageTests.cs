using System.Text.Json.Nodes;
using McpGuard.Policies;
using McpGuard.Tests.Infrastructure;

namespace McpGuard.Tests.Policies;

public sealed class ArgumentConstraintStageTests
{
    private static GuardDecision Evaluate(McpGuardOptions options, string tool, string argumentsJson)
    {
        var stage = new ArgumentConstraintStage(options);
        return stage.EvaluateCallAsync(TestCalls.Call(TestCalls.Session(options), tool, argumentsJson), CancellationToken.None).Result;
    }

    private static McpGuardOptions WithTool(Action<GuardToolOptions> configure, string name = "tool")
    {
        return TestCalls.Options(s =>
        {
            var tool = new GuardToolOptions();
            configure(tool);
            s.Tools[name] = tool;
        });
    }

    [Fact]
    public void EvaluateCallAsync_RequiredPropertyMissing_DeniesRequiredWithPath()
    {
        GuardDecision d = Evaluate(WithTool(t => t.RequiredProperties.Add("path")), "tool", """{"other":1}""");

        Assert.Equal(("argument.required", "$.path"), (d.RuleId, d.JsonPath));
    }

    [Fact]
    public void EvaluateCallAsync_RequiredPropertyPresentAsNull_Allows()
    {
        Assert.Same(GuardDecision.Allow, Evaluate(WithTool(t => t.RequiredProperties.Add("path")), "tool", """{"path":null}"""));
    }

    [Fact]
    public void EvaluateCallAsync_ForbiddenPropertyPresent_DeniesForbiddenWithPath()
    {
        GuardDecision d = Evaluate(WithTool(t => t.ForbiddenProperties.Add("dry run")), "tool", """{"dry run":false}""");

        Assert.Equal(("argument.forbidden", "$['dry run']"), (d.RuleId, d.JsonPath));
    }

    [Fact]
    public void EvaluateCallAsync_ForbiddenPropertyNestedDeeper_Allows()
    {
        Assert.Same(GuardDecision.Allow, Evaluate(WithTool(t => t.ForbiddenProperties.Add("x")), "tool", """{"a":{"x":1}}"""));
    }

    [Fact]
    public void EvaluateCallAsync_GlobalMaxArgumentBytesExceeded_DeniesTooLarge()
    {
        McpGuardOptions options = TestCalls.Options();
        options.MaxArgumentBytes = 20;

        GuardDecision d = Evaluate(options, "unconfigured", """{"text":"0123456789abcdef"}""");

        Assert.Equal(("argument.too-large", "$"), (d.RuleId, d.JsonPath));
    }

    [Fact]
    public void EvaluateCallAsync_GlobalMaxArgumentBytesExactlyMet_Allows()
    {
        McpGuardOptions options = TestCalls.Options();
        options.MaxArgumentBytes = """{"t":"0123456789"}""".Length;

        Assert.Same(GuardDecision.Allow, Evaluate(options, "unconfigured", """{ "t" : "0123456789" }"""));
    }

    [Fact]
    public void EvaluateCallAsync_ToolMaxArgumentBytesLowerThanGlobal_DeniesTooLarge()
    {
        GuardDecision d = Evaluate(WithTool(t => t.MaxArgumentBytes = 10), "tool", """{"text":"0123456789"}""");

        Assert.Equal("argument.too-large", d.RuleId);
    }

    [Fact]
    public void EvaluateCallAsync_ToolMaxArgumentBytesHigherThanGlobal_GlobalLimitStillApplies()
    {
        McpGuardOptions options = WithTool(t => t.MaxArgumentBytes = 1000);
        options.MaxArgumentBytes = 20;

        Assert.Equal("argument.too-large", Evaluate(options, "tool", """{"text":"0123456789abcdef"}""").RuleId);
    }

    [Fact]
    public void EvaluateCallAsync_ToolLimitOnlyAppliesToThatTool_OtherToolAllowed()
    {
        Assert.Same(GuardDecision.Allow, Evaluate(WithTool(t => t.MaxArgumentBytes = 10), "other", """{"text":"0123456789"}"""));
    }

    [Fact]
    public void EvaluateCallAsync_ArgumentsNotAnObject_DeniesMalformed()
    {
        McpGuardOptions options = TestCalls.Options();

        Assert.Equal("argument.malformed", Evaluate(options, "tool", "[1,2]").RuleId);
    }

    [Fact]
    public async Task EvaluateCallAsync_RulesOfAnotherServer_DoNotApply()
    {
        McpGuardOptions options = WithTool(t => t.Arguments.Add(new ArgumentRule { Path = "$.v", Pattern = "a" }));
        options.Servers["second"] = new GuardServerOptions();
        var stage = new ArgumentConstraintStage(options);

        GuardDecision d = await stage.EvaluateCallAsync(TestCalls.Call(TestCalls.Session(options, "second"), "tool", """{"v":"b"}"""), default);

        Assert.Same(GuardDecision.Allow, d);
    }

    [Fact]
    public void EvaluateCallAsync_RequiredCheckedBeforeRules()
    {
        McpGuardOptions options = WithTool(t =>
        {
            t.RequiredProperties.Add("must");
            t.Arguments.Add(new ArgumentRule { Path = "$.v", Pattern = "a" });
        });

        Assert.Equal("argument.required", Evaluate(options, "tool", """{"v":"b"}""").RuleId);
    }

    [Fact]
    public void Constructor_InvalidRulePath_ThrowsFormatException()
    {
        McpGuardOptions options = WithTool(t => t.Arguments.Add(new ArgumentRule { Path = "a.b" }));

        Assert.Throws<FormatException>(() => new ArgumentConstraintStage(options));
    }

    [Fact]
    public void EvaluateCallAsync_EveryViolationCarriesRuleIdAndJsonPath()
    {
        McpGuardOptions options = WithTool(t => t.Arguments.Add(new ArgumentRule { Path = "$.deep[*].v", AllowedValues = { "ok" } }));

        GuardDecision d = Evaluate(options, "tool", """{"deep":[{"v":"ok"},{"v":"bad"}]}""");

        Assert.Equal((GuardDecisionKind.Deny, "argument.enum", "$.deep[1].v"), (d.Kind, d.RuleId, d.JsonPath));
    }

    [Fact]
    public void EvaluateCallAsync_ReasonForPathViolation_DoesNotQuoteTheValue()
    {
        // Reasons go into evidence, where argument values are redacted by default: the reason must not carry the path.
        McpGuardOptions options = WithTool(t => t.Arguments.Add(new ArgumentRule { Path = "$.p", AllowedRoots = { "/nonexistent-root-for-test" } }));

        GuardDecision d = Evaluate(options, "tool", new JsonObject { ["p"] = "/etc/passwd" }.ToJsonString());

        Assert.Equal("argument.path-outside-roots", d.RuleId);
        Assert.DoesNotContain("/etc/passwd", d.Reason);
    }

    [Fact]
    public async Task EvaluateCallAsync_LoneSurrogateMemberNameWithRequiredProperties_DeniesCheckFailed()
    {
        McpGuardOptions options = WithTool(t => t.RequiredProperties.Add("path"));
        var stage = new ArgumentConstraintStage(options);
        var arguments = new JsonObject { ["\udc00"] = 1 };

        GuardDecision d = await stage.EvaluateCallAsync(TestCalls.Call(TestCalls.Session(options), "tool", arguments), default);

        Assert.Equal((GuardDecisionKind.Deny, "argument.check-failed", "$"), (d.Kind, d.RuleId, d.JsonPath));
    }

    [Fact]
    public void EvaluateCallAsync_ConfiguredForbiddenNameNotValidUtf16_DeniesCheckFailed()
    {
        GuardDecision d = Evaluate(WithTool(t => t.ForbiddenProperties.Add("\udc00")), "tool", """{"a":1}""");

        Assert.Equal((GuardDecisionKind.Deny, "argument.check-failed"), (d.Kind, d.RuleId));
    }
}
