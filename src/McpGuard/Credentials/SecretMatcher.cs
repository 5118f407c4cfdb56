using System.Buffers;
using System.Text;

namespace McpGuard.Credentials;

/// <summary>Which form of a credential was found in a text.</summary>
internal enum SecretEncoding
{
    Raw,
    Base64,
    Base64Url,
    HexLower,
    HexUpper,
    UrlEncoded,
    JsonEscaped,
    WhitespaceSplit,
}

/// <summary>A credential found in a text: which credential and in which encoding. Never carries the secret.</summary>
internal readonly record struct SecretMatch(GuardCredential Credential, SecretEncoding Encoding);

/// <summary>
/// Finds any of a fixed set of secrets in a text, as the exact value or in a common encoding: standard and URL-safe
/// base64 (RFC 4648 §4/§5, at every byte alignment, so a secret base64-encoded inside a longer string such as
/// <c>Bearer …</c> or <c>user:secret</c> is found), lower- and upper-case hex, percent-encoding (RFC 3986 §2.1),
/// JSON string escapes (RFC 8259 §7) and a value split by whitespace.
/// </summary>
/// <remarks>
/// Immutable; thread-safe. The encodings of every secret are precomputed once, so a scan is one multi-string search
/// over the text (vectorized <see cref="SearchValues{T}"/> on .NET 9+) plus, only when the text contains <c>%</c>,
/// <c>\</c> or whitespace, one more over its decoded form. Never throws for any input text.
/// </remarks>
internal sealed class SecretMatcher
{
    /// <summary>Shortest encoded pattern that is searched for, in characters; shorter ones would match by chance.</summary>
    internal const int MinimumPatternLength = 6;

    private readonly string[] _patterns;
    private readonly SecretMatch[] _matches;
#if NET9_0_OR_GREATER
    private readonly SearchValues<string>? _search;
#endif

    public SecretMatcher(IEnumerable<GuardCredential> credentials)
    {
        var map = new Dictionary<string, SecretMatch>(StringComparer.Ordinal);
        foreach (GuardCredential credential in credentials)
        {
            foreach ((string pattern, SecretEncoding encoding) in Encodings(credential.Secret))
            {
                if (pattern.Length >= MinimumPatternLength)
                {
                    map.TryAdd(pattern, new SecretMatch(credential, encoding));
                }
            }
        }

        // Longest first, so that the reported match is the most specific one.
        _patterns = [.. map.Keys.OrderByDescending(k => k.Length).ThenBy(k => k, StringComparer.Ordinal)];
        _matches = [.. _patterns.Select(p => map[p])];
#if NET9_0_OR_GREATER
        _search = _patterns.Length == 0 ? null : SearchValues.Create(_patterns, StringComparison.Ordinal);
#endif
    }

    public static SecretMatcher Empty { get; } = new([]);

    public bool IsEmpty => _patterns.Length == 0;

    /// <summary>Finds the first credential in <paramref name="text"/>, directly or after decoding percent-escapes, JSON escapes or removing whitespace.</summary>
    public SecretMatch? Find(ReadOnlySpan<char> text)
    {
        if (_patterns.Length == 0 || text.Length < MinimumPatternLength)
        {
            return null;
        }

        if (FindDirect(text) is { } direct)
        {
            return direct;
        }

        if (text.IndexOfAny('%', '\\') >= 0)
        {
            string decoded = Decode(text);
            if (decoded.Length != text.Length && FindDirect(decoded) is { } d)
            {
                return d with { Encoding = text.Contains('%') ? SecretEncoding.UrlEncoded : SecretEncoding.JsonEscaped };
            }
        }

        if (ContainsWhitespace(text))
        {
            string joined = RemoveWhitespace(text);
            if (FindDirect(joined) is { } w)
            {
                return w with { Encoding = w.Encoding == SecretEncoding.Raw ? SecretEncoding.WhitespaceSplit : w.Encoding };
            }
        }

        return null;
    }

    /// <summary>
    /// Every distinct credential in <paramref name="text"/> (directly or after the same decodings as <see cref="Find"/>),
    /// for checks where each one must be allowed, e.g. a header value that carries two credentials. The text is scanned
    /// left to right; at each position the longest secret found there counts and the scan goes on after it, so a secret
    /// that only occurs inside a longer one is not reported. Empty when there is none.
    /// </summary>
    /// <returns>At most one match per credential, in the order first found.</returns>
    public IReadOnlyList<SecretMatch> FindAll(ReadOnlySpan<char> text)
    {
        if (_patterns.Length == 0 || text.Length < MinimumPatternLength)
        {
            return [];
        }

        List<SecretMatch>? found = null;
        AddAllDirect(text, null, ref found);
        if (text.IndexOfAny('%', '\\') >= 0)
        {
            string decoded = Decode(text);
            if (decoded.Length != text.Length)
            {
                AddAllDirect(decoded, text.Contains('%') ? SecretEncoding.UrlEncoded : SecretEncoding.JsonEscaped, ref found);
            }
        }

        if (ContainsWhitespace(text))
        {
            AddAllDirect(RemoveWhitespace(text), SecretEncoding.WhitespaceSplit, ref found);
        }

        return found is null ? [] : found;
    }

