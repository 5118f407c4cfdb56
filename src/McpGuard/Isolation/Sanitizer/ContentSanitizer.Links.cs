using System.Net;
using System.Text;

namespace McpGuard;

/// <summary>
/// Markdown link forms beyond the inline one: destinations with angle brackets, balanced parentheses, escapes and entity
/// references; link reference definitions (CommonMark 0.31.2, section 4.7) used by reference-style links and images;
/// autolinks (section 6.5); and link destinations whose link text the inline scanner cannot follow (nested brackets).
/// </summary>
/// <remarks>
/// Every scan stops at the placeholder brackets and is either bounded or consumed by the caller, so the markup pass stays
/// linear. A destination the scanner cannot follow to its end (it runs into a placeholder bracket, a bracket, a '&lt;',
/// or is longer than 4,096 characters) is "opaque": judged like an image, on its host alone, and removed up to where the
/// scan stopped, which leaves the rest as inert text. That fails closed where a renderer would still see a link.
/// </remarks>
public sealed partial class ContentSanitizer
{
    private const int MaxLabelChars = 999;
    private const int MaxLinePrefixChars = 64;
    private const int MaxParenDepth = 32;
    private const int MaxImageLabels = 4096;

    private enum DestinationKind
    {
        None,
        Complete,
        Opaque,
    }

    /// <summary>
    /// Parses an inline link's destination and title at <paramref name="open"/> (a '('): <c>(url)</c>, <c>(&lt;url&gt;)</c>,
    /// <c>(url "title")</c>, <c>(url 'title')</c>, <c>(url (title))</c>; parentheses in the URL balanced up to depth 32.
    /// </summary>
    /// <param name="s">The text.</param>
    /// <param name="open">Index of the '(' after the link text.</param>
    /// <param name="end">After the closing ')' (complete) or where the scan stopped (opaque).</param>
    /// <param name="url">The destination with backslash escapes and entity references resolved.</param>
    /// <param name="undecodable">Whether an entity reference remained that the host cannot decode.</param>
    private static DestinationKind ParseInlineDestination(string s, int open, out int end, out string url, out bool undecodable)
    {
        int n = s.Length;
        end = open + 1;
        url = string.Empty;
        undecodable = false;
        int k = SkipBlanks(s, open + 1, lineEnding: true);
        int limit = Math.Min(n, k + MaxUrlChars);
        if (k < n && s[k] == '<')
        {
            int m = k + 1;
            while (m < limit && s[m] is not ('>' or '<' or '\n' or '\r' or PlaceholderOpen or PlaceholderClose))
            {
                m += s[m] == '\\' && m + 1 < limit && s[m + 1] is not ('\n' or '\r' or PlaceholderOpen or PlaceholderClose) ? 2 : 1;
            }

            if (m < limit && s[m] == '>')
            {
                url = Destination(s.AsSpan(k + 1, m - k - 1), out undecodable);
                k = m + 1;
            }
            else if (m > k + 1 && m < n && (m >= limit || s[m] is PlaceholderOpen or PlaceholderClose))
            {
                url = Destination(s.AsSpan(k + 1, m - k - 1), out undecodable);
                end = m;
                return DestinationKind.Opaque;
            }
            else
            {
                return DestinationKind.None;
            }
        }
        else
        {
            int depth = 0;
            int m = k;
            while (m < limit)
            {
                char c = s[m];
                if (c == '\\' && m + 1 < limit && s[m + 1] is > ' ' and not (PlaceholderOpen or PlaceholderClose))
                {
                    m += 2;
                    continue;
                }

                if (c == '(')
                {
                    if (++depth > MaxParenDepth)
                    {
                        break;
                    }
                }
                else if (c == ')')
                {
                    if (depth == 0)
                    {
                        break;
                    }

                    depth--;
                }
                else if (char.IsWhiteSpace(c) || char.IsControl(c) || c is '<' or '[' or ']' or PlaceholderOpen or PlaceholderClose)
                {
                    break;
                }

                m++;
            }

            if (m == k || m >= n)
            {
                return DestinationKind.None;
            }

            url = Destination(s.AsSpan(k, m - k), out undecodable);
            if (depth > 0 || !(s[m] == ')' || char.IsWhiteSpace(s[m])))
            {
                if (depth > 0 && (s[m] == ')' || char.IsWhiteSpace(s[m])))
                {
                    return DestinationKind.None;
                }

                end = m;
                return DestinationKind.Opaque;
            }

            k = m;
        }

        // Optional title, then ')'.
        int t = SkipBlanks(s, k, lineEnding: true);
        if (t > k && t < n && s[t] is '"' or '\'' or '(')
        {
            char close = s[t] == '(' ? ')' : s[t];
            int m = t + 1;
            int titleLimit = Math.Min(n, m + MaxUrlChars);
            while (m < titleLimit && s[m] != close && s[m] is not (PlaceholderOpen or PlaceholderClose) && !(close == ')' && s[m] == '('))
            {
                m += s[m] == '\\' && m + 1 < titleLimit ? 2 : 1;
            }

            if (m >= titleLimit || s[m] != close)
            {
                return DestinationKind.None;
            }

            t = SkipBlanks(s, m + 1, lineEnding: true);
        }

        if (t >= n || s[t] != ')')
        {
            return DestinationKind.None;
        }

        end = t + 1;
        return DestinationKind.Complete;
    }

