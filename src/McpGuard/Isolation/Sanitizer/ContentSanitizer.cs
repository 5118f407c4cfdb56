using System.Buffers;
using System.Globalization;
using System.Text;

namespace McpGuard;

/// <summary>
/// The deterministic content sanitizer: removes hidden Unicode, terminal control sequences and hidden markup,
/// neutralizes exfiltration links and caps the size, and reports each change as a <see cref="SanitizerFinding"/>.
/// </summary>
/// <remarks>
/// <para>Hand-written scanners, no regular expressions: two left-to-right passes (characters, then markup), each
/// linear in the input length (every lookahead is bounded or consumes what it scans). The output is idempotent
/// (<c>Sanitize(Sanitize(x).Text).Text == Sanitize(x).Text</c>): every removed construct leaves either nothing
/// (single characters) or a placeholder opened with U+27E6 '⟦', which no scanner lets a construct cross, so a removal
/// never joins its neighbours into a new construct. Never throws on any string, including lone surrogates (replaced by
/// U+FFFD).</para>
/// <para>Thread-safe and immutable once built.</para>
/// </remarks>
public sealed partial class ContentSanitizer
{
    /// <summary>First character of every placeholder the sanitizer inserts (U+27E6 MATHEMATICAL LEFT WHITE SQUARE BRACKET).</summary>
    public const char PlaceholderOpen = '\u27E6';

    /// <summary>Last character of every placeholder the sanitizer inserts (U+27E7).</summary>
    public const char PlaceholderClose = '\u27E7';

    internal const string HiddenContentPlaceholder = "\u27E6hidden content removed\u27E7";
    internal const string CommentPlaceholder = "\u27E6hidden comment removed\u27E7";

    private const int MaxRemovedChars = 256;
    private const int MaxDecodedChars = 4096;
    private const int MaxTagChars = 2048;
    private const int MaxLinkTextChars = 1000;
    private const int MaxUrlChars = 4096;

    private static readonly SearchValues<char> s_markupStarts = SearchValues.Create("<[]");

    // Printable ASCII without the markup starts, plus LF and TAB: text made only of these passes both passes unchanged.
    private static readonly SearchValues<char> s_inertChars = SearchValues.Create(
        "\t\n !\"#$%&'()*+,-./0123456789:;=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ\\^_`abcdefghijklmnopqrstuvwxyz{|}~");
    private static readonly SearchValues<char> s_unsafeLinkText = SearchValues.Create("<>[]()!`\u27E6\u27E7\\");

    private readonly SanitizerOptions _options;
    private readonly string[] _allowedHosts;
    private readonly string[] _allowedSuffixes;

    /// <summary>Creates a sanitizer.</summary>
    /// <param name="options">The options; <see langword="null"/> for the defaults. Copied: later changes have no effect.</param>
    public ContentSanitizer(SanitizerOptions? options = null)
    {
        _options = options ?? new SanitizerOptions();
        _allowedHosts = [.. _options.AllowedLinkHosts.Where(h => !h.StartsWith("*.", StringComparison.Ordinal)).Select(h => h.Trim().ToLowerInvariant())];
        _allowedSuffixes = [.. _options.AllowedLinkHosts.Where(h => h.StartsWith("*.", StringComparison.Ordinal)).Select(h => h[1..].Trim().ToLowerInvariant())];
        MaxFindings = Math.Max(1, _options.MaxFindings);
    }

    /// <summary>The options this sanitizer was built with.</summary>
    public SanitizerOptions Options => _options;

    internal int MaxFindings { get; }

    /// <summary>Sanitizes one text with the per-block size cap.</summary>
    /// <param name="text">The text, as the server sent it.</param>
    /// <returns>The sanitized text and the findings.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public SanitizedText Sanitize(string text) => Sanitize(text, _options.MaxBlockChars);

