using McpGuard.Tests.Infrastructure;

namespace McpGuard.Tests.Policies.Arguments;

public sealed class ValueRuleTests
{
    private static GuardDecision Check(string argumentsJson, ArgumentRule rule) => TestCalls.EvaluateRules(argumentsJson, rule);

    private static void AssertDenied(GuardDecision decision, string ruleId, string path = "$.v")
    {
        Assert.Equal((GuardDecisionKind.Deny, ruleId, path), (decision.Kind, decision.RuleId, decision.JsonPath));
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("z")]
    public void Evaluate_PatternFullMatch_Allows(string value)
    {
        Assert.Same(GuardDecision.Allow, Check($$"""{"v":"{{value}}"}""", new ArgumentRule { Path = "$.v", Pattern = "[a-z]+" }));
    }

    [Theory]
    [InlineData("abc1")]
    [InlineData("1abc")]
    [InlineData("")]
    [InlineData("abc\\n")]
    public void Evaluate_PatternPartialMatch_DeniesPattern(string value)
    {
        AssertDenied(Check($$"""{"v":"{{value}}"}""", new ArgumentRule { Path = "$.v", Pattern = "[a-z]+" }), "argument.pattern");
    }

    [Theory]
    [InlineData("ab")]
    [InlineData("xb")]
    [InlineData("ax")]
    public void Evaluate_PatternAlternation_IsAnchoredAsAWhole(string value)
    {
        AssertDenied(Check($$"""{"v":"{{value}}"}""", new ArgumentRule { Path = "$.v", Pattern = "a|b" }), "argument.pattern");
    }

    [Fact]
    public void Evaluate_PatternOnNumber_DeniesType()
    {
        AssertDenied(Check("""{"v":123}""", new ArgumentRule { Path = "$.v", Pattern = "[0-9]+" }), "argument.type");
    }

    [Theory]
    [InlineData("\"read\"")]
    [InlineData("\"write\"")]
    public void Evaluate_EnumStringMember_Allows(string value)
    {
        Assert.Same(GuardDecision.Allow, Check($$"""{"v":{{value}}}""", new ArgumentRule { Path = "$.v", AllowedValues = { "read", "write" } }));
    }

    [Theory]
    [InlineData("\"READ\"")]
    [InlineData("\"read \"")]
    [InlineData("\"delete\"")]
    [InlineData("null")]
    [InlineData("[\"read\"]")]
    public void Evaluate_EnumNonMember_DeniesEnum(string value)
    {
        AssertDenied(Check($$"""{"v":{{value}}}""", new ArgumentRule { Path = "$.v", AllowedValues = { "read", "write" } }), "argument.enum");
    }

    [Theory]
    [InlineData("42")]
    [InlineData("42.0")]
    [InlineData("4.2e1")]
    [InlineData("true")]
    public void Evaluate_EnumNonStringMember_ComparesCanonicalJsonText(string value)
    {
        Assert.Same(GuardDecision.Allow, Check($$"""{"v":{{value}}}""", new ArgumentRule { Path = "$.v", AllowedValues = { "42", "true" } }));
    }

    [Theory]
    [InlineData("43")]
    [InlineData("false")]
    public void Evaluate_EnumNonStringNonMember_DeniesEnum(string value)
    {
        AssertDenied(Check($$"""{"v":{{value}}}""", new ArgumentRule { Path = "$.v", AllowedValues = { "42", "true" } }), "argument.enum");
    }

    [Theory]
    [InlineData("1")]
    [InlineData("10")]
    [InlineData("5.5")]
    [InlineData("1e1")]
    public void Evaluate_RangeInside_Allows(string value)
    {
        Assert.Same(GuardDecision.Allow, Check($$"""{"v":{{value}}}""", new ArgumentRule { Path = "$.v", Minimum = 1, Maximum = 10 }));
    }

    [Theory]
    [InlineData("0.999")]
    [InlineData("10.0001")]
    [InlineData("-1e300")]
    [InlineData("1e300")]
    public void Evaluate_RangeOutside_DeniesRange(string value)
    {
        AssertDenied(Check($$"""{"v":{{value}}}""", new ArgumentRule { Path = "$.v", Minimum = 1, Maximum = 10 }), "argument.range");
    }

    /// <summary>A bound that is a halfway case between two doubles: the value is read correctly rounded in any notation
    /// (see <c>JsonNumbers</c>), so the same number is inside the range however the caller writes it.</summary>
    [Theory]
    [InlineData("31625746888842330", true)]
    [InlineData("31625746888842330.000", true)]
    [InlineData("3.162574688884233e16", true)]
    [InlineData("31625746888842332", false)]
    [InlineData("31625746888842332.000", false)]
    public void Evaluate_RangeBoundAtAHalfwayDouble_SameDecisionInAnyNotation(string value, bool allowed)
    {
        GuardDecision decision = Check($$"""{"v":{{value}}}""", new ArgumentRule { Path = "$.v", Maximum = 31625746888842330 });
        Assert.Equal(allowed, decision.Kind == GuardDecisionKind.Allow);
    }

