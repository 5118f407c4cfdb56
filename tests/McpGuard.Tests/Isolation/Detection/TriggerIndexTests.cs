using System.Text;
using FsCheck;
using FsCheck.Fluent;
using McpGuard.Isolation.Detection;

namespace McpGuard.Tests.Isolation.Detection;

/// <summary>
/// The keyword prefilter's q-gram gate must never skip a rule whose keyword occurs: compared with a plain
/// ignore-case substring search over every trigger, on random mixes of keywords, case variants and non-ASCII characters,
/// through both the vectorized gate (eight positions per step, where AVX2 is available) and the one-position gate.
/// </summary>
public sealed class TriggerIndexTests
{
    private static readonly string[] Keywords = InjectionRules.All
        .Where(r => r.Triggers is not null)
        .SelectMany(r => r.Triggers!)
        .Select(t => t.Replace(@"\b", string.Empty, StringComparison.Ordinal))
        .Distinct(StringComparer.Ordinal)
        .ToArray();

    // Each trigger's text with the rules it selects.
    private static readonly (string Keyword, ulong Rules)[] KeywordRules = InjectionRules.All
        .SelectMany((r, i) => (r.Triggers ?? []).Select(t => (Keyword: t.Replace(@"\b", string.Empty, StringComparison.Ordinal), Rule: 1UL << i)))
        .GroupBy(k => k.Keyword, StringComparer.Ordinal)
        .Select(g => (g.Key, g.Aggregate(0UL, (m, k) => m | k.Rule)))
        .ToArray();

    private static readonly Gen<string> Fragment = Gen.OneOf(
        Gen.Elements(Keywords),
        Gen.Elements(Keywords).Select(k => k.ToUpperInvariant()),
        Gen.Elements(Keywords).Select(k => k.Length > 1 ? k[..^1] : k), // almost a keyword: same gram, no match
        Gen.Elements(" ", "_", "a", "x1", "\n", "\u0131", "\u017F", "\u212A", "\u00E9", "\uD800", "\u0000", "İ"),
        Gen.Choose(0, 0xFFFF).Select(i => ((char)i).ToString()));

    private static readonly Arbitrary<string> Texts = Gen.ListOf(Fragment).Select(parts => string.Concat(parts)).ToArbitrary();

    // Mostly ASCII and long, so most blocks take the vectorized gate: keywords (also cut short or in upper case) between
    // filler, with a rare non-ASCII character that sends its block to the one-position gate.
    private static readonly Gen<string> AsciiFragment = Gen.Frequency(
        (4, Gen.Elements("the ", "line 0001: ", "fox jumps over ", ", ", ".\n", "x", "zz", "  ", "\t", "1234567")),
        (2, Gen.Elements(Keywords)),
        (1, Gen.Elements(Keywords).Select(k => k.ToUpperInvariant())),
        (1, Gen.Elements(Keywords).Select(k => k.Length > 1 ? k[..^1] : k)),
        // Non-ASCII, some of them punctuation whose low byte is an ASCII letter (U+2041, U+2061): a gate that looked at
        // the low byte only would take them for letters and miss a keyword that must end at a word end before them.
        (1, Gen.Elements("\u0131", "\u017F", "\u00E9", "\u212A", "\u2014", "\u2041", "\u2061", "\u3001")));

    private static readonly Arbitrary<string> AsciiTexts = Gen.ListOf(AsciiFragment).Select(parts => string.Concat(parts)).ToArbitrary();

    [Fact]
    public void MayMatch_RandomKeywordMixes_SameRulesAsSubstringSearch()
    {
        Prop.ForAll(Texts, text => EveryPath(text) == Reference(text))
            .Check(Config.QuickThrowOnFailure.WithMaxTest(1000));
    }

    [Fact]
    public void MayMatch_LongMostlyAsciiText_SameRulesAsSubstringSearch()
    {
        Prop.ForAll(AsciiTexts, text => EveryPath(text) == Reference(text))
            .Check(Config.QuickThrowOnFailure.WithMaxTest(1000).WithEndSize(300));
    }

    [Fact]
    public void MayMatch_KeywordAtEveryOffset_FoundByEveryPath()
    {
        // Each keyword at every position of a 40-character window, so it falls at every lane of a vector block, across
        // block boundaries and in the one-position tail.
        foreach (string keyword in Keywords)
        {
            for (int offset = 0; offset < 40; offset++)
            {
                string text = new string('.', offset) + keyword + new string(' ', 40 - offset);
                Assert.Equal(Reference(text), EveryPath(text));
                Assert.Equal(Reference(text[..(offset + keyword.Length)]), EveryPath(text[..(offset + keyword.Length)]));
            }
        }
    }

    [Fact]
    public void MayMatch_KeywordAtChunkBoundaries_FoundByEveryPath()
    {
        // The vector gate tests 64 blocks of eight positions per chunk (512 characters) and looks hits up after each
        // chunk. Each keyword around the ends of the first two chunks, behind filler that hits the gate on every line
        // (the "over" of "over the"), with and without a non-ASCII character in the block at the boundary.
        string filler = string.Concat(Enumerable.Repeat("line 0001: the quick brown fox jumps over the lazy dog; 0123456789.\n", 20));
        foreach (int boundary in new[] { 512, 1024 })
        {
            foreach (string keyword in Keywords)
            {
                for (int offset = boundary - 12; offset <= boundary + 4; offset += 2)
                {
                    string text = filler[..offset] + keyword + filler[..40];
                    Assert.Equal(Reference(text), EveryPath(text));
                    string withNonAscii = text[..(boundary - 3)] + "\u00E9" + text[(boundary - 2)..];
                    Assert.Equal(Reference(withNonAscii), EveryPath(withNonAscii));
                }
            }
        }
    }