    /// <summary>
    /// At a ']' directly followed by '(' whose link text the inline scanner did not accept (nested brackets, longer than
    /// 1,000 characters): the destination alone is judged as a link's and removed, keeping the text.
    /// </summary>
    private bool TryOrphanDestination(string s, int i, FindingList findings, out int from, out int end, out string? replacement)
    {
        from = i + 1;
        end = i + 1;
        replacement = null;
        if (!_options.NeutralizeExfiltrationLinks || i + 1 >= s.Length || s[i + 1] != '(')
        {
            return false;
        }

        DestinationKind kind = ParseInlineDestination(s, i + 1, out int destinationEnd, out string url, out bool undecodable);
        if (kind == DestinationKind.None || CheckUrl(url, undecodable || kind == DestinationKind.Opaque) is not { } host)
        {
            return false;
        }

        end = destinationEnd;
        replacement = LinkPlaceholder(host, image: false);
        findings.Add(host.Length == 0 ? "link.script-url" : "link.exfiltration-link", from, end - from, s.AsSpan(from, end - from), host.Length == 0 ? null : host);
        return true;
    }

    /// <summary>
    /// At a '[' at the start of a line (after up to three spaces and block quote or list markers): a link reference
    /// definition <c>[label]: destination "title"</c> whose destination is an exfiltration channel has its destination
    /// (and a title on the same line) replaced by the placeholder; references to it then render as plain text. A
    /// destination is a channel as in inline links, and also, when the label is used by an image anywhere in the text
    /// (<c>![alt][label]</c>, <c>![label][]</c>, <c>![label]</c>), whenever its host is not allowed.
    /// </summary>
    private bool TryReferenceDefinition(string s, int i, FindingList findings, ref ImageReferences? images, out int from, out int end, out string? replacement)
    {
        from = i;
        end = i + 1;
        replacement = null;
        if (!_options.NeutralizeExfiltrationLinks || !AtDefinitionLineStart(s, i))
        {
            return false;
        }

        int n = s.Length;
        int j = i + 1;
        int limit = Math.Min(n, j + MaxLabelChars);
        bool blank = true;
        while (j < limit && s[j] is not ('[' or ']' or PlaceholderOpen or PlaceholderClose))
        {
            blank &= char.IsWhiteSpace(s[j]);
            j += s[j] == '\\' && j + 1 < limit && s[j + 1] is not (PlaceholderOpen or PlaceholderClose) ? 2 : 1;
        }

        if (blank || j >= limit || s[j] != ']' || j + 1 >= n || s[j + 1] != ':')
        {
            return false;
        }

        int labelEnd = j;
        int k = SkipBlanks(s, j + 2, lineEnding: true);
        if (k >= n)
        {
            return false;
        }

        int destinationStart = k;
        int destinationEnd;
        bool opaque;
        string url;
        bool undecodable;
        if (s[k] == '<')
        {
            int m = k + 1;
            while (m < n && s[m] is not ('>' or '<' or '\n' or '\r' or PlaceholderOpen or PlaceholderClose))
            {
                m += s[m] == '\\' && m + 1 < n && s[m + 1] is not ('\n' or '\r' or PlaceholderOpen or PlaceholderClose) ? 2 : 1;
            }

            opaque = m < n && s[m] is PlaceholderOpen or PlaceholderClose;
            if (!opaque && (m >= n || s[m] != '>'))
            {
                return false;
            }

            url = Destination(s.AsSpan(k + 1, Math.Min(m - k - 1, MaxUrlChars)), out undecodable);
            destinationEnd = opaque ? m : m + 1;
        }
        else
        {
            int m = k;
            while (m < n && !char.IsWhiteSpace(s[m]) && !char.IsControl(s[m]) && s[m] is not (PlaceholderOpen or PlaceholderClose))
            {
                m++;
            }

            if (m == k)
            {
                return false;
            }

            opaque = m < n && s[m] is PlaceholderOpen or PlaceholderClose;
            url = Destination(s.AsSpan(k, Math.Min(m - k, MaxUrlChars)), out undecodable);
            destinationEnd = m;
        }

        opaque |= undecodable || destinationEnd - destinationStart > MaxUrlChars;
        end = destinationEnd;
        if (!opaque)
        {
            // A title on the same line goes with the destination; one on the next line stays as text.
            int t = SkipBlanks(s, destinationEnd, lineEnding: false);
            if (t > destinationEnd && t < n && s[t] is '"' or '\'' or '(')
            {
                char close = s[t] == '(' ? ')' : s[t];
                int m = t + 1;
                int titleLimit = Math.Min(n, m + MaxLinkTextChars);
                while (m < titleLimit && s[m] != close && s[m] is not ('\n' or '\r' or PlaceholderOpen or PlaceholderClose))
                {
                    m += s[m] == '\\' && m + 1 < titleLimit && s[m + 1] is not ('\n' or '\r' or PlaceholderOpen or PlaceholderClose) ? 2 : 1;
                }

                if (m < titleLimit && s[m] == close && SkipBlanks(s, m + 1, lineEnding: false) is var after && (after >= n || s[after] is '\n' or '\r'))
                {
                    end = m + 1;
                }
            }
        }

        string? host = CheckUrl(url, opaque);
        bool image = false;
        if (host is null || host.Length > 0)
        {
            // Whether an image uses the label decides the rule (and, for a destination without data, whether it is a channel).
            string? imageHost = host ?? CheckUrl(url, image: true);
            if (imageHost is null)
            {
                return false;
            }

            images ??= ImageReferences.Collect(s);
            image = images.Uses(s.AsSpan(i + 1, labelEnd - i - 1));
            if (host is null && !image)
            {
                return false;
            }

            host ??= imageHost;
        }

        from = destinationStart;
        replacement = LinkPlaceholder(host, image);
        findings.Add(host.Length == 0 ? "link.script-url" : image ? "link.exfiltration-image" : "link.exfiltration-link", from, end - from, s.AsSpan(from, end - from), host.Length == 0 ? null : host);
        return true;
    }

