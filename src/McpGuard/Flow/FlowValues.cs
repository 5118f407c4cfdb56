using System.Buffers;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using McpGuard.Text;

namespace McpGuard.Flow;

/// <summary>One value found in text: its kind and the 128-bit prefix of the SHA-256 of its normalized form.</summary>
internal readonly record struct FlowValue(FlowValueKinds Kind, UInt128 Hash);

/// <summary>
/// Extracts and normalizes the values argument-level flow tracks (URLs, e-mail addresses, IBAN-shaped strings, account
/// numbers, phone numbers, long tokens). All patterns run with <see cref="RegexOptions.NonBacktracking"/> (linear time).
/// </summary>
/// <remarks>Immutable and thread-safe. Values are hashed, never kept.</remarks>
internal sealed class FlowValueExtractor
{
    // Unbounded loops with lengths checked after the match: counted loops ({1,2048}) multiply the automaton's states.
    private static readonly Regex s_url = LinearRegex.Create(@"(?:[A-Za-z][A-Za-z0-9+.-]*://|[Ww][Ww][Ww]\.)[^\s""'<>()\[\]{}\\^`|]+", RegexOptions.CultureInvariant);
    private static readonly Regex s_email = LinearRegex.Create(@"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z][A-Za-z]+", RegexOptions.CultureInvariant);
    private static readonly Regex s_iban = LinearRegex.Create(@"[A-Z][A-Z][0-9][0-9](?: ?[A-Z0-9])+", RegexOptions.CultureInvariant);
    private static readonly Regex s_account = LinearRegex.Create(@"[0-9][0-9][0-9]+(?:[ -][0-9][0-9][0-9]+)*", RegexOptions.CultureInvariant);
    private static readonly Regex s_phone = LinearRegex.Create(@"\+[0-9](?:[ ()-]?[ ()-]?[0-9])+", RegexOptions.CultureInvariant);
    private static readonly Regex s_tokenRun = LinearRegex.Create(@"[A-Za-z0-9_-]+", RegexOptions.CultureInvariant);

    private readonly FlowValueKinds _kinds;
    private readonly int _minTokenLength;

    public FlowValueExtractor(FlowValueKinds kinds, int minTokenLength)
    {
        _kinds = kinds;
        _minTokenLength = minTokenLength;
    }

    /// <summary>Adds the values found in <paramref name="text"/> to <paramref name="values"/> (at most <paramref name="max"/> in total). Returns false when the cap cut the scan short.</summary>
    public bool Extract(string text, List<FlowValue> values, int max)
    {
        if (text.Length < 6)
        {
            return true;
        }

        bool complete = true;
        if ((_kinds & FlowValueKinds.Url) != 0 && (text.Contains("://", StringComparison.Ordinal) || text.Contains("www.", StringComparison.OrdinalIgnoreCase)))
        {
            complete &= Run(s_url, text, FlowValueKinds.Url, values, max, static m => m.Length <= 2048 && m.IndexOf("://", StringComparison.Ordinal) is var s && (s < 0 || s <= 16) ? NormalizeUrl(m) : null);
        }

        if ((_kinds & FlowValueKinds.Email) != 0 && text.Contains('@'))
        {
            complete &= Run(s_email, text, FlowValueKinds.Email, values, max, static m => m.Length <= 320 && m.IndexOf('@') <= 64 ? m.ToLowerInvariant() : null);
        }

        if ((_kinds & FlowValueKinds.Iban) != 0)
        {
            complete &= Run(s_iban, text, FlowValueKinds.Iban, values, max, static m => m.Replace(" ", string.Empty, StringComparison.Ordinal) is { Length: >= 15 and <= 34 } iban ? iban : null, boundaryCheck: true);
        }

        if ((_kinds & FlowValueKinds.AccountNumber) != 0)
        {
            complete &= Run(s_account, text, FlowValueKinds.AccountNumber, values, max, static m => DigitsOnly(m, 8, 19) is { } d && !LooksLikeDate(d) ? d : null, boundaryCheck: true, numeric: true);
        }

        if ((_kinds & FlowValueKinds.Phone) != 0 && text.Contains('+'))
        {
            complete &= Run(s_phone, text, FlowValueKinds.Phone, values, max, static m => DigitsOnly(m, 8, 15) is { } d ? "+" + d : null, boundaryCheck: true, numeric: true);
        }

        if ((_kinds & FlowValueKinds.Token) != 0)
        {
            int min = _minTokenLength;
            complete &= Run(s_tokenRun, text, FlowValueKinds.Token, values, max, m => m.Length >= min && m.Length <= 4096 && HasLetterAndDigit(m) ? m : null);
        }

        return complete;
    }