    [Fact]
    public void Evaluate_RangeMinimumOnly_AllowsLargeValue()
    {
        Assert.Same(GuardDecision.Allow, Check("""{"v":1e300}""", new ArgumentRule { Path = "$.v", Minimum = 0 }));
    }

    [Theory]
    [InlineData("\"5\"")]
    [InlineData("true")]
    [InlineData("null")]
    public void Evaluate_RangeOnNonNumber_DeniesType(string value)
    {
        AssertDenied(Check($$"""{"v":{{value}}}""", new ArgumentRule { Path = "$.v", Minimum = 1, Maximum = 10 }), "argument.type");
    }

    [Fact]
    public void Evaluate_LengthEmojiCountsAsOneCodePoint_Allows()
    {
        Assert.Same(GuardDecision.Allow, Check("""{"v":"😀😀😀"}""", new ArgumentRule { Path = "$.v", MaxLength = 3 }));
    }

    [Fact]
    public void Evaluate_LengthAboveMaximum_DeniesLength()
    {
        AssertDenied(Check("""{"v":"😀😀😀😀"}""", new ArgumentRule { Path = "$.v", MaxLength = 3 }), "argument.length");
    }

    [Fact]
    public void Evaluate_LengthBelowMinimum_DeniesLength()
    {
        AssertDenied(Check("""{"v":"😀"}""", new ArgumentRule { Path = "$.v", MinLength = 2 }), "argument.length");
    }

    [Fact]
    public void Evaluate_LengthOnNumber_DeniesType()
    {
        AssertDenied(Check("""{"v":12345}""", new ArgumentRule { Path = "$.v", MaxLength = 3 }), "argument.type");
    }

    [Fact]
    public void Evaluate_MaxItemsAtLimit_Allows()
    {
        Assert.Same(GuardDecision.Allow, Check("""{"v":[1,2]}""", new ArgumentRule { Path = "$.v", MaxItems = 2 }));
    }

    [Fact]
    public void Evaluate_MaxItemsExceeded_DeniesLength()
    {
        AssertDenied(Check("""{"v":[1,2,3]}""", new ArgumentRule { Path = "$.v", MaxItems = 2 }), "argument.length");
    }

    [Fact]
    public void Evaluate_SelectorMatchesNothing_Allows()
    {
        Assert.Same(GuardDecision.Allow, Check("""{"other":"x"}""", new ArgumentRule { Path = "$.v", Pattern = "a" }));
    }

    [Fact]
    public void Evaluate_CustomId_ReplacesBuiltInRuleId()
    {
        AssertDenied(Check("""{"v":"b"}""", new ArgumentRule { Path = "$.v", Pattern = "a", Id = "org.only-a" }), "org.only-a");
    }

    [Fact]
    public void Evaluate_CustomId_AlsoReplacesTypeRuleId()
    {
        AssertDenied(Check("""{"v":1}""", new ArgumentRule { Path = "$.v", Pattern = "a", Id = "org.only-a" }), "org.only-a");
    }

    [Fact]
    public void Evaluate_QuotedMemberName_ReportsBracketPath()
    {
        AssertDenied(Check("""{"a b":"x"}""", new ArgumentRule { Path = "$['a b']", Pattern = "y" }), "argument.pattern", "$['a b']");
    }

    [Fact]
    public void Evaluate_NestedWildcards_ReportsFullPathOfOffendingValue()
    {
        var rule = new ArgumentRule { Path = "$.items[*].*", MaxLength = 2 };

        AssertDenied(Check("""{"items":[{"a":"ok"},{"b":"ok","c":"too long"}]}""", rule), "argument.length", "$.items[1].c");
    }

    [Fact]
    public async Task Evaluate_SeveralRules_FirstViolationInRuleOrderWins()
    {
        McpGuardOptions options = TestCalls.OptionsWithRules(
            "tool",
            new ArgumentRule { Path = "$.a", Pattern = "x" },
            new ArgumentRule { Path = "$.b", Pattern = "y" });
        var stage = new McpGuard.Policies.ArgumentConstraintStage(options);

        GuardDecision decision = await stage.EvaluateCallAsync(TestCalls.Call(TestCalls.Session(options), "tool", """{"b":"no","a":"no"}"""), default);

        Assert.Equal("$.a", decision.JsonPath);
    }

    [Fact]
    public void Evaluate_LoneSurrogateInCheckedString_DeniesWithoutThrowing()
    {
        var arguments = new System.Text.Json.Nodes.JsonObject { ["v"] = "abc\ud800" };

        GuardDecision decision = TestCalls.EvaluateRules(arguments, new ArgumentRule { Path = "$.v", Pattern = ".*" });

        AssertDenied(decision, "argument.check-failed");
    }

    [Fact]
    public void Evaluate_LoneSurrogateInWildcardKey_DeniesWithoutThrowing()
    {
        var arguments = new System.Text.Json.Nodes.JsonObject { ["\udc00"] = "x" };

        GuardDecision decision = TestCalls.EvaluateRules(arguments, new ArgumentRule { Path = "$.*", Pattern = ".*" });

        Assert.Equal((GuardDecisionKind.Deny, "argument.check-failed"), (decision.Kind, decision.RuleId));
    }
}
