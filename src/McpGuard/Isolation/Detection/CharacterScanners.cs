using System.Globalization;
using System.Text;

namespace McpGuard.Isolation.Detection;

/// <summary>Hand-written single-pass scanners for hidden Unicode, terminal control sequences and encoded blobs.</summary>
internal static class CharacterScanners
{
    private const int MinBlobLength = 40;
    private const int BlobStride = MinBlobLength / 2;

    private static readonly System.Buffers.SearchValues<char> s_plain = System.Buffers.SearchValues.Create(
        "\t\n !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    private static readonly System.Buffers.SearchValues<char> s_base64 = System.Buffers.SearchValues.Create(
        "+-/0123456789=ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz");

    internal const string TagRule = "unicode.tag-characters";
    internal const string ZeroWidthRule = "unicode.zero-width";
    internal const string BidiRule = "unicode.bidi-control";
    internal const string DirectionMarkRule = "unicode.direction-mark-padding";
    internal const string FormatRule = "unicode.format-character";
    internal const string PrivateUseRule = "unicode.private-use";
    internal const string VariationSmugglingRule = "unicode.variation-selector-smuggling";
    internal const string LoneSurrogateRule = "unicode.lone-surrogate";
    internal const string AnsiRule = "terminal.ansi-escape";
    internal const string C1Rule = "terminal.c1-control";
    internal const string OverwriteRule = "terminal.overwrite-control";
    internal const string BlobRule = "encoded.blob";
    internal const string BlobTextRule = "encoded.text-payload";

    /// <summary>Scans for hidden Unicode and terminal controls. <paramref name="add"/> receives (rule, start, length, weight, explanation).</summary>
    public static void ScanCharacters(ReadOnlySpan<char> text, Action<string, int, int, double, string> add, Action<string, int, int>? hiddenText)
    {
        int directionMarks = 0;
        int firstDirectionMark = -1;
        int i = 0;
        while (i < text.Length)
        {
            // Printable ASCII, tab and line feed need no attention: skip runs of them with a vectorized search.
            int skip = text[i..].IndexOfAnyExcept(s_plain);
            if (skip < 0)
            {
                break;
            }

            i += skip;
            char c = text[i];
            if (char.IsHighSurrogate(c))
            {
                if (i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    int cp = char.ConvertToUtf32(c, text[i + 1]);
                    if (cp is >= 0xE0000 and <= 0xE007F)
                    {
                        int start = i;
                        var decoded = new StringBuilder();
                        while (i + 1 < text.Length && char.IsHighSurrogate(text[i]) && char.IsLowSurrogate(text[i + 1]))
                        {
                            int t = char.ConvertToUtf32(text[i], text[i + 1]);
                            if (t is < 0xE0000 or > 0xE007F)
                            {
                                break;
                            }

                            if (t is >= 0xE0020 and <= 0xE007E)
                            {
                                decoded.Append((char)(t - 0xE0000));
                            }

                            i += 2;
                        }

                        bool flagSequence = start >= 2 && char.IsSurrogatePair(text[start - 2], text[start - 1])
                            && char.ConvertToUtf32(text[start - 2], text[start - 1]) == 0x1F3F4 && decoded.Length <= 8;
                        if (!flagSequence)
                        {
                            add(TagRule, start, i - start, 0.9, "Unicode tag characters (invisible ASCII): \"" + Truncate(decoded.ToString()) + "\".");
                            hiddenText?.Invoke(decoded.ToString(), start, i - start);
                        }

                        continue;
                    }

                    if (cp is >= 0xE0100 and <= 0xE01EF)
                    {
                        int start = i;
                        int count = 0;
                        while (i + 1 < text.Length && char.IsSurrogatePair(text[i], text[i + 1])
                            && char.ConvertToUtf32(text[i], text[i + 1]) is >= 0xE0100 and <= 0xE01EF)
                        {
                            i += 2;
                            count++;
                        }

                        if (count >= 2)
                        {
                            add(VariationSmugglingRule, start, i - start, 0.7, "Run of supplementary variation selectors (data smuggling).");
                        }

                        continue;
                    }

                    if (cp is >= 0xF0000)
                    {
                        add(PrivateUseRule, i, 2, 0.2, "Supplementary private-use character.");
                    }

                    i += 2;
                    continue;
                }

                add(LoneSurrogateRule, i, 1, 0.2, "Lone surrogate.");
                i++;
                continue;
            }

            if (char.IsLowSurrogate(c))
            {
                add(LoneSurrogateRule, i, 1, 0.2, "Lone surrogate.");
                i++;
                continue;
            }

            switch (c)
            {
                case '\u001B':
                {
                    int end = SkipEscape(text, i);
                    add(AnsiRule, i, end - i, 0.6, "ANSI/ECMA-48 escape sequence.");
                    i = end;
                    continue;
                }

                case '\b':
                    add(OverwriteRule, i, 1, 0.3, "Backspace control character.");
                    break;
                case '\r':
                    if (i + 1 < text.Length && text[i + 1] != '\n' && text[i + 1] != '\r')
                    {
                        add(OverwriteRule, i, 1, 0.2, "Bare carriage return (can overwrite terminal output).");
                    }

                    break;
                case '\u200B' or '\u2060' or '\u180E':
                    AddZeroWidthRun(text, ref i, add);
                    continue;
                case '\uFEFF':
                    if (i != 0)
                    {
                        AddZeroWidthRun(text, ref i, add);
                        continue;
                    }

                    break;
                case '\u200C':
                    if (!IsJoinerContext(text, i, emoji: false))
                    {
                        AddZeroWidthRun(text, ref i, add);
                        continue;
                    }

                    break;
                case '\u200D':
                    if (!IsJoinerContext(text, i, emoji: true))
                    {
                        AddZeroWidthRun(text, ref i, add);
                        continue;
                    }

                    break;
                case '\u200E' or '\u200F' or '\u061C':
                    directionMarks++;
                    if (firstDirectionMark < 0)
                    {
                        firstDirectionMark = i;
                    }

                    break;
                case >= '\u202A' and <= '\u202E':
                case >= '\u2066' and <= '\u2069':
                    add(BidiRule, i, 1, 0.5, "Bidirectional override/isolate control (U+" + ((int)c).ToString("X4", CultureInfo.InvariantCulture) + ").");
                    break;
                case >= '\u0080' and <= '\u009F':
                    add(C1Rule, i, 1, 0.4, "C1 control character.");
                    break;
                case >= '\uE000' and <= '\uF8FF':
                    add(PrivateUseRule, i, 1, 0.2, "Private-use character.");
                    break;
                default:
                    if (c > '\u00AD' && char.GetUnicodeCategory(c) == UnicodeCategory.Format && c is not ('\u0600' or '\u0601' or '\u0602' or '\u0603' or '\u0604' or '\u0605' or '\u06DD' or '\u070F'))
                    {
                        add(FormatRule, i, 1, 0.3, "Invisible format character (U+" + ((int)c).ToString("X4", CultureInfo.InvariantCulture) + ").");
                    }

                    break;
            }

            i++;
        }

        if (directionMarks >= 4)
        {
            add(DirectionMarkRule, firstDirectionMark, 1, 0.45, "Text padded with " + directionMarks.ToString(CultureInfo.InvariantCulture) + " invisible direction marks.");
        }
    }

