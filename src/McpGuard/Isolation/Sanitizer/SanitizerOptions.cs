namespace McpGuard;

/// <summary>
/// Options of the content sanitizer, the deterministic first stage of untrusted content isolation. It removes hidden
/// Unicode, terminal control sequences and hidden markup, neutralizes exfiltration links and caps sizes; everything it
/// removes or changes is reported as a <see cref="SanitizerFinding"/>.
/// </summary>
/// <remarks>Bind from configuration section <c>McpGuard:Isolation:Sanitizer</c>. Read once when the engine is built.</remarks>
public sealed class SanitizerOptions
{
    /// <summary>Whether the sanitizer runs at all.</summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>Whether hidden Unicode is removed: Tags block U+E0000–U+E007F (decoded for evidence), zero-width characters, bidi controls, other format (Cf) and private-use characters, stray variation selectors. ZWJ inside emoji sequences, variation selectors after emoji and subdivision flag tag sequences are kept.</summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool RemoveHiddenUnicode { get; set; } = true;

    /// <summary>Whether terminal control is removed: ECMA-48 escape sequences (CSI, OSC including OSC-8 hyperlinks, DCS/SOS/PM/APC strings), C0 controls other than tab and line feed, DEL and C1 controls. A lone carriage return becomes a line feed.</summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool RemoveTerminalControl { get; set; } = true;

    /// <summary>Whether hidden markup is removed: HTML comments, elements hidden with CSS (<c>display:none</c>, <c>visibility:hidden</c>, zero font size, zero opacity, off-screen positioning, ...), elements with the <c>hidden</c> attribute, and <c>script</c>/<c>style</c>/<c>template</c> elements. Each removal leaves a visible placeholder.</summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool RemoveHiddenMarkup { get; set; } = true;

    /// <summary>Whether exfiltration channels are neutralized: markdown images and HTML resources a renderer fetches without a click (<c>src</c>, <c>srcset</c>, <c>poster</c>, <c>background</c>, <c>data</c>, <c>href</c> of <c>link</c> and SVG <c>image</c>/<c>use</c>, <c>url(...)</c> in <c>style</c>) pointing to a host not in <see cref="AllowedLinkHosts"/>; markdown links and HTML navigations (<c>href</c> of <c>a</c> and <c>area</c>, <c>action</c>, <c>formaction</c>, <c>ping</c>) to such a host whose URL carries data (query, fragment, credentials, long encoded path segments). The URL (for HTML, the whole start tag) is replaced by a visible placeholder naming the host. Bare URLs in plain text are left as they are: the reader sees the whole URL.</summary>
    /// <value>Default: <see langword="true"/>.</value>
    public bool NeutralizeExfiltrationLinks { get; set; } = true;

    /// <summary>Hosts that links and images may point to (case-insensitive). An entry <c>*.example.com</c> also allows every subdomain.</summary>
    /// <value>Default: empty (no host is trusted).</value>
    public List<string> AllowedLinkHosts { get; } = [];

    /// <summary>Largest length of one text block after sanitization, in UTF-16 code units; longer text is cut and ends with a visible truncation marker.</summary>
    /// <value>Default: 131,072. Range: 256–67,108,864.</value>
    public int MaxBlockChars { get; set; } = 128 * 1024;

    /// <summary>Largest total length of all text in one result (tool result, resource contents, prompt messages), in UTF-16 code units; blocks beyond it are cut or emptied with a visible marker.</summary>
    /// <value>Default: 524,288. Range: 256–268,435,456.</value>
    public int MaxResultChars { get; set; } = 512 * 1024;

    /// <summary>Largest number of findings kept per text (further findings are counted, not kept).</summary>
    /// <value>Default: 64. Range: 1–10,000.</value>
    public int MaxFindings { get; set; } = 64;
}

/// <summary>One thing the sanitizer removed or changed.</summary>
/// <param name="RuleId">Stable rule id, e.g. <c>unicode.tag-characters</c>, <c>terminal.csi</c>, <c>markup.html-comment</c>, <c>link.exfiltration-image</c>, <c>size.truncated</c>.</param>
/// <param name="Start">Start of the span in UTF-16 code units. Character rules (<c>unicode.*</c>, <c>terminal.*</c>) refer to the original text; markup and link rules to the text after character removal; <c>size.truncated</c> to the sanitized text.</param>
/// <param name="Length">Length of the removed or changed span, in UTF-16 code units.</param>
/// <param name="Removed">What was removed (server-controlled; capped at 256 code units, escaped control characters as <c>\uXXXX</c>). Host-facing only.</param>
/// <param name="Decoded">Hidden text recovered from the span, if any: the ASCII smuggled in Tags characters, the content of an HTML comment or hidden element, the URI of an OSC-8 hyperlink, the host of a removed link. Host-facing only.</param>
public sealed record SanitizerFinding(string RuleId, int Start, int Length, string Removed, string? Decoded);

/// <summary>The result of sanitizing one text.</summary>
/// <param name="Text">The sanitized text; the same instance as the input when nothing changed.</param>
/// <param name="Findings">The findings, at most <see cref="SanitizerOptions.MaxFindings"/>.</param>
/// <param name="FindingCount">The number of findings, including those not kept.</param>
/// <param name="HiddenText">The hidden text recovered from every finding, kept or not (ASCII decoded from Tags characters, HTML comment and hidden element content), joined by line feeds and capped at 262,144 code units; empty when none. Detectors scan it too, because hidden content is what the attacker meant the model, not the user, to read.</param>
public sealed record SanitizedText(string Text, IReadOnlyList<SanitizerFinding> Findings, int FindingCount, string HiddenText)
{
    /// <summary>Whether anything was removed or changed.</summary>
    public bool Changed => FindingCount > 0;
}