    /// <summary>
    /// At a '&lt;' that is not a tag: an autolink <c>&lt;scheme:...&gt;</c> (CommonMark 6.5) whose URL is an exfiltration
    /// channel, as for an inline link, is replaced by the placeholder.
    /// </summary>
    private bool TryAutolink(string s, int i, FindingList findings, out int end, out string? replacement)
    {
        end = i + 1;
        replacement = null;
        int n = s.Length;
        int j = i + 1;
        if (!_options.NeutralizeExfiltrationLinks || j >= n || !char.IsAsciiLetter(s[j]))
        {
            return false;
        }

        int schemeLimit = Math.Min(n, j + 32);
        while (j < schemeLimit && (char.IsAsciiLetterOrDigit(s[j]) || s[j] is '+' or '.' or '-'))
        {
            j++;
        }

        if (j >= n || s[j] != ':' || j - i - 1 < 2)
        {
            return false;
        }

        int limit = Math.Min(n, i + 1 + MaxUrlChars);
        int k = j + 1;
        while (k < limit && s[k] is not ('>' or '<' or PlaceholderOpen or PlaceholderClose) && !char.IsWhiteSpace(s[k]) && !char.IsControl(s[k]))
        {
            k++;
        }

        bool opaque = k < n && (k >= limit || s[k] is PlaceholderOpen or PlaceholderClose);
        if (!opaque && (k >= limit || s[k] != '>'))
        {
            return false;
        }

        if (CheckUrl(s[(i + 1)..k], opaque) is not { } host)
        {
            return false;
        }

        end = opaque ? k : k + 1;
        replacement = LinkPlaceholder(host, image: false);
        findings.Add(host.Length == 0 ? "link.script-url" : "link.exfiltration-link", i, end - i, s.AsSpan(i, end - i), host.Length == 0 ? null : host);
        return true;
    }