    private static void AddZeroWidthRun(ReadOnlySpan<char> text, ref int i, Action<string, int, int, double, string> add)
    {
        int start = i;
        while (i < text.Length && text[i] is '\u200B' or '\u200C' or '\u200D' or '\u2060' or '\uFEFF' or '\u180E')
        {
            i++;
        }

        int length = i - start;
        add(ZeroWidthRule, start, length, length >= 3 ? 0.6 : 0.3, "Zero-width character" + (length > 1 ? "s" : string.Empty) + " outside a joining context.");
    }

    // ZWJ is legitimate between emoji; ZWNJ/ZWJ between letters of joining scripts (Arabic, Indic...).
    private static bool IsJoinerContext(ReadOnlySpan<char> text, int i, bool emoji)
    {
        if (i == 0 || i + 1 >= text.Length)
        {
            return false;
        }

        char prev = text[i - 1];
        char next = text[i + 1];
        if (emoji && (char.IsLowSurrogate(prev) || prev is '\uFE0F' or >= '\u2600' and <= '\u27BF')
            && (char.IsHighSurrogate(next) || next is >= '\u2600' and <= '\u27BF'))
        {
            return true;
        }

        return IsJoiningScript(prev) && IsJoiningScript(next);
    }

    private static bool IsJoiningScript(char c) =>
        c is >= '\u0600' and <= '\u08FF' or >= '\u0900' and <= '\u0DFF' or >= '\u0E00' and <= '\u0FFF' or >= '\u1000' and <= '\u109F' or >= '\uA800' and <= '\uABFF';