    [Fact]
    public void MayMatch_KeywordInsideLongAsciiText_FoundByEveryPath()
    {
        // The 512-bit gate filters 64 positions per step in chunks of 512 and only takes a chunk whose characters, and the
        // next 64, are all ASCII: so each keyword (as a word, in two cases) at every offset of the first 64-position group,
        // around the group and chunk boundaries, and with a non-ASCII character in the same chunk (the chunk falls back).
        string filler = string.Concat(Enumerable.Repeat("line 0001: the quick brown fox jumps over the lazy dog; 0123456789.\n", 24));
        int[] offsets = [.. Enumerable.Range(0, 66), .. Enumerable.Range(120, 10), .. Enumerable.Range(500, 16), .. Enumerable.Range(1000, 24)];
        foreach ((string keyword, ulong rules) in KeywordRules.Where(k => Ascii.IsValid(k.Keyword)))
        {
            foreach (string variant in new[] { keyword, keyword.ToUpperInvariant() })
            {
                foreach (int offset in offsets)
                {
                    string text = filler[..offset] + " " + variant + " " + filler[offset..];
                    Assert.Equal(rules, EveryPath(text) & rules);
                    if (offset % 16 == 0)
                    {
                        int after = offset + variant.Length + 5;
                        Assert.Equal(rules, EveryPath(text[..after] + "\u00E9" + text[after..]) & rules);
                    }
                }
            }
        }
    }

    [Fact]
    public void MayMatch_OnlyFillerText_NoRuleBeyondUnconditional()
    {
        // The gate must not let through what is not there (a gate that always hit would pass the other tests).
        string filler = string.Concat(Enumerable.Repeat("line 0001: the quick brown fox jumps over the lazy dog; 0123456789.\n", 64));
        Assert.Equal(InjectionRules.Triggers.Unconditional, EveryPath(filler));
    }

    [Theory]
    [InlineData("IGNORE")]
    [InlineData("iGnOrE")]
    [InlineData("xxignore")]
    [InlineData("![")]
    public void MayMatch_KeywordInAnyCase_RuleSelected(string text)
    {
        Assert.Equal(Reference(text), EveryPath(text));
        Assert.NotEqual(InjectionRules.Triggers.Unconditional, Reference(text)); // the reference itself selects a rule
    }

    [Fact]
    public void Fold_EveryCharacterEqualToAnAsciiCharacterIgnoringCase_FoldsWithIt()
    {
        for (int c = 128; c <= 0xFFFF; c++)
        {
            ReadOnlySpan<char> one = [(char)c];
            int fold = TriggerIndex.Fold((char)c);
            for (char a = 'A'; a <= 'z'; a++)
            {
                if (one.Equals([a], StringComparison.OrdinalIgnoreCase))
                {
                    Assert.Equal(char.ToLowerInvariant(a), fold);
                }
            }
        }
    }

    // The vectorized gates this machine runs (512- and 256-bit, see TriggerIndex.WidestGate) and the one-position gate must
    // agree; returns their common answer.
    private static ulong EveryPath(string text)
    {
        ulong scalar = InjectionRules.Triggers.MayMatch(text, InjectionRules.AllMask, gateBits: 0);
        Assert.Equal(scalar, InjectionRules.Triggers.MayMatch(text, InjectionRules.AllMask, gateBits: 256));
        Assert.Equal(scalar, InjectionRules.Triggers.MayMatch(text, InjectionRules.AllMask, gateBits: 512));
        return scalar;
    }

    // Every trigger occurrence, with the same word-boundary marks, by plain substring search.
    private static ulong Reference(string text)
    {
        ulong found = InjectionRules.Triggers.Unconditional;
        for (int r = 0; r < InjectionRules.All.Count; r++)
        {
            if (InjectionRules.All[r].Triggers is not { } triggers)
            {
                continue;
            }

            foreach (string spec in triggers)
            {
                bool start = spec.StartsWith(@"\b", StringComparison.Ordinal);
                bool end = spec.Length > 2 && spec.EndsWith(@"\b", StringComparison.Ordinal);
                string word = spec[(start ? 2 : 0)..(end ? spec.Length - 2 : spec.Length)];
                for (int i = text.IndexOf(word, StringComparison.OrdinalIgnoreCase); i >= 0; i = text.IndexOf(word, i + 1, StringComparison.OrdinalIgnoreCase))
                {
                    if ((!start || i == 0 || !TriggerIndex.IsWordChar(text[i - 1]))
                        && (!end || i + word.Length >= text.Length || !TriggerIndex.IsWordChar(text[i + word.Length])))
                    {
                        found |= 1UL << r;
                        break;
                    }
                }
            }
        }

        return found;
    }
}