    private void AddAllDirect(ReadOnlySpan<char> text, SecretEncoding? encoding, ref List<SecretMatch>? found)
    {
        int offset = 0;
        while (text.Length - offset >= MinimumPatternLength)
        {
            ReadOnlySpan<char> rest = text[offset..];
            int at = IndexOfAnyPattern(rest);
            if (at < 0)
            {
                return;
            }

            int i = LongestAt(rest[at..]);

            SecretMatch match = _matches[i];
            found ??= [];
            if (!found.Exists(m => ReferenceEquals(m.Credential, match.Credential)))
            {
                found.Add(encoding is { } e && match.Encoding == SecretEncoding.Raw ? match with { Encoding = e } : match);
            }

            offset += at + _patterns[i].Length;
        }
    }

    /// <summary>The first position in <paramref name="text"/> where any pattern begins, or -1.</summary>
    private int IndexOfAnyPattern(ReadOnlySpan<char> text)
    {
#if NET9_0_OR_GREATER
        return text.IndexOfAny(_search!);
#else
        int first = -1;
        foreach (string pattern in _patterns)
        {
            int at = text.IndexOf(pattern, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first))
            {
                first = at;
            }
        }

        return first;
#endif
    }

    /// <summary>The credential of the longest secret at the earliest position where one begins.</summary>
    private SecretMatch? FindDirect(ReadOnlySpan<char> text)
    {
        int at = IndexOfAnyPattern(text);
        return at < 0 ? null : _matches[LongestAt(text[at..])];
    }

    /// <summary>Index into <see cref="_patterns"/> of the longest pattern <paramref name="text"/> starts with; one must.</summary>
    private int LongestAt(ReadOnlySpan<char> text)
    {
        int i = 0;
        while (!text.StartsWith(_patterns[i], StringComparison.Ordinal))
        {
            i++; // patterns are sorted longest first
        }

        return i;
    }

    /// <summary>Every searched form of one secret.</summary>
    internal static IEnumerable<(string Pattern, SecretEncoding Encoding)> Encodings(string secret)
    {
        yield return (secret, SecretEncoding.Raw);
        byte[] bytes = Encoding.UTF8.GetBytes(secret);
        yield return (Convert.ToHexString(bytes), SecretEncoding.HexUpper);
        yield return (Convert.ToHexString(bytes).ToLowerInvariant(), SecretEncoding.HexLower);

        // Base64 at byte offsets 0, 1 and 2: the characters that depend only on the secret's bits.
        for (int offset = 0; offset < 3; offset++)
        {
            byte[] padded = new byte[offset + bytes.Length];
            bytes.CopyTo(padded, offset);
            string encoded = Convert.ToBase64String(padded);
            int start = ((8 * offset) + 5) / 6;
            int end = 8 * (offset + bytes.Length) / 6;
            if (end - start <= 0)
            {
                continue;
            }

            string core = encoded[start..end];
            yield return (core, SecretEncoding.Base64);
            string url = core.Replace('+', '-').Replace('/', '_');
            if (!string.Equals(url, core, StringComparison.Ordinal))
            {
                yield return (url, SecretEncoding.Base64Url);
            }
        }
    }

    /// <summary>Percent-decodes (RFC 3986, also <c>+</c> as space is left alone) and JSON-unescapes (<c>\uXXXX</c>, <c>\"</c>, <c>\\</c>, <c>\/</c>, <c>\n</c>...). Malformed escapes stay as they are.</summary>
    internal static string Decode(ReadOnlySpan<char> text)
    {
        var sb = new StringBuilder(text.Length);
        var utf8 = new List<byte>();
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c == '%' && i + 2 < text.Length && IsHex(text[i + 1]) && IsHex(text[i + 2]))
            {
                utf8.Clear();
                while (i + 2 < text.Length && text[i] == '%' && IsHex(text[i + 1]) && IsHex(text[i + 2]))
                {
                    utf8.Add((byte)((HexValue(text[i + 1]) << 4) | HexValue(text[i + 2])));
                    i += 3;
                }

                sb.Append(Encoding.UTF8.GetString([.. utf8]));
                i--;
                continue;
            }

            if (c == '\\' && i + 1 < text.Length)
            {
                char n = text[i + 1];
                if (n == 'u' && i + 5 < text.Length && IsHex(text[i + 2]) && IsHex(text[i + 3]) && IsHex(text[i + 4]) && IsHex(text[i + 5]))
                {
                    sb.Append((char)((HexValue(text[i + 2]) << 12) | (HexValue(text[i + 3]) << 8) | (HexValue(text[i + 4]) << 4) | HexValue(text[i + 5])));
                    i += 5;
                    continue;
                }

                char? simple = n switch
                {
                    '"' => '"',
                    '\\' => '\\',
                    '/' => '/',
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    'b' => '\b',
                    'f' => '\f',
                    _ => null,
                };
                if (simple is { } s)
                {
                    sb.Append(s);
                    i++;
                    continue;
                }
            }

            sb.Append(c);
        }

        return sb.ToString();
    }

    private static bool ContainsWhitespace(ReadOnlySpan<char> text)
    {
        foreach (char c in text)
        {
            if (char.IsWhiteSpace(c))
            {
                return true;
            }
        }

        return false;
    }

    private static string RemoveWhitespace(ReadOnlySpan<char> text)
    {
        var sb = new StringBuilder(text.Length);
        foreach (char c in text)
        {
            if (!char.IsWhiteSpace(c))
            {
                sb.Append(c);
            }
        }

        return sb.ToString();
    }

    private static bool IsHex(char c) => char.IsAsciiHexDigit(c);

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}
