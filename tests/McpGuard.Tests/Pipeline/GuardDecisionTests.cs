namespace McpGuard.Tests.Pipeline;

public sealed class GuardDecisionTests
{
    [Fact]
    public void Allow_IsCachedSingleton()
    {
        Assert.Same(GuardDecision.Allow, GuardDecision.Allow);
        Assert.True(GuardDecision.Allow.IsAllowed);
    }

    [Theory]
    [InlineData("", "rule")]
    [InlineData("reason", "")]
    public void Deny_EmptyReasonOrRule_Throws(string reason, string rule)
    {
        Assert.Throws<ArgumentException>(() => GuardDecision.Deny(reason, rule));
    }

    [Theory]
    [InlineData("", "rule")]
    [InlineData("reason", "")]
    public void RequireApproval_EmptyReasonOrRule_Throws(string reason, string rule)
    {
        Assert.Throws<ArgumentException>(() => GuardDecision.RequireApproval(reason, rule));
    }

    [Fact]
    public void Deny_CarriesReasonRuleAndPath()
    {
        GuardDecision d = GuardDecision.Deny("why", "argument.pattern", "$.a[2]");

        Assert.Equal((GuardDecisionKind.Deny, "why", "argument.pattern", "$.a[2]"), (d.Kind, d.Reason, d.RuleId, d.JsonPath));
        Assert.False(d.IsAllowed);
    }

    [Fact]
    public void Equals_SameFields_AreEqualWithSameHash()
    {
        GuardDecision a = GuardDecision.Deny("why", "r", "$.x");
        GuardDecision b = GuardDecision.Deny("why", "r", "$.x");

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
    }

    [Fact]
    public void Equals_DifferentPath_AreNotEqual()
    {
        Assert.NotEqual(GuardDecision.Deny("why", "r", "$.x"), GuardDecision.Deny("why", "r", "$.y"));
    }

    [Fact]
    public void Combine_SameStrength_ReturnsFirst()
    {
        GuardDecision first = GuardDecision.Deny("a", "rule.a");
        GuardDecision second = GuardDecision.Deny("b", "rule.b");

        Assert.Same(first, GuardDecision.Combine(first, second));
    }

    [Fact]
    public void Combine_Null_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => GuardDecision.Combine(GuardDecision.Allow, null!));
    }
}
