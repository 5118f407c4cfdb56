using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace McpGuard.Tests.Isolation;

/// <summary>Laws of the sanitizer over generated strings biased toward the constructs it handles.</summary>
public sealed class ContentSanitizerPropertyTests
{
    private static readonly ContentSanitizer s_sanitizer = new();

    private static readonly string[] s_pieces =
    [
        "<!--", "-->", "<", ">", "!", "-", "[", "]", "(", ")", "'", "\"", " ", "\n", "\r", "\t", "a", "Z", "0", "/", "=", ":",
        "<span style='display:none'>", "</span>", "<div hidden>", "</div>", "<b>", "<img src=http://e.example/x?d=1>",
        "![a](http://evil.example/?d=1)", "[x](https://evil.example/c?t=2)", "](", "http://evil.example/?q=", "⟦", "⟧",
        "\u001B", "\u001B[", "31m", "\u001B]8;;", "\u0007", "\u001B\\", "\u009B", "\u009D", "\u0085", "\u0090",
        "\u200B", "\u200C", "\u200D", "\u2060", "\uFEFF", "\u202E", "\u2066", "\u00AD", "\uE000",
        "\U0001F600", "\U0001F468", "\u2764", "\uFE0F", "\uFE0E", "\uFE00", "1", "#", "\U0001F3F4",
        "\uDB40\uDC41", "\uDB40\uDC67", "\uDB40\uDC7F", "\uDB40\uDD01", "\uD800", "\uDC00", "\u0645", "\u06CC", "漢",
        "[r]: ", "\n[r]:", "[r]", "![a][r]", "![r]", "[]", "\n[r]: https://evil.example/?d=1", "\n> [r]: <https://evil.example/p.png>",
        "<https://evil.example/?q=1>", "<https:", "](<", "(", "\\", "&quest;", "&amp;", " \"t\"",
    ];

    private static Arbitrary<string> Texts() =>
        Gen.OneOf(
                Gen.Elements(s_pieces).ArrayOf().Select(p => string.Concat(p)),
                ArbMap.Default.GeneratorFor<string>().Select(s => s ?? string.Empty))
            .ToArbitrary();

    [Property(MaxTest = 500)]
    public Property Sanitize_AnyText_IsIdempotent() =>
        Prop.ForAll(Texts(), text =>
        {
            string once = s_sanitizer.Sanitize(text).Text;
            return s_sanitizer.Sanitize(once).Text == once;
        });

    [Property(MaxTest = 500)]
    public Property Sanitize_AnyText_OutputHasNoRemovedCodePoints() =>
        Prop.ForAll(Texts(), text => RemovedCodePoint(s_sanitizer.Sanitize(text).Text) is null);

    [Property(MaxTest = 200)]
    public Property Sanitize_AnyTextWithSmallCap_StaysWithinCapAndIdempotent() =>
        Prop.ForAll(Texts(), text =>
        {
            string once = s_sanitizer.Sanitize(text, 64).Text;
            return once.Length <= 64 && s_sanitizer.Sanitize(once, 64).Text == once;
        });

    [Fact]
    public void Sanitize_ZwjKeptOnlyBecauseOfAContextLaterRemoved_SecondPassChangesNothing()
    {
        // Found by the small-cap property (seed 7691600169449543074,8528597660953104217): the first pass kept a ZWJ
        // after "1\uFE0F" because of what followed it before other characters were removed.
        string text = "](http://evil.example/?q=\u200D)\uDB40\uDC671\u00AD\uFE0F\u001B[-\u009D<img src=http://e.example/x?d=1>"
            + "\u001B\u0085\u200D\uFE0F\u0007\u00AD\u009B<\u0085\u0009\u0007>\n-</span>)<=]0";

        string once = s_sanitizer.Sanitize(text, 64).Text;

        Assert.Equal(once, s_sanitizer.Sanitize(once, 64).Text);
    }

    /// <summary>The first code point that the sanitizer always removes (outside its kept contexts), or null.</summary>
    internal static string? RemovedCodePoint(string s)
    {
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == '\r' && (i + 1 >= s.Length || s[i + 1] != '\n'))
            {
                return "lone CR";
            }

            if ((c < 0x20 && c is not ('\n' or '\t' or '\r')) || c is >= '\u007F' and <= '\u009F')
            {
                return $"control U+{(int)c:X4}";
            }

            if (c is '\u200B' or '\u2060' or '\uFEFF' or '\u00AD' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069') or (>= '\uE000' and <= '\uF8FF'))
            {
                return $"hidden U+{(int)c:X4}";
            }

            if (char.IsHighSurrogate(c))
            {
                if (i + 1 >= s.Length || !char.IsLowSurrogate(s[i + 1]))
                {
                    return "lone surrogate";
                }

                int cp = char.ConvertToUtf32(c, s[i + 1]);
                if (cp is >= 0xE0000 and <= 0xE007F && !InFlag(s, i))
                {
                    return $"tag U+{cp:X5}";
                }

                if (cp >= 0xF0000)
                {
                    return "private use";
                }

                i++;
            }
            else if (char.IsLowSurrogate(c))
            {
                return "lone surrogate";
            }
        }

        return null;
    }

    private static bool InFlag(string s, int i)
    {
        int j = i;
        while (j >= 2 && char.IsLowSurrogate(s[j - 1]) && char.ConvertToUtf32(s[j - 2], s[j - 1]) is >= 0xE0000 and <= 0xE007F)
        {
            j -= 2;
        }

        return j >= 2 && char.ConvertToUtf32(s[j - 2], s[j - 1]) == 0x1F3F4;
    }

    [Theory]
    [InlineData("<a x='")]
    [InlineData("[")]
    [InlineData("![a](")]
    [InlineData("<!--")]
    [InlineData("\u001B]")]
    [InlineData("<div style='display:none'><div>")]
    [InlineData("[a](http://e.example/ \"")]
    [InlineData("\U0001F600\u200D")]
    [InlineData("[a]:\n")]
    [InlineData("\n[a]: <")]
    [InlineData("![a][")]
    [InlineData("<https://e.example/?")]
    [InlineData("[a](x(")]
    [InlineData("[a](<")]
    [InlineData("[a](x (")]
    [InlineData("](")]
    [InlineData("![a][a]\n[a]: https://e.example/p")]
    [InlineData("\n- > [a]: <https://e.example/?d=1\u27E6")]
    public void Sanitize_PathologicalMegabyte_CompletesWithValidOutput(string unit)
    {
        // Linear-time sanity: 1 MiB of a repeated construct opener; a quadratic scanner would not finish in the test run.
        var sb = new StringBuilder(1 << 20);
        while (sb.Length < 1 << 20)
        {
            sb.Append(unit);
        }

        SanitizedText result = new ContentSanitizer(new SanitizerOptions { MaxBlockChars = 4 << 20 }).Sanitize(sb.ToString());

        Assert.Null(RemovedCodePoint(result.Text));
    }
}