    /// <summary>The hash of a whole value as a host would name it (trimmed, lower case): used for destinations and trusted values.</summary>
    public static UInt128 HashWhole(string value) => Hash(NormalizeWhole(value));

    /// <summary>Trimmed, lower case, every run of white space collapsed to one space.</summary>
    public static string NormalizeWhole(string value) => NormalizeWhole(value, lower: true);

    /// <summary>Trimmed, every run of white space collapsed to one space; lower case when <paramref name="lower"/> (per character, so positions match the cased form).</summary>
    public static string NormalizeWhole(string value, bool lower)
    {
        var sb = new StringBuilder(value.Length);
        bool space = false;
        foreach (char c in value)
        {
            if (char.IsWhiteSpace(c))
            {
                space = sb.Length > 0;
                continue;
            }

            if (space)
            {
                sb.Append(' ');
                space = false;
            }

            sb.Append(lower ? char.ToLowerInvariant(c) : c);
        }

        return sb.ToString();
    }

    /// <summary>
    /// Word n-gram hashes of <paramref name="text"/> (words: runs of letters and digits, lower case): every k-gram for
    /// k = 2..<paramref name="words"/> when <paramref name="all"/>; otherwise only the <paramref name="words"/>-grams, or
    /// the whole text as one k-gram when it has 2..words-1 words. Returns the number of words, or -1 when <paramref name="max"/> cut it short.
    /// </summary>
    public static int Phrases(ReadOnlySpan<char> text, int words, bool all, List<ulong> into, int max)
    {
        var hashes = new List<ulong>();
        ulong h = 0;
        bool inWord = false;
        foreach (char c in text)
        {
            if (char.IsLetterOrDigit(c))
            {
                if (!inWord)
                {
                    h = 14695981039346656037UL;
                    inWord = true;
                }

                h = (h ^ char.ToLowerInvariant(c)) * 1099511628211UL;
            }
            else if (inWord)
            {
                hashes.Add(h);
                inWord = false;
            }
        }

        if (inWord)
        {
            hashes.Add(h);
        }

        int n = hashes.Count;
        if (all)
        {
            for (int k = 2; k <= words; k++)
            {
                for (int i = 0; i + k <= n; i++)
                {
                    if (into.Count >= max)
                    {
                        return -1;
                    }

                    into.Add(Gram(hashes, i, k));
                }
            }
        }
        else if (n >= words)
        {
            for (int i = 0; i + words <= n; i++)
            {
                into.Add(Gram(hashes, i, words));
            }
        }
        else if (n >= 2)
        {
            into.Add(Gram(hashes, 0, n));
        }

        return n;
    }

    private static ulong Gram(List<ulong> hashes, int start, int length)
    {
        ulong h = 0x9E3779B97F4A7C15UL * (ulong)length;
        for (int i = start; i < start + length; i++)
        {
            h = (h ^ hashes[i]) * 1099511628211UL;
            h ^= h >> 29;
        }

        return h;
    }