    private static string LinkPlaceholder(string host, bool image) =>
        host.Length == 0 ? "\u27E6link removed\u27E7" : (image ? "\u27E6image removed: " : "\u27E6link removed: ") + host + "\u27E7";

    /// <summary>Whether the '[' at <paramref name="i"/> starts a line: only up to three spaces, block quote markers and list markers before it.</summary>
    private static bool AtDefinitionLineStart(string s, int i)
    {
        int back = Math.Min(i, MaxLinePrefixChars);
        int newline = s.AsSpan(i - back, back).LastIndexOf('\n');
        if (newline < 0 && back < i)
        {
            return false;
        }

        int p = newline < 0 ? 0 : i - back + newline + 1;
        while (true)
        {
            int spaces = 0;
            while (p < i && s[p] == ' ' && spaces < 3)
            {
                p++;
                spaces++;
            }

            if (p == i)
            {
                return true;
            }

            char c = s[p];
            if (c == '>')
            {
                p += p + 1 < i && s[p + 1] is ' ' or '\t' ? 2 : 1;
            }
            else if (c is '-' or '+' or '*' && p + 1 < i && s[p + 1] is ' ' or '\t')
            {
                p += 2;
            }
            else if (char.IsAsciiDigit(c))
            {
                int d = p;
                while (d < i && d - p < 9 && char.IsAsciiDigit(s[d]))
                {
                    d++;
                }

                if (d + 1 >= i || s[d] is not ('.' or ')') || s[d + 1] is not (' ' or '\t'))
                {
                    return false;
                }

                p = d + 2;
            }
            else
            {
                return false;
            }
        }
    }

    /// <summary>Skips spaces and tabs, and with <paramref name="lineEnding"/> at most one line ending among them.</summary>
    private static int SkipBlanks(string s, int k, bool lineEnding)
    {
        int n = s.Length;
        while (k < n && s[k] is ' ' or '\t')
        {
            k++;
        }

        if (lineEnding && k < n && s[k] is '\n' or '\r')
        {
            k += s[k] == '\r' && k + 1 < n && s[k + 1] == '\n' ? 2 : 1;
            while (k < n && s[k] is ' ' or '\t')
            {
                k++;
            }
        }

        return k;
    }

    /// <summary>
    /// A markdown link destination as a renderer resolves it: backslash escapes of ASCII punctuation removed, entity and
    /// numeric character references decoded, spaces encoded. <paramref name="undecodable"/> is set when an entity
    /// reference is left that <see cref="WebUtility.HtmlDecode(string)"/> does not know (HTML5 names such as
    /// <c>&amp;quest;</c>): a renderer may still turn it into '?' or '#', so the URL's shape is not to be trusted.
    /// </summary>
    private static string Destination(ReadOnlySpan<char> raw, out bool undecodable)
    {
        undecodable = false;
        if (raw.IndexOfAny('\\', '&', ' ') < 0)
        {
            return raw.ToString();
        }

        var sb = new StringBuilder(raw.Length);
        for (int i = 0; i < raw.Length; i++)
        {
            char c = raw[i];
            if (c == '\\' && i + 1 < raw.Length && raw[i + 1] is >= '!' and <= '/' or >= ':' and <= '@' or >= '[' and <= '`' or >= '{' and <= '~')
            {
                sb.Append(raw[++i]);
            }
            else
            {
                sb.Append(c);
            }
        }

        return DecodeReferences(sb.ToString(), out undecodable).Replace(" ", "%20", StringComparison.Ordinal);
    }