    // ECMA-48: CSI = ESC [ params intermediates final(0x40-0x7E); OSC/DCS/SOS/PM/APC = ESC ] ... (BEL | ESC \).
    private static int SkipEscape(ReadOnlySpan<char> text, int i)
    {
        int j = i + 1;
        if (j >= text.Length)
        {
            return j;
        }

        char kind = text[j];
        j++;
        if (kind == '[')
        {
            while (j < text.Length && text[j] is >= '\u0020' and <= '\u003F')
            {
                j++;
            }

            return j < text.Length && text[j] is >= '\u0040' and <= '\u007E' ? j + 1 : j;
        }

        if (kind is ']' or 'P' or 'X' or '^' or '_')
        {
            while (j < text.Length && j - i < 4096)
            {
                if (text[j] == '\u0007')
                {
                    return j + 1;
                }

                if (text[j] == '\u001B' && j + 1 < text.Length && text[j + 1] == '\\')
                {
                    return j + 2;
                }

                j++;
            }

            return j;
        }

        return j;
    }

    /// <summary>Finds long base64/hex runs; decodes base64 runs that hold readable text and hands it to <paramref name="decodedText"/>.</summary>
    public static void ScanBlobs(ReadOnlySpan<char> text, Action<string, int, int, double, string> add, Action<string, int, int>? decodedText)
    {
        // A run of at least MinBlobLength base64 characters covers two consecutive multiples of BlobStride, and the
        // characters between them: probe those positions instead of every character, and only then find the run's ends.
        int decodedBlobs = 0;
        ReadOnlySpan<char> span = text;
        int k = 0;
        while (k + BlobStride < span.Length)
        {
            if (!IsBase64Char(span[k]) || !IsBase64Char(span[k + BlobStride]) || span.Slice(k, BlobStride + 1).IndexOfAnyExcept(s_base64) >= 0)
            {
                k += BlobStride;
                continue;
            }

            int start = k;
            while (start > 0 && IsBase64Char(span[start - 1]))
            {
                start--;
            }

            int end = span[k..].IndexOfAnyExcept(s_base64);
            end = end < 0 ? span.Length : k + end;
            int length = end - start;

            // Next probe: the first multiple of the stride after the run (the run is maximal, so no other run overlaps it).
            k = (end / BlobStride + 1) * BlobStride;
            if (length < MinBlobLength)
            {
                continue;
            }

            ReadOnlySpan<char> run = span.Slice(start, length);
            if (run.IndexOfAnyInRange('A', 'Z') < 0 || run.IndexOfAnyInRange('a', 'z') < 0 || LooksLikePathOrUrl(text, start, length))
            {
                continue;
            }

            add(BlobRule, start, length, 0.1, "Long base64-like run.");
            if (decodedText is not null && decodedBlobs < 16 && length <= 1 << 16)
            {
                decodedBlobs++;
                string? decoded = TryDecodeText(run);
                if (decoded is not null)
                {
                    add(BlobTextRule, start, length, 0.35, "Base64 run that decodes to readable text: \"" + Truncate(decoded) + "\".");
                    decodedText(decoded, start, length);
                }
            }
        }
    }

    private static bool IsBase64Char(char c) => c is >= 'A' and <= 'Z' or >= 'a' and <= 'z' or >= '0' and <= '9' or '+' or '/' or '=' or '-' or '_';

    private static bool LooksLikePathOrUrl(ReadOnlySpan<char> text, int start, int length)
    {
        int slashes = 0;
        for (int k = start; k < start + length; k++)
        {
            if (text[k] == '/')
            {
                slashes++;
            }
        }

        return slashes >= 3 || (start >= 3 && text.Slice(start - 3, 3).SequenceEqual("://"));
    }

    private static string? TryDecodeText(ReadOnlySpan<char> run)
    {
        Span<char> buffer = run.Length <= 4096 ? stackalloc char[run.Length + 3] : new char[run.Length + 3];
        int n = 0;
        foreach (char c in run)
        {
            buffer[n++] = c switch { '-' => '+', '_' => '/', _ => c };
        }

        while (n % 4 != 0)
        {
            buffer[n++] = '=';
        }

        byte[] bytes = new byte[(n / 4 * 3) + 3];
        if (!Convert.TryFromBase64Chars(buffer[..n], bytes, out int written) || written < 20)
        {
            return null;
        }

        int printable = 0, spaces = 0;
        for (int k = 0; k < written; k++)
        {
            byte b = bytes[k];
            if (b is >= 0x20 and < 0x7F or (byte)'\n' or (byte)'\r' or (byte)'\t')
            {
                printable++;
            }

            if (b == (byte)' ')
            {
                spaces++;
            }
        }

        return printable >= written * 0.95 && spaces >= 3 ? Encoding.ASCII.GetString(bytes, 0, written) : null;
    }

    internal static string Truncate(string s) => s.Length <= 80 ? s : string.Concat(s.AsSpan(0, 77), "...");
}
