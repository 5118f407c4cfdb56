using System.Text.Json.Nodes;
using McpGuard.Tests.Infrastructure;

namespace McpGuard.Tests.Policies.Arguments;

public sealed class UrlRuleTests
{
    private static GuardDecision Check(string url, Action<ArgumentRule> configure)
    {
        var rule = new ArgumentRule { Path = "$.url" };
        configure(rule);
        return TestCalls.EvaluateRules(new JsonObject { ["url"] = url }, rule);
    }

    private static GuardDecision Hosts(string url, params string[] hosts) => Check(url, r => r.AllowedHosts.AddRange(hosts));

    private static void AssertDenied(GuardDecision decision, string ruleId)
    {
        Assert.Equal((GuardDecisionKind.Deny, ruleId, "$.url"), (decision.Kind, decision.RuleId, decision.JsonPath));
    }

    [Fact]
    public void Evaluate_AllowedScheme_Allows()
    {
        Assert.Same(GuardDecision.Allow, Check("https://example.com/a", r => r.AllowedSchemes.Add("https")));
    }

    [Fact]
    public void Evaluate_SchemeComparedCaseInsensitively_Allows()
    {
        Assert.Same(GuardDecision.Allow, Check("HTTPS://example.com/a", r => r.AllowedSchemes.Add("Https")));
    }

    [Theory]
    [InlineData("http://example.com/")]
    [InlineData("file:///etc/passwd")]
    [InlineData("javascript:alert(1)")]
    [InlineData("ftp://example.com/")]
    public void Evaluate_OtherScheme_DeniesScheme(string url)
    {
        AssertDenied(Check(url, r => r.AllowedSchemes.Add("https")), "argument.url-scheme");
    }

    [Theory]
    [InlineData("example.com/path")]
    [InlineData("relative/path")]
    [InlineData("")]
    public void Evaluate_NotAnAbsoluteUrl_DeniesInvalid(string url)
    {
        AssertDenied(Check(url, r => r.AllowedSchemes.Add("https")), "argument.url-invalid");
    }

    [Fact]
    public void Evaluate_RootedUnixPath_IsReadAsFileUrlAndDeniedByScheme()
    {
        // System.Uri reads "/etc/passwd" as file:///etc/passwd on Unix.
        AssertDenied(Check("/etc/passwd", r => r.AllowedSchemes.Add("https")), "argument.url-scheme");
    }

    [Fact]
    public void Evaluate_NonStringValue_DeniesType()
    {
        AssertDenied(TestCalls.EvaluateRules("""{"url":["https://example.com"]}""", new ArgumentRule { Path = "$.url", AllowedSchemes = { "https" } }), "argument.type");
    }

    [Fact]
    public void Evaluate_AllowedHost_Allows()
    {
        Assert.Same(GuardDecision.Allow, Hosts("https://example.com/x?y=1", "example.com"));
    }

    [Fact]
    public void Evaluate_HostComparedCaseInsensitively_Allows()
    {
        Assert.Same(GuardDecision.Allow, Hosts("https://EXAMPLE.com/", "Example.COM"));
    }

    [Fact]
    public void Evaluate_HostWithTrailingDot_Allows()
    {
        Assert.Same(GuardDecision.Allow, Hosts("https://example.com./", "example.com"));
    }

    [Theory]
    [InlineData("https://evil.com/")]
    [InlineData("https://example.com.evil.com/")]
    [InlineData("https://notexample.com/")]
    [InlineData("https://127.0.0.1/")]
    public void Evaluate_OtherHost_DeniesHost(string url)
    {
        AssertDenied(Hosts(url, "example.com"), "argument.url-host");
    }

    [Fact]
    public void Evaluate_HostsOnly_RequiresHttps()
    {
        AssertDenied(Hosts("http://example.com/", "example.com"), "argument.url-scheme");
    }

    [Theory]
    [InlineData("https://user:pass@example.com/")]
    [InlineData("https://user@example.com/")]
    [InlineData("https://example.com@evil.com/")]
    public void Evaluate_UserInfo_DeniesUserInfo(string url)
    {
        AssertDenied(Hosts(url, "example.com", "evil.com"), "argument.url-userinfo");
    }

    [Theory]
    [InlineData("https://a.example.com/")]
    [InlineData("https://deep.a.example.com/")]
    public void Evaluate_WildcardSubdomain_Allows(string url)
    {
        Assert.Same(GuardDecision.Allow, Hosts(url, "*.example.com"));
    }

    [Theory]
    [InlineData("https://example.com/")]
    [InlineData("https://badexample.com/")]
    [InlineData("https://example.com.evil.com/")]
    public void Evaluate_WildcardSubdomain_DoesNotMatchApexOrLookAlike(string url)
    {
        AssertDenied(Hosts(url, "*.example.com"), "argument.url-host");
    }

    [Fact]
    public void Evaluate_IdnHost_MatchesItsPunycodeForm()
    {
        Assert.Same(GuardDecision.Allow, Hosts("https://MÜNCHEN.de/karte", "xn--mnchen-3ya.de"));
    }

    [Fact]
    public void Evaluate_HomographHost_DeniesHost()
    {
        // "exаmple.com" with a Cyrillic "а" (U+0430) is a different host in IDNA ASCII form.
        AssertDenied(Hosts("https://ex\u0430mple.com/", "example.com"), "argument.url-host");
    }

    [Fact]
    public void Evaluate_ViolationInArray_ReportsIndexPath()
    {
        var rule = new ArgumentRule { Path = "$.urls[*]", AllowedHosts = { "example.com" } };

        GuardDecision decision = TestCalls.EvaluateRules("""{"urls":["https://example.com/","https://evil.com/"]}""", rule);

        Assert.Equal(("argument.url-host", "$.urls[1]"), (decision.RuleId, decision.JsonPath));
    }
}