    /// <summary>Sanitizes one text with an explicit size cap.</summary>
    /// <param name="text">The text, as the server sent it.</param>
    /// <param name="maxChars">Largest output length in UTF-16 code units (at least 64); longer output is cut and ends with a truncation marker.</param>
    /// <returns>The sanitized text and the findings.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="text"/> is <see langword="null"/>.</exception>
    public SanitizedText Sanitize(string text, int maxChars)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!_options.Enabled)
        {
            return new SanitizedText(text, [], 0, string.Empty);
        }

        maxChars = Math.Max(64, maxChars);
        var findings = new FindingList(MaxFindings);
        string result = SanitizeCore(text, findings);
        if (result.Length > maxChars)
        {
            string marker = TruncationMarker(result.Length);
            int cut = Math.Max(0, maxChars - marker.Length - 32);
            if (cut > 0 && char.IsLowSurrogate(result[cut]) && char.IsHighSurrogate(result[cut - 1]))
            {
                cut--;
            }

            // Re-sanitizing the prefix settles what the cut may have left dangling (a ZWJ, a lone CR, half a flag).
            string prefix = SanitizeCore(result[..cut], new FindingList(0));
            marker = TruncationMarker(result.Length - prefix.Length);
            findings.Add(new SanitizerFinding("size.truncated", prefix.Length, result.Length - prefix.Length, Describe(result.AsSpan(prefix.Length, Math.Min(MaxRemovedChars, result.Length - prefix.Length))), null));
            result = prefix + marker;
        }

        return new SanitizedText(result, findings.Items, findings.Count, findings.Hidden);
    }

    /// <summary>
    /// Whether <see cref="Sanitize(string, int)"/> would return <paramref name="text"/> unchanged and without findings,
    /// decided without making a string: the sanitizer is off, or the text fits <paramref name="maxChars"/> and has only
    /// characters both passes skip (printable ASCII other than <c>&lt;</c>, <c>[</c>, <c>]</c>; LF; TAB). A
    /// <see langword="false"/> means "run <see cref="Sanitize(string, int)"/>", not that something would change.
    /// </summary>
    internal bool IsUnchanged(ReadOnlySpan<char> text, int maxChars) =>
        !_options.Enabled || (text.Length <= Math.Max(64, maxChars) && !text.ContainsAnyExcept(s_inertChars));

    internal static string TruncationMarker(int removed) =>
        "\n\u27E6truncated by the host: " + removed.ToString(CultureInfo.InvariantCulture) + " characters removed\u27E7";

    private const int MaxPasses = 4;

    private string SanitizeCore(string text, FindingList findings)
    {
        // A removal can change the context of what is left (a ZWJ kept between emoji that a later removal separates),
        // so repeat until nothing changes: the output is a fixed point, which makes sanitizing idempotent. Clean text
        // costs one pass; findings of later passes refer to the text of the previous pass.
        string current = text;
        for (int pass = 0; pass < MaxPasses; pass++)
        {
            string chars = _options.RemoveHiddenUnicode || _options.RemoveTerminalControl ? CharacterPass(current, findings) : current;
            string next = _options.RemoveHiddenMarkup || _options.NeutralizeExfiltrationLinks ? MarkupPass(chars, findings) : chars;
            if (string.Equals(next, current, StringComparison.Ordinal))
            {
                return current;
            }

            current = next;
        }

        return current;
    }

    // ------------------------------------------------------------------ pass 1: characters

    private string CharacterPass(string s, FindingList findings)
    {
        StringBuilder? sb = null;
        int copyFrom = 0;
        int n = s.Length;
        int lastCp = -1;
        bool lastWasVs = false;
        int i = 0;
        while (i < n)
        {
            int skip = s.AsSpan(i).IndexOfAnyExceptInRange(' ', '~');
            if (skip < 0)
            {
                if (n > i)
                {
                    lastCp = s[n - 1];
                    lastWasVs = false;
                }

                break;
            }

            if (skip > 0)
            {
                i += skip;
                lastCp = s[i - 1];
                lastWasVs = false;
            }

            char c = s[i];
            int end = i + 1;
            string? rule;
            string? decoded = null;
            string? replacement = null;
            if (c is '\n' or '\t')
            {
                lastCp = c;
                lastWasVs = false;
                i++;
                continue;
            }

            if (c == '\r')
            {
                if (i + 1 < n && s[i + 1] == '\n')
                {
                    lastCp = '\n';
                    lastWasVs = false;
                    i += 2;
                    continue;
                }

                if (!_options.RemoveTerminalControl)
                {
                    lastCp = c;
                    i++;
                    continue;
                }

                (end, rule, replacement) = (i + 1, "terminal.carriage-return", "\n");
            }
            else if (c < 0x20 || c is >= '\u007F' and <= '\u009F')
            {
                if (!_options.RemoveTerminalControl)
                {
                    lastCp = c;
                    i++;
                    continue;
                }

                (end, rule, decoded) = ScanControl(s, i);
            }
            else
            {
                int cp;
                int width;
                if (char.IsHighSurrogate(c) && i + 1 < n && char.IsLowSurrogate(s[i + 1]))
                {
                    cp = char.ConvertToUtf32(c, s[i + 1]);
                    width = 2;
                }
                else if (char.IsSurrogate(c))
                {
                    (end, rule, replacement) = (i + 1, "unicode.lone-surrogate", "\uFFFD");
                    goto Apply;
                }
                else
                {
                    cp = c;
                    width = 1;
                }

                rule = _options.RemoveHiddenUnicode ? ClassifyHidden(s, i, cp, width, lastCp, lastWasVs, out end, out decoded) : null;
                if (rule is null)
                {
                    if (end > i + width)
                    {
                        // A kept run (subdivision flag tags): continue after it.
                        cp = char.ConvertToUtf32(s[end - 2], s[end - 1]);
                    }

                    lastWasVs = IsVariationSelector(cp) || (cp >= 0xE0000 && cp <= 0xE007F);
                    lastCp = cp;
                    i = Math.Max(i + width, end);
                    continue;
                }
            }

        Apply:
            sb ??= new StringBuilder(n);
            sb.Append(s, copyFrom, i - copyFrom);
            if (rule == "unicode.tag-characters" && decoded is not null)
            {
                findings.AddHidden(rule, i, end - i, s.AsSpan(i, end - i), decoded);
            }
            else
            {
                findings.Add(rule!, i, end - i, s.AsSpan(i, end - i), decoded);
            }
            if (replacement is not null)
            {
                sb.Append(replacement);
                lastCp = replacement[0];
                lastWasVs = false;
            }

            i = end;
            copyFrom = end;
        }

        if (sb is null)
        {
            return s;
        }

        sb.Append(s, copyFrom, n - copyFrom);
        return sb.ToString();
    }

    /// <summary>C0/C1 controls and ECMA-48 sequences starting at <paramref name="i"/>.</summary>
    private static (int End, string Rule, string? Decoded) ScanControl(string s, int i)
    {
        char c = s[i];
        int n = s.Length;
        if (c == '\u001B')
        {
            if (i + 1 >= n)
            {
                return (i + 1, "terminal.escape", null);
            }

            char d = s[i + 1];
            switch (d)
            {
                case '[':
                    return (ScanCsi(s, i + 2), "terminal.csi", null);
                case ']':
                    return ScanOsc(s, i + 2);
                case 'P' or 'X' or '^' or '_':
                    return (ScanString(s, i + 2), "terminal.control-string", null);
            }

            if (d is >= ' ' and <= '/')
            {
                int j = i + 1;
                while (j < n && s[j] is >= ' ' and <= '/')
                {
                    j++;
                }

                return (j < n && s[j] is >= '0' and <= '~' ? j + 1 : j, "terminal.escape", null);
            }

            return (d is >= '0' and <= '~' ? i + 2 : i + 1, "terminal.escape", null);
        }

        return c switch
        {
            '\u009B' => (ScanCsi(s, i + 1), "terminal.csi", null),
            '\u009D' => ScanOsc(s, i + 1),
            '\u0090' or '\u0098' or '\u009E' or '\u009F' => (ScanString(s, i + 1), "terminal.control-string", null),
            _ => (i + 1, "terminal.control-character", null),
        };
    }

    private static int ScanCsi(string s, int j)
    {
        int n = s.Length;
        while (j < n && s[j] is >= '0' and <= '?')
        {
            j++;
        }

        while (j < n && s[j] is >= ' ' and <= '/')
        {
            j++;
        }

        return j < n && s[j] is >= '@' and <= '~' ? j + 1 : j;
    }

    /// <summary>End of a control string body starting at <paramref name="j"/>: after BEL or ST (ESC \ or U+009C); at an ESC that does not start ST or at CAN/SUB (aborted); else the end of the text.</summary>
    private static int ScanString(string s, int j)
    {
        int n = s.Length;
        while (j < n)
        {
            char c = s[j];
            if (c is '\u0007' or '\u009C')
            {
                return j + 1;
            }

            if (c == '\u001B')
            {
                return j + 1 < n && s[j + 1] == '\\' ? j + 2 : j;
            }

            if (c is '\u0018' or '\u001A')
            {
                return j;
            }

            j++;
        }

        return n;
    }

    private static (int End, string Rule, string? Decoded) ScanOsc(string s, int bodyStart)
    {
        int end = ScanString(s, bodyStart);
        ReadOnlySpan<char> body = s.AsSpan(bodyStart, end - bodyStart);
        if (body.StartsWith("8;"))
        {
            int uriStart = body[2..].IndexOf(';');
            if (uriStart >= 0)
            {
                ReadOnlySpan<char> uri = body[(uriStart + 3)..];
                int stop = uri.IndexOfAny('\u0007', '\u001B', '\u009C');
                uri = stop >= 0 ? uri[..stop] : uri;
                return (end, "terminal.osc8-hyperlink", uri.Length == 0 ? null : Cap(uri, MaxDecodedChars));
            }
        }

        return (end, "terminal.osc", null);
    }

    /// <summary>Rule for a non-ASCII code point that is hidden, or <see langword="null"/> to keep it.</summary>
    private static string? ClassifyHidden(string s, int i, int cp, int width, int lastCp, bool lastWasVs, out int end, out string? decoded)
    {
        end = i + width;
        decoded = null;
        if (cp >= 0xE0000 && cp <= 0xE007F)
        {
            return TagRun(s, i, lastCp, out end, out decoded);
        }

        switch (cp)
        {
            case 0x200B or 0x2060 or 0xFEFF or 0x180E or 0x2061 or 0x2062 or 0x2063 or 0x2064:
                return "unicode.zero-width";
            case 0x200D:
                return (IsEmojiPrevious(lastCp) && IsEmojiBase(NextCodePoint(s, end))) || (IsScriptLetter(lastCp) && IsScriptLetter(NextCodePoint(s, end)))
                    ? null
                    : "unicode.zero-width";
            case 0x200C:
                return IsScriptLetter(lastCp) && IsScriptLetter(NextCodePoint(s, end)) ? null : "unicode.zero-width";
            case >= 0x202A and <= 0x202E or >= 0x2066 and <= 0x2069 or 0x200E or 0x200F or 0x061C:
                return "unicode.bidi-control";
            case 0x115F or 0x1160 or 0x3164 or 0xFFA0:
                return "unicode.invisible-filler";
            case 0xFE0E or 0xFE0F:
                return !lastWasVs && (IsEmojiBase(lastCp) || lastCp is '#' or '*' or (>= '0' and <= '9') || IsSymbol(lastCp)) ? null : "unicode.variation-selector";
            case >= 0xFE00 and <= 0xFE0D:
                return !lastWasVs && lastCp > ' ' && !IsSpace(lastCp) ? null : "unicode.variation-selector";
            case >= 0xE0100 and <= 0xE01EF:
                return !lastWasVs && IsIdeograph(lastCp) ? null : "unicode.variation-selector";
            case >= 0xE000 and <= 0xF8FF or >= 0xF0000:
                return "unicode.private-use";
        }

        if (cp < 0x10000)
        {
            return CharUnicodeInfo.GetUnicodeCategory((char)cp) == UnicodeCategory.Format ? "unicode.format-character" : null;
        }

        return CharUnicodeInfo.GetUnicodeCategory(cp) == UnicodeCategory.Format ? "unicode.format-character" : null;
    }

    /// <summary>A maximal run of Tags characters: kept when it is a subdivision flag (after U+1F3F4: 1–7 tag letters/digits then CANCEL TAG), else removed with its ASCII decoded.</summary>
    private static string? TagRun(string s, int i, int lastCp, out int end, out string? decoded)
    {
        int j = i;
        int n = s.Length;
        var ascii = new StringBuilder();
        int count = 0;
        bool flagShape = true;
        int last = -1;
        while (j + 1 < n && char.IsHighSurrogate(s[j]) && char.IsLowSurrogate(s[j + 1]))
        {
            int cp = char.ConvertToUtf32(s[j], s[j + 1]);
            if (cp < 0xE0000 || cp > 0xE007F)
            {
                break;
            }

            if (last == 0xE007F)
            {
                flagShape = false;
            }

            last = cp;
            count++;
            if (cp is >= 0xE0020 and <= 0xE007E && ascii.Length < MaxDecodedChars)
            {
                ascii.Append((char)(cp - 0xE0000));
            }

            if (cp != 0xE007F && cp is not (>= 0xE0030 and <= 0xE0039 or >= 0xE0061 and <= 0xE007A))
            {
                flagShape = false;
            }

            j += 2;
        }

        end = j;
        if (lastCp == 0x1F3F4 && flagShape && last == 0xE007F && count is >= 2 and <= 8)
        {
            decoded = null;
            return null;
        }

        decoded = ascii.Length == 0 ? null : ascii.ToString();
        return "unicode.tag-characters";
    }

    private static int NextCodePoint(string s, int j)
    {
        if (j >= s.Length)
        {
            return -1;
        }

        char c = s[j];
        return char.IsHighSurrogate(c) && j + 1 < s.Length && char.IsLowSurrogate(s[j + 1]) ? char.ConvertToUtf32(c, s[j + 1]) : char.IsSurrogate(c) ? -1 : c;
    }

    private static bool IsVariationSelector(int cp) => cp is >= 0xFE00 and <= 0xFE0F or >= 0xE0100 and <= 0xE01EF;

    internal static bool IsEmojiBase(int cp) =>
        cp is >= 0x1F000 and <= 0x1FAFF or >= 0x2600 and <= 0x27BF or >= 0x2300 and <= 0x23FF or >= 0x2B00 and <= 0x2BFF
            or >= 0x2190 and <= 0x21FF or >= 0x25A0 and <= 0x25FF
            or 0x00A9 or 0x00AE or 0x203C or 0x2049 or 0x2122 or 0x2139 or 0x3030 or 0x303D or 0x3297 or 0x3299;

    private static bool IsEmojiPrevious(int cp) => IsEmojiBase(cp) || cp is 0xFE0F or 0x20E3 or 0xE007F;

    private static bool IsSymbol(int cp)
    {
        if (cp < 0x80 || cp > 0xFFFF)
        {
            return cp > 0xFFFF && IsEmojiBase(cp);
        }

        UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory((char)cp);
        return category is UnicodeCategory.OtherSymbol or UnicodeCategory.MathSymbol;
    }

    private static bool IsSpace(int cp) => cp < 0x10000 && char.IsWhiteSpace((char)cp);

    private static bool IsIdeograph(int cp) => cp is >= 0x3400 and <= 0x9FFF or >= 0xF900 and <= 0xFAFF or >= 0x20000 and <= 0x3FFFF;

    /// <summary>Letters and marks of scripts that use ZWJ/ZWNJ in ordinary text (Hebrew and later: Arabic, Persian, Indic, ...).</summary>
    private static bool IsScriptLetter(int cp)
    {
        if (cp < 0x0590 || cp > 0xFFFF)
        {
            return false;
        }

        UnicodeCategory category = CharUnicodeInfo.GetUnicodeCategory((char)cp);
        return category is UnicodeCategory.OtherLetter or UnicodeCategory.NonSpacingMark or UnicodeCategory.SpacingCombiningMark
            or UnicodeCategory.LowercaseLetter or UnicodeCategory.UppercaseLetter;
    }

    // ------------------------------------------------------------------ pass 2: markup and links

    private string MarkupPass(string s, FindingList findings)
    {
        if (s.AsSpan().IndexOfAny(s_markupStarts) < 0)
        {
            return s;
        }

        StringBuilder? sb = null;
        ImageReferences? images = null;
        int copyFrom = 0;
        int n = s.Length;
        int i = 0;
        while (i < n)
        {
            int next = s.AsSpan(i).IndexOfAny(s_markupStarts);
            if (next < 0)
            {
                break;
            }

            i += next;
            int end;
            int from = i;
            string? replacement;
            if (s[i] == '<')
            {
                if (!TryMarkup(s, i, findings, out end, out replacement))
                {
                    i = end;
                    continue;
                }
            }
            else if (s[i] == ']')
            {
                if (!TryOrphanDestination(s, i, findings, out from, out end, out replacement))
                {
                    i++;
                    continue;
                }
            }
            else if (TryMarkdownLink(s, i, findings, out end, out replacement))
            {
                from = i > 0 && s[i - 1] == '!' && IsImageStart(s, i - 1) ? i - 1 : i;
            }
            else if (!TryReferenceDefinition(s, i, findings, ref images, out from, out end, out replacement))
            {
                i++;
                continue;
            }

            sb ??= new StringBuilder(n);
            from = Math.Max(from, copyFrom);
            sb.Append(s, copyFrom, from - copyFrom);
            sb.Append(replacement);
            i = end;
            copyFrom = end;
        }

        if (sb is null)
        {
            return s;
        }

        sb.Append(s, copyFrom, n - copyFrom);
        return sb.ToString();
    }

    private static bool IsImageStart(string s, int bang) => bang >= 0 && s[bang] == '!';

    /// <summary>At a '&lt;': a comment or a hidden element is replaced (returns true); a visible tag is skipped whole (end after it); anything else is one character.</summary>
    private bool TryMarkup(string s, int i, FindingList findings, out int end, out string? replacement)
    {
        int n = s.Length;
        replacement = null;
        if (_options.RemoveHiddenMarkup && s.AsSpan(i).StartsWith("<!--"))
        {
            int bodyStart = i + 4;
            int close;
            int bodyEnd;
            if (bodyStart < n && s[bodyStart] == '>')
            {
                (bodyEnd, close) = (bodyStart, bodyStart + 1);
            }
            else if (s.AsSpan(bodyStart).StartsWith("->"))
            {
                (bodyEnd, close) = (bodyStart, bodyStart + 2);
            }
            else
            {
                int found = s.AsSpan(bodyStart).IndexOf("-->");
                (bodyEnd, close) = found < 0 ? (n, n) : (bodyStart + found, bodyStart + found + 3);
            }

            end = close;
            replacement = CommentPlaceholder;
            findings.AddHidden("markup.html-comment", i, end - i, s.AsSpan(i, end - i), s.AsSpan(bodyStart, bodyEnd - bodyStart).Trim());
            return true;
        }

        if (!TryParseTag(s, i, out int tagEnd, out int nameStart, out int nameLength, out bool closing))
        {
            return TryAutolink(s, i, findings, out end, out replacement);
        }

        end = tagEnd;
        if (closing)
        {
            return false;
        }

        ReadOnlySpan<char> name = s.AsSpan(nameStart, nameLength);
        ReadOnlySpan<char> attributes = s.AsSpan(nameStart + nameLength, tagEnd - 1 - nameStart - nameLength);
        if (_options.NeutralizeExfiltrationLinks && CheckTagUrls(name, attributes) is ({ } tagHost, bool fetched))
        {
            bool image = name.Equals("img", StringComparison.OrdinalIgnoreCase) || name.Equals("image", StringComparison.OrdinalIgnoreCase);
            replacement = tagHost.Length == 0 ? "\u27E6link removed\u27E7"
                : "\u27E6" + (fetched ? image ? "image" : "resource" : "link") + " removed: " + tagHost + "\u27E7";
            findings.Add(tagHost.Length == 0 ? "link.script-url" : fetched ? "link.exfiltration-image" : "link.exfiltration-link", i, end - i, s.AsSpan(i, end - i), tagHost.Length == 0 ? null : tagHost);
            return true;
        }

        if (!_options.RemoveHiddenMarkup || !IsHiddenElement(name, attributes))
        {
            return false;
        }

        bool selfClosing = attributes.TrimEnd() is [.., '/'] || IsVoidElement(name);
        int contentStart = tagEnd;
        int contentEnd = tagEnd;
        if (!selfClosing)
        {
            (contentEnd, end) = FindClose(s, tagEnd, name);
        }

        replacement = HiddenContentPlaceholder;
        findings.AddHidden("markup.hidden-element", i, end - i, s.AsSpan(i, end - i), s.AsSpan(contentStart, contentEnd - contentStart).Trim());
        return true;
    }

    /// <summary>
    /// The first URL in a start tag's attributes that is an exfiltration channel, judged as a browser would use it.
    /// A resource the renderer fetches while the text is shown, with no click (<c>src</c>, <c>srcset</c>,
    /// <c>poster</c>, <c>background</c>, <c>lowsrc</c>, <c>dynsrc</c> and <c>data</c> on any element; <c>href</c> and
    /// <c>xlink:href</c> of <c>link</c>, SVG <c>image</c>, <c>use</c> and <c>feImage</c>; every <c>url(...)</c> in a
    /// <c>style</c> attribute), is judged like a markdown image: any host not on the allowlist. A navigation that needs
    /// a click (<c>href</c> and <c>xlink:href</c> of other elements such as <c>a</c> and <c>area</c>, <c>action</c>,
    /// <c>formaction</c>, <c>ping</c>) is judged like a markdown link: only when the URL carries data. Values are
    /// resolved as the HTML and URL parsers do first (character references decoded, tabs and newlines dropped); a
    /// reference .NET cannot decode leaves the URL's shape untrusted, so it is judged on its host alone (fail closed).
    /// </summary>
    /// <returns>The host (empty for a script URL) and whether it is fetched without a click; (<see langword="null"/>, false) when every URL is fine.</returns>
    private (string? Host, bool Fetched) CheckTagUrls(ReadOnlySpan<char> name, ReadOnlySpan<char> attributes)
    {
        bool fetchingHref = name.Equals("link", StringComparison.OrdinalIgnoreCase) || name.Equals("image", StringComparison.OrdinalIgnoreCase)
            || name.Equals("use", StringComparison.OrdinalIgnoreCase) || name.Equals("feimage", StringComparison.OrdinalIgnoreCase);
        foreach ((int start, int length, int valueStart, int valueLength) in EnumerateAttributes(attributes))
        {
            if (valueStart < 0)
            {
                continue;
            }

            ReadOnlySpan<char> attribute = attributes.Slice(start, length);
            ReadOnlySpan<char> raw = attributes.Slice(valueStart, valueLength);
            bool href = attribute.Equals("href", StringComparison.OrdinalIgnoreCase) || attribute.Equals("xlink:href", StringComparison.OrdinalIgnoreCase);
            if (attribute.Equals("srcset", StringComparison.OrdinalIgnoreCase))
            {
                // Image candidates: "url [descriptor]" separated by commas; a URL with a comma splits, and each piece is still judged on its host.
                for (ReadOnlySpan<char> rest = raw; !rest.IsEmpty;)
                {
                    ReadOnlySpan<char> c = NextPart(ref rest, ',').TrimStart();
                    int space = c.IndexOfAny(' ', '\t', '\n');
                    if (CheckAttributeUrl(space < 0 ? c : c[..space], fetched: true) is { } host)
                    {
                        return (host, true);
                    }
                }
            }
            else if (attribute.Equals("style", StringComparison.OrdinalIgnoreCase))
            {
                if (StyleUrls(raw) is { } host)
                {
                    return (host, true);
                }
            }
            else if ((href && fetchingHref) || IsFetchAttribute(attribute))
            {
                if (CheckAttributeUrl(raw, fetched: true) is { } host)
                {
                    return (host, true);
                }
            }
            else if (href || attribute.Equals("action", StringComparison.OrdinalIgnoreCase) || attribute.Equals("formaction", StringComparison.OrdinalIgnoreCase)
                || attribute.Equals("ping", StringComparison.OrdinalIgnoreCase))
            {
                if (CheckAttributeUrl(raw, fetched: false) is { } host)
                {
                    return (host, false);
                }

                if (attribute.Equals("ping", StringComparison.OrdinalIgnoreCase))
                {
                    for (ReadOnlySpan<char> rest = raw.Trim(); !rest.IsEmpty;) // a space-separated list of URLs
                    {
                        if (CheckAttributeUrl(NextPart(ref rest, ' '), fetched: false) is { } pinged)
                        {
                            return (pinged, false);
                        }
                    }
                }
            }
        }

        return (null, false);
    }

    /// <summary>The text up to the next <paramref name="separator"/> (or the end); <paramref name="rest"/> moves past it.</summary>
    private static ReadOnlySpan<char> NextPart(ref ReadOnlySpan<char> rest, char separator)
    {
        int at = rest.IndexOf(separator);
        ReadOnlySpan<char> part = at < 0 ? rest : rest[..at];
        rest = at < 0 ? default : rest[(at + 1)..];
        return part;
    }

    private static bool IsFetchAttribute(ReadOnlySpan<char> attribute) =>
        attribute.Equals("src", StringComparison.OrdinalIgnoreCase) || attribute.Equals("poster", StringComparison.OrdinalIgnoreCase)
        || attribute.Equals("background", StringComparison.OrdinalIgnoreCase) || attribute.Equals("lowsrc", StringComparison.OrdinalIgnoreCase)
        || attribute.Equals("dynsrc", StringComparison.OrdinalIgnoreCase) || attribute.Equals("data", StringComparison.OrdinalIgnoreCase);

    /// <summary>Every <c>url(...)</c> in a <c>style</c> attribute (quoted or not), judged as a fetched resource; the first offending host.</summary>
    private string? StyleUrls(ReadOnlySpan<char> raw)
    {
        string style = DecodeReferences(raw.ToString(), out _); // decoded once here: a fetched URL is judged on its host whatever its shape
        int at = 0;
        while ((at = style.IndexOf("url(", at, StringComparison.OrdinalIgnoreCase)) >= 0)
        {
            int from = at + 4;
            int close = style.IndexOf(')', from);
            ReadOnlySpan<char> inner = style.AsSpan(from, (close < 0 ? style.Length : close) - from).Trim().Trim("\"'");
            if (CheckResolvedUrl(inner, fetched: true) is { } host)
            {
                return host;
            }

            at = from;
        }

        return null;
    }

    /// <summary>One attribute URL as the browser resolves it: character references decoded (HTML §13.2.5.72), then as <see cref="CheckResolvedUrl"/>.</summary>
    private string? CheckAttributeUrl(ReadOnlySpan<char> raw, bool fetched)
    {
        string url = DecodeReferences(raw.ToString(), out bool undecodable);
        return CheckResolvedUrl(url, fetched || undecodable);
    }

    /// <summary>A URL whose references are already decoded: surrounding whitespace and every ASCII tab and newline removed (WHATWG URL §4.4), then <see cref="CheckUrl"/>.</summary>
    private string? CheckResolvedUrl(ReadOnlySpan<char> url, bool fetched)
    {
        url = url.Trim();
        if (url.IsEmpty)
        {
            return null;
        }

        if (url.IndexOfAny('\t', '\n', '\r') < 0)
        {
            return CheckUrl(url.ToString(), fetched);
        }

        var sb = new StringBuilder(url.Length);
        foreach (char c in url)
        {
            if (c is not ('\t' or '\n' or '\r'))
            {
                sb.Append(c);
            }
        }

        return CheckUrl(sb.ToString(), fetched);
    }

    /// <summary>
    /// Parses a tag at <paramref name="i"/>: <c>&lt;name</c> or <c>&lt;/name</c>, then attributes up to '&gt;' (quotes respected).
    /// Aborts at any further '&lt;', at a placeholder bracket, or after <see cref="MaxTagChars"/>, so scans never overlap (linear time).
    /// </summary>
    private static bool TryParseTag(string s, int i, out int end, out int nameStart, out int nameLength, out bool closing)
    {
        int n = s.Length;
        end = i + 1;
        nameLength = 0;
        int j = i + 1;
        closing = j < n && s[j] == '/';
        if (closing)
        {
            j++;
        }

        nameStart = j;
        if (j >= n || !char.IsAsciiLetter(s[j]))
        {
            return false;
        }

        while (j < n && (char.IsAsciiLetterOrDigit(s[j]) || s[j] == '-'))
        {
            j++;
        }

        nameLength = j - nameStart;
        if (j >= n || !(s[j] is '>' or '/' || char.IsWhiteSpace(s[j])))
        {
            return false;
        }

        char quote = '\0';
        int limit = Math.Min(n, i + MaxTagChars);
        for (; j < limit; j++)
        {
            char c = s[j];
            if (c is '<' or PlaceholderOpen or PlaceholderClose)
            {
                return false;
            }

            if (quote != '\0')
            {
                if (c == quote)
                {
                    quote = '\0';
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
            }
            else if (c == '>')
            {
                end = j + 1;
                return true;
            }
        }

        return false;
    }

    /// <summary>Finds the end of an element's content: the matching close tag (same name, nesting counted); unclosed elements run to the end of the text.</summary>
    private static (int ContentEnd, int End) FindClose(string s, int from, ReadOnlySpan<char> name)
    {
        int depth = 1;
        int j = from;
        int n = s.Length;
        while (j < n)
        {
            int lt = s.AsSpan(j).IndexOf('<');
            if (lt < 0)
            {
                break;
            }

            j += lt;
            bool closing = j + 1 < n && s[j + 1] == '/';
            int ns = closing ? j + 2 : j + 1;
            if (ns + name.Length <= n && s.AsSpan(ns, name.Length).Equals(name, StringComparison.OrdinalIgnoreCase)
                && (ns + name.Length == n || s[ns + name.Length] is '>' or '/' || char.IsWhiteSpace(s[ns + name.Length])))
            {
                if (closing)
                {
                    depth--;
                    if (depth == 0)
                    {
                        int gt = s.AsSpan(ns).IndexOf('>');
                        return (j, gt < 0 ? n : ns + gt + 1);
                    }
                }
                else
                {
                    depth++;
                }
            }

            j++;
        }

        return (n, n);
    }

    private static bool IsVoidElement(ReadOnlySpan<char> name) =>
        name.Equals("img", StringComparison.OrdinalIgnoreCase) || name.Equals("br", StringComparison.OrdinalIgnoreCase)
        || name.Equals("input", StringComparison.OrdinalIgnoreCase) || name.Equals("hr", StringComparison.OrdinalIgnoreCase)
        || name.Equals("meta", StringComparison.OrdinalIgnoreCase) || name.Equals("link", StringComparison.OrdinalIgnoreCase);

    private static bool IsHiddenElement(ReadOnlySpan<char> name, ReadOnlySpan<char> attributes)
    {
        if (name.Equals("script", StringComparison.OrdinalIgnoreCase) || name.Equals("style", StringComparison.OrdinalIgnoreCase)
            || name.Equals("template", StringComparison.OrdinalIgnoreCase) || name.Equals("noscript", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (HasBooleanAttribute(attributes, "hidden"))
        {
            return true;
        }

        if (AttributeValue(attributes, "style") is not { } style)
        {
            return false;
        }

        // Compact the declarations: lower case, no whitespace, so "Display : NONE" and "display:none" look alike.
        Span<char> buffer = style.Length <= 1024 ? stackalloc char[style.Length] : new char[style.Length];
        int k = 0;
        foreach (char c in style)
        {
            if (!char.IsWhiteSpace(c))
            {
                buffer[k++] = char.ToLowerInvariant(c);
            }
        }

        ReadOnlySpan<char> css = buffer[..k];
        return css.Contains("display:none", StringComparison.Ordinal)
            || css.Contains("visibility:hidden", StringComparison.Ordinal)
            || css.Contains("visibility:collapse", StringComparison.Ordinal)
            || css.Contains("color:transparent", StringComparison.Ordinal)
            || css.Contains("clip:rect(0", StringComparison.Ordinal)
            || css.Contains("clip-path:inset(50%", StringComparison.Ordinal)
            || SmallValue(css, "font-size:", 2, 0.2)
            || SmallValue(css, "opacity:", 0.05, 0.05)
            || (SmallValue(css, "height:", 1, 0.1) && css.Contains("overflow:hidden", StringComparison.Ordinal))
            || (SmallValue(css, "width:", 1, 0.1) && css.Contains("overflow:hidden", StringComparison.Ordinal))
            || SmallValue(css, "max-height:", 1, 0.1)
            || OffScreen(css, "left:") || OffScreen(css, "top:") || OffScreen(css, "text-indent:") || OffScreen(css, "margin-left:");
    }

    /// <summary>Whether <paramref name="property"/> is set to a value below <paramref name="pxLimit"/> (px/pt or unitless) or <paramref name="relLimit"/> (em/rem/%/100).</summary>
    private static bool SmallValue(ReadOnlySpan<char> css, string property, double pxLimit, double relLimit)
    {
        int at = IndexOfProperty(css, property);
        if (at < 0)
        {
            return false;
        }

        ReadOnlySpan<char> value = css[(at + property.Length)..];
        int len = 0;
        while (len < value.Length && (char.IsAsciiDigit(value[len]) || value[len] == '.'))
        {
            len++;
        }

        if (len == 0 || !double.TryParse(value[..len], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double number))
        {
            return false;
        }

        ReadOnlySpan<char> unit = value[len..];
        return unit.StartsWith("em") || unit.StartsWith("rem") || unit.StartsWith("vw") || unit.StartsWith("vh")
            ? number < relLimit
            : unit is ['%', ..] ? number < relLimit * 100 : number < pxLimit;
    }

    private static bool OffScreen(ReadOnlySpan<char> css, string property)
    {
        int at = IndexOfProperty(css, property);
        if (at < 0 || at + property.Length >= css.Length || css[at + property.Length] != '-')
        {
            return false;
        }

        ReadOnlySpan<char> value = css[(at + property.Length + 1)..];
        int len = 0;
        while (len < value.Length && char.IsAsciiDigit(value[len]))
        {
            len++;
        }

        return len >= 4 || (len > 0 && int.TryParse(value[..len], NumberStyles.None, CultureInfo.InvariantCulture, out int px) && px >= 1000);
    }

    /// <summary>Index of a property name at the start of a declaration (start of text or after ';' or '{').</summary>
    private static int IndexOfProperty(ReadOnlySpan<char> css, string property)
    {
        int offset = 0;
        while (offset < css.Length)
        {
            int at = css[offset..].IndexOf(property, StringComparison.Ordinal);
            if (at < 0)
            {
                return -1;
            }

            int abs = offset + at;
            if (abs == 0 || css[abs - 1] is ';' or '{' or '"' or '\'')
            {
                return abs;
            }

            offset = abs + 1;
        }

        return -1;
    }

    private static bool HasBooleanAttribute(ReadOnlySpan<char> attributes, string name)
    {
        foreach ((int start, int length, int valueStart, int valueLength) in EnumerateAttributes(attributes))
        {
            _ = valueStart;
            _ = valueLength;
            if (attributes.Slice(start, length).Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    private static string? AttributeValue(ReadOnlySpan<char> attributes, string name)
    {
        foreach ((int start, int length, int valueStart, int valueLength) in EnumerateAttributes(attributes))
        {
            if (attributes.Slice(start, length).Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return valueStart < 0 ? string.Empty : attributes.Slice(valueStart, valueLength).ToString();
            }
        }

        return null;
    }

    private static List<(int Start, int Length, int ValueStart, int ValueLength)> EnumerateAttributes(ReadOnlySpan<char> a)
    {
        var list = new List<(int, int, int, int)>();
        int j = 0;
        while (j < a.Length && list.Count < 64)
        {
            while (j < a.Length && (char.IsWhiteSpace(a[j]) || a[j] == '/'))
            {
                j++;
            }

            int start = j;
            while (j < a.Length && !char.IsWhiteSpace(a[j]) && a[j] is not ('=' or '/'))
            {
                j++;
            }

            if (j == start)
            {
                j++;
                continue;
            }

            int length = j - start;
            while (j < a.Length && char.IsWhiteSpace(a[j]))
            {
                j++;
            }

            if (j < a.Length && a[j] == '=')
            {
                j++;
                while (j < a.Length && char.IsWhiteSpace(a[j]))
                {
                    j++;
                }

                if (j < a.Length && a[j] is '"' or '\'')
                {
                    char q = a[j];
                    int vs = j + 1;
                    int close = a[vs..].IndexOf(q);
                    int ve = close < 0 ? a.Length : vs + close;
                    list.Add((start, length, vs, ve - vs));
                    j = Math.Min(a.Length, ve + 1);
                }
                else
                {
                    int vs = j;
                    while (j < a.Length && !char.IsWhiteSpace(a[j]))
                    {
                        j++;
                    }

                    list.Add((start, length, vs, j - vs));
                }
            }
            else
            {
                list.Add((start, length, -1, 0));
            }
        }

        return list;
    }

    /// <summary>At a '[': an inline markdown link or image (<c>[text](url "title")</c>, <c>![alt](&lt;url&gt;)</c>) whose URL is an exfiltration channel is replaced (up to where the scan stopped, for an opaque destination).</summary>
    private bool TryMarkdownLink(string s, int i, FindingList findings, out int end, out string? replacement)
    {
        end = i + 1;
        replacement = null;
        if (!_options.NeutralizeExfiltrationLinks)
        {
            return false;
        }

        int n = s.Length;
        bool image = i > 0 && s[i - 1] == '!';
        int j = i + 1;
        int limit = Math.Min(n, j + MaxLinkTextChars);
        while (j < limit && s[j] is not (']' or '[' or PlaceholderOpen or PlaceholderClose))
        {
            j++;
        }

        if (j >= limit || s[j] != ']' || j + 1 >= n || s[j + 1] != '(')
        {
            return false;
        }

        int textEnd = j;
        DestinationKind kind = ParseInlineDestination(s, j + 1, out int destinationEnd, out string url, out bool undecodable);
        if (kind == DestinationKind.None)
        {
            return false;
        }

        // A destination the scanner cannot follow to its end (placeholder bracket, '<', a bracket, too long) or cannot
        // decode is judged on what it saw, failing closed: any host not on the allowlist.
        string? host = CheckUrl(url, image || undecodable || kind == DestinationKind.Opaque);
        if (host is null)
        {
            return false;
        }

        end = destinationEnd;
        int start = image ? i - 1 : i;
        ReadOnlySpan<char> text = s.AsSpan(i + 1, textEnd - i - 1).Trim();
        string kept = text.Length > 0 && text.IndexOfAny(s_unsafeLinkText) < 0 && !text.Contains('\n') ? text.ToString() + " " : string.Empty;
        string rule = host.Length == 0 ? "link.script-url" : image ? "link.exfiltration-image" : "link.exfiltration-link";
        replacement = host.Length == 0 ? kept + "\u27E6link removed\u27E7" : kept + (image ? "\u27E6image removed: " : "\u27E6link removed: ") + host + "\u27E7";
        findings.Add(rule, start, end - start, s.AsSpan(start, end - start), host.Length == 0 ? null : host);
        return true;
    }

    /// <summary>The host (IDN ASCII form) when the URL is an exfiltration channel; empty for a script URL; <see langword="null"/> when the URL is fine.</summary>
    private string? CheckUrl(string url, bool image)
    {
        string trimmed = url.Trim();
        if (trimmed.StartsWith("javascript:", StringComparison.OrdinalIgnoreCase) || trimmed.StartsWith("vbscript:", StringComparison.OrdinalIgnoreCase))
        {
            return string.Empty;
        }

        if (trimmed.StartsWith("//", StringComparison.Ordinal))
        {
            trimmed = "https:" + trimmed;
        }

        if (!Uri.TryCreate(trimmed, UriKind.Absolute, out Uri? uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return null;
        }

        string host;
        try
        {
            host = uri.IdnHost.ToLowerInvariant();
        }
        catch (Exception ex) when (ex is InvalidOperationException or UriFormatException or ArgumentException)
        {
            return "invalid-host";
        }

        if (IsAllowedHost(host))
        {
            return null;
        }

        if (image || CarriesData(uri))
        {
            return SafeHost(host);
        }

        return null;
    }

    private static string SafeHost(string host)
    {
        Span<char> buffer = stackalloc char[Math.Min(host.Length, 253)];
        int k = 0;
        foreach (char c in host.AsSpan(0, buffer.Length))
        {
            buffer[k++] = char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or ':' ? c : '_';
        }

        return buffer[..k].ToString();
    }

    private bool IsAllowedHost(string host)
    {
        foreach (string allowed in _allowedHosts)
        {
            if (host == allowed)
            {
                return true;
            }
        }

        foreach (string suffix in _allowedSuffixes)
        {
            if (host.EndsWith(suffix, StringComparison.Ordinal) || host == suffix[1..])
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Whether a URL can carry data to its host: a query, a fragment, user info, or a long or encoded-looking path segment.</summary>
    private static bool CarriesData(Uri uri)
    {
        if (uri.Query.Length > 1 || uri.Fragment.Length > 1 || uri.UserInfo.Length > 0)
        {
            return true;
        }

        foreach (string segment in uri.AbsolutePath.Split('/'))
        {
            if (segment.Length >= 40 || (segment.Length >= 16 && segment.Count(char.IsAsciiDigit) * 4 >= segment.Length))
            {
                return true;
            }

            if (segment.Contains('%', StringComparison.Ordinal) && segment.Length >= 16)
            {
                return true;
            }
        }

        return false;
    }

    // ------------------------------------------------------------------ helpers

    private static string Cap(ReadOnlySpan<char> span, int max) => span.Length <= max ? span.ToString() : span[..max].ToString() + "…";

    internal static string Describe(ReadOnlySpan<char> span)
    {
        var sb = new StringBuilder(Math.Min(span.Length, MaxRemovedChars) + 8);
        foreach (char c in span)
        {
            if (sb.Length >= MaxRemovedChars)
            {
                sb.Append('…');
                break;
            }

            if (c < 0x20 || c is >= '\u007F' and <= '\u009F' || char.IsSurrogate(c) || CharUnicodeInfo.GetUnicodeCategory(c) == UnicodeCategory.Format)
            {
                sb.Append("\\u").Append(((int)c).ToString("X4", CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    /// <summary>Findings with merging of adjacent same-rule removals and a cap.</summary>
    private sealed class FindingList(int max)
    {
        private const int MaxHiddenChars = 256 * 1024;
        private readonly List<SanitizerFinding> _items = [];
        private StringBuilder? _hidden;

        public int Count { get; private set; }

        public IReadOnlyList<SanitizerFinding> Items => _items;

        public string Hidden => _hidden?.ToString() ?? string.Empty;

        /// <summary>A finding whose removed content is hidden text: always kept for detectors (capped), recorded as a finding while there is room.</summary>
        public void AddHidden(string rule, int start, int length, ReadOnlySpan<char> removed, ReadOnlySpan<char> hidden)
        {
            if (max > 0 && hidden.Length > 0 && (_hidden?.Length ?? 0) < MaxHiddenChars)
            {
                _hidden ??= new StringBuilder();
                if (_hidden.Length > 0)
                {
                    _hidden.Append('\n');
                }

                _hidden.Append(hidden[..Math.Min(hidden.Length, MaxHiddenChars - _hidden.Length + 1)]);
            }

            if (_items.Count >= max)
            {
                Count++;
                return;
            }

            Add(new SanitizerFinding(rule, start, length, Describe(removed), hidden.Length == 0 ? null : Cap(hidden, MaxDecodedChars)));
        }

        public void Add(SanitizerFinding finding)
        {
            Count++;
            if (_items.Count < max)
            {
                _items.Add(finding);
            }
        }

        public void Add(string rule, int start, int length, ReadOnlySpan<char> removed, string? decoded)
        {
            if (_items.Count > 0 && _items[^1] is { } last && last.RuleId == rule && last.Start + last.Length == start && decoded is null && last.Decoded is null
                && rule is not ("markup.html-comment" or "markup.hidden-element"))
            {
                _items[^1] = last with
                {
                    Length = last.Length + length,
                    Removed = last.Removed.Length >= MaxRemovedChars ? last.Removed : Describe(removed) is var more && last.Removed.Length + more.Length <= MaxRemovedChars + 8 ? last.Removed + more : last.Removed + "…",
                };
                return;
            }

            if (_items.Count >= max)
            {
                Count++;
                return;
            }

            Add(new SanitizerFinding(rule, start, length, Describe(removed), decoded));
        }
    }
}
