using FsCheck;
using FsCheck.Fluent;
using McpGuard.Isolation.Detection;

namespace McpGuard.Tests.Isolation.Detection;

/// <summary>
/// The keyword prefilter's q-gram gate must never skip a rule whose keyword occurs: compared with a plain
/// ignore-case substring search over every trigger, on random mixes of keywords, case variants and non-ASCII characters.
/// </summary>
public sealed class TriggerIndexTests
{
    private static readonly string[] Keywords = InjectionRules.All
        .Where(r => r.Triggers is not null)
        .SelectMany(r => r.Triggers!)
        .Select(t => t.Replace(@"\b", string.Empty, StringComparison.Ordinal))
        .Distinct(StringComparer.Ordinal)
        .ToArray();

    private static readonly Gen<string> Fragment = Gen.OneOf(
        Gen.Elements(Keywords),
        Gen.Elements(Keywords).Select(k => k.ToUpperInvariant()),
        Gen.Elements(Keywords).Select(k => k.Length > 1 ? k[..^1] : k), // almost a keyword: same gram, no match
        Gen.Elements(" ", "_", "a", "x1", "\n", "\u0131", "\u017F", "\u212A", "\u00E9", "\uD800", "\u0000", "İ"),
        Gen.Choose(0, 0xFFFF).Select(i => ((char)i).ToString()));

    private static readonly Arbitrary<string> Texts = Gen.ListOf(Fragment).Select(parts => string.Concat(parts)).ToArbitrary();

    [Fact]
    public void MayMatch_RandomKeywordMixes_SameRulesAsSubstringSearch()
    {
        Prop.ForAll(Texts, text => InjectionRules.Triggers.MayMatch(text, InjectionRules.AllMask) == Reference(text))
            .Check(Config.QuickThrowOnFailure.WithMaxTest(1000));
    }

    [Theory]
    [InlineData("IGNORE")]
    [InlineData("iGnOrE")]
    [InlineData("xxignore")]
    [InlineData("![")]
    public void MayMatch_KeywordInAnyCase_RuleSelected(string text)
    {
        Assert.Equal(Reference(text), InjectionRules.Triggers.MayMatch(text, InjectionRules.AllMask));
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