    /// <summary>
    /// Entity and numeric character references decoded as HTML does (markdown destinations and HTML attribute values
    /// alike); <paramref name="undecodable"/> is set when a reference is left that <see cref="WebUtility.HtmlDecode(string)"/>
    /// does not know, so the text's shape is not to be trusted.
    /// </summary>
    private static string DecodeReferences(string text, out bool undecodable)
    {
        undecodable = false;
        if (!text.Contains('&', StringComparison.Ordinal))
        {
            return text;
        }

        string decoded = WebUtility.HtmlDecode(text);
        undecodable = HasEntityReference(decoded);
        return decoded;
    }

    private static bool HasEntityReference(string text)
    {
        int at = 0;
        while ((at = text.IndexOf('&', at)) >= 0)
        {
            int j = at + 1;
            while (j < text.Length && j - at <= 33 && (char.IsAsciiLetterOrDigit(text[j]) || text[j] == '#'))
            {
                j++;
            }

            if (j > at + 1 && j < text.Length && text[j] == ';')
            {
                return true;
            }

            at++;
        }

        return false;
    }

    /// <summary>Labels used by reference-style images in one text (normalized as CommonMark matches labels: whitespace collapsed, case folded).</summary>
    private sealed class ImageReferences
    {
        private readonly HashSet<string> _labels = new(StringComparer.Ordinal);

        /// <summary>Set when an image's label could not be read (nested brackets, a placeholder, too many): every label then counts as used by an image.</summary>
        private bool _all;

        public bool Uses(ReadOnlySpan<char> label) => _all || _labels.Contains(Normalize(label));

        /// <summary>One left-to-right scan over every <c>![</c>; each bracket scan stops at the next bracket, so the whole is linear.</summary>
        public static ImageReferences Collect(string s)
        {
            var result = new ImageReferences();
            int n = s.Length;
            int at = 0;
            while (!result._all && (at = s.IndexOf("![", at, StringComparison.Ordinal)) >= 0)
            {
                int textStart = at + 2;
                at = textStart;
                int j = ScanLabel(s, textStart);
                if (j >= n)
                {
                    break;
                }

                if (s[j] != ']')
                {
                    // A nested bracket or a placeholder in the alt text: the label cannot be known, so fail closed.
                    result._all = s[j] is '[' or PlaceholderOpen or PlaceholderClose;
                    continue;
                }

                ReadOnlySpan<char> label = s.AsSpan(textStart, j - textStart);
                if (j + 1 < n && s[j + 1] == '(')
                {
                    continue;
                }

                if (j + 1 < n && s[j + 1] == '[')
                {
                    int m = ScanLabel(s, j + 2);
                    if (m < n && s[m] == ']' && m > j + 2)
                    {
                        label = s.AsSpan(j + 2, m - j - 2);
                    }
                }

                result._labels.Add(Normalize(label));
                result._all |= result._labels.Count >= MaxImageLabels;
            }

            return result;
        }

        private static int ScanLabel(string s, int j)
        {
            int limit = Math.Min(s.Length, j + MaxLabelChars);
            while (j < limit && s[j] is not ('[' or ']' or PlaceholderOpen or PlaceholderClose))
            {
                j += s[j] == '\\' && j + 1 < limit && s[j + 1] is not (PlaceholderOpen or PlaceholderClose) ? 2 : 1;
            }

            return j < limit ? j : s.Length;
        }

        private static string Normalize(ReadOnlySpan<char> label)
        {
            var sb = new StringBuilder(label.Length);
            bool space = false;
            foreach (char c in label.Trim())
            {
                if (char.IsWhiteSpace(c))
                {
                    space = true;
                    continue;
                }

                if (space)
                {
                    sb.Append(' ');
                    space = false;
                }

                sb.Append(c);
            }

            return sb.ToString().ToUpperInvariant().ToLowerInvariant();
        }
    }
}