    internal static UInt128 Hash(string normalized)
    {
        int max = Encoding.UTF8.GetMaxByteCount(normalized.Length);
        byte[]? rented = max > 512 ? ArrayPool<byte>.Shared.Rent(max) : null;
        Span<byte> buffer = rented ?? stackalloc byte[512];
        try
        {
            int n = Encoding.UTF8.GetBytes(normalized, buffer);
            Span<byte> digest = stackalloc byte[32];
            SHA256.HashData(buffer[..n], digest);
            return new UInt128(BitConverter.ToUInt64(digest[..8]), BitConverter.ToUInt64(digest[8..16]));
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static bool Run(Regex regex, string text, FlowValueKinds kind, List<FlowValue> values, int max, Func<string, string?> normalize, bool boundaryCheck = false, bool numeric = false)
    {
        foreach (ValueMatch match in regex.EnumerateMatches(text))
        {
            if (boundaryCheck && !Bounded(text, match.Index, match.Length))
            {
                continue;
            }

            if (numeric && PartOfNumberOrTime(text, match.Index, match.Length))
            {
                continue;
            }

            string? normalized = normalize(text.Substring(match.Index, match.Length));
            if (string.IsNullOrEmpty(normalized) || normalized == "+")
            {
                continue;
            }

            if (values.Count >= max)
            {
                return false;
            }

            values.Add(new FlowValue(kind, Hash(normalized)));
        }

        return true;
    }

    private static bool Bounded(string text, int index, int length)
    {
        char before = index > 0 ? text[index - 1] : ' ';
        char after = index + length < text.Length ? text[index + length] : ' ';
        return !char.IsLetterOrDigit(before) && !char.IsLetterOrDigit(after);
    }

    /// <summary>A digit run next to '.', ':', ',' or '/' is part of a decimal amount, a time, a version or a date, not an account or phone number.</summary>
    private static bool PartOfNumberOrTime(string text, int index, int length)
    {
        char before = index > 0 ? text[index - 1] : ' ';
        char after = index + length < text.Length ? text[index + length] : ' ';
        return before is '.' or ':' or ',' or '/' || after is '.' or ':' or ',' or '/' && index + length + 1 < text.Length && char.IsAsciiDigit(text[index + length + 1]);
    }

    /// <summary>An 8-digit yyyymmdd with a plausible year, month and day.</summary>
    private static bool LooksLikeDate(string digits) =>
        digits.Length == 8
        && digits[0] is '1' or '2'
        && int.Parse(digits.AsSpan(4, 2), System.Globalization.CultureInfo.InvariantCulture) is >= 1 and <= 12
        && int.Parse(digits.AsSpan(6, 2), System.Globalization.CultureInfo.InvariantCulture) is >= 1 and <= 31;

    internal static string? NormalizeUrl(string url)
    {
        string u = url.TrimEnd('.', ',', ';', ':', '!', '?', '\'', '"');

        // "www.example.com.They sent…": a trailing ".Capitalized" word after a host is the next sentence, not a label.
        int lastDot = u.LastIndexOf('.');
        if (lastDot > 0 && lastDot + 2 < u.Length && char.IsAsciiLetterUpper(u[lastDot + 1]) && u.AsSpan(lastDot + 2).IndexOfAnyExceptInRange('a', 'z') < 0)
        {
            u = u[..lastDot];
        }
        int scheme = u.IndexOf("://", StringComparison.Ordinal);
        string rest = scheme >= 0 ? u[(scheme + 3)..] : u;
        int hash = rest.IndexOf('#', StringComparison.Ordinal);
        if (hash >= 0)
        {
            rest = rest[..hash];
        }

        int slash = rest.IndexOfAny(['/', '?']);
        string authority = slash >= 0 ? rest[..slash] : rest;
        string path = slash >= 0 ? rest[slash..] : string.Empty;
        int at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            // Keep user info: a URL with it is a different destination.
            authority = authority[..(at + 1)] + authority[(at + 1)..].ToLowerInvariant();
        }
        else
        {
            authority = authority.ToLowerInvariant();
        }

        if (authority.EndsWith(":80", StringComparison.Ordinal) || authority.EndsWith(":443", StringComparison.Ordinal))
        {
            authority = authority[..authority.LastIndexOf(':')];
        }

        authority = authority.TrimEnd('.');
        if (authority.StartsWith("www.", StringComparison.Ordinal))
        {
            authority = authority[4..];
        }

        path = path.TrimEnd('/');
        return authority.Length == 0 ? null : authority + path;
    }

    private static string? DigitsOnly(string value, int min, int max)
    {
        Span<char> digits = stackalloc char[Math.Min(value.Length, 64)];
        int n = 0;
        foreach (char c in value)
        {
            if (char.IsAsciiDigit(c))
            {
                if (n == digits.Length)
                {
                    return null;
                }

                digits[n++] = c;
            }
        }

        return n >= min && n <= max ? new string(digits[..n]) : null;
    }

    private static bool HasLetterAndDigit(string value)
    {
        bool letter = false, digit = false;
        foreach (char c in value)
        {
            letter |= char.IsAsciiLetter(c);
            digit |= char.IsAsciiDigit(c);
            if (letter && digit)
            {
                return true;
            }
        }

        return false;
    }
}
