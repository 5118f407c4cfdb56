using System.Globalization;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace McpGuard.Isolation.Detection;

/// <summary>
/// The keyword prefilter for all rules at once: one pass over the text finds every trigger occurrence and returns the set
/// of rules that may match, so a rule's regex runs only when one of its keywords is really there.
/// </summary>
/// <remarks>
/// <para>A trigger is compared ignoring case (<see cref="StringComparison.OrdinalIgnoreCase"/>). A trigger written as
/// <c>\bword</c> counts only at a word start, <c>word\b</c> only at a word end: a rule uses these marks only where its
/// regex puts a word boundary (or whitespace, or punctuation) there in every alternative the trigger stands for, so the
/// prefilter never skips a rule that could match. "Word character" here is a letter, a decimal digit or a connector
/// (<c>_</c>): a subset of the regex engine's <c>\w</c>, so an occurrence the regex could use is never rejected.</para>
/// <para>ASCII triggers (nearly all of them) are found in one pass with a q-gram gate: at every position the case-folded
/// 2-gram and a hash of the 3-gram are looked up in two small bit tables (2 KB and 8 KB, built from the triggers' first
/// two and three characters), and only a position whose gram is set is compared with the triggers that start with it.
/// A few hundred triggers cost about one table lookup per character; a general multi-string search over that many
/// ignore-case keywords falls back to a scalar automaton several times slower. The folding is conservative for
/// <see cref="StringComparison.OrdinalIgnoreCase"/> against ASCII: ASCII letters fold to lower case, U+0131 (dotless i) and
/// U+017F (long s), whose Unicode upper case is an ASCII letter, fold with it (ordinal ignore-case does not equate them
/// today; a test pins that no other character could), and every other non-ASCII character folds to a value no trigger
/// has. A gate hit is then confirmed with the ordinal ignore-case comparison itself. Triggers with other characters are searched one
/// by one, and only in text that is not pure ASCII. Linear in the input length. Immutable and thread-safe.</para>
/// </remarks>
internal sealed class TriggerIndex
{
    private const int HashBits = 16; // 65,536-bit gates: 8 KB each

    private static readonly byte[] s_fold = BuildFold();

    private readonly ulong[] _gate3 = new ulong[(1 << HashBits) / 64];
    private readonly ulong[] _gate4 = new ulong[(1 << HashBits) / 64];
    private readonly Dictionary<int, Trigger[]> _byGram3;
    private readonly Dictionary<int, Trigger[]> _byGram4;
    private readonly Trigger[] _otherTriggers;
    private readonly ulong _asciiRules;

    /// <summary>Builds the index. Rules without triggers are always in <see cref="Unconditional"/>.</summary>
    public TriggerIndex(IReadOnlyList<PatternRule> rules)
    {
        if (rules.Count > 64)
        {
            throw new ArgumentException("At most 64 rules.", nameof(rules));
        }

        var byText = new Dictionary<(string Text, bool Start, bool End), ulong>();
        for (int r = 0; r < rules.Count; r++)
        {
            if (rules[r].Triggers is not { } triggers)
            {
                Unconditional |= 1UL << r;
                continue;
            }

            foreach (string spec in triggers)
            {
                (string text, bool start, bool end) = Parse(spec);
                byText.TryGetValue((text, start, end), out ulong mask);
                byText[(text, start, end)] = mask | (1UL << r);
            }
        }

        var all = byText.Select(kv => new Trigger(kv.Key.Text, kv.Key.Start, kv.Key.End, kv.Value)).ToArray();
        _otherTriggers = [.. all.Where(t => !Ascii.IsValid(t.Text))];

        // Every value a text character can fold to; a character after a two-character trigger may be any of them (or
        // only a non-word one, when the trigger must end at a word end). 0 also stands for the end of the text.
        int[] anyFolded = [.. s_fold.Select(f => (int)f).Distinct()];
        int[] nonWordFolded = [.. anyFolded.Where(f => f == 0 || !IsWordChar((char)f))];
        var gram3 = new Dictionary<int, List<Trigger>>();
        var gram4 = new Dictionary<int, List<Trigger>>();
        foreach (Trigger t in all.Where(t => Ascii.IsValid(t.Text)))
        {
            _asciiRules |= t.Rules;
            int g2 = (s_fold[t.Text[0]] << 7) | s_fold[t.Text[1]];
            if (t.Text.Length >= 4)
            {
                Add(_gate4, gram4, Hash4((((g2 << 7) | s_fold[t.Text[2]]) << 7) | s_fold[t.Text[3]]), t);
            }
            else if (t.Text.Length == 3)
            {
                Add(_gate3, gram3, Hash3((g2 << 7) | s_fold[t.Text[2]]), t);
            }
            else
            {
                foreach (int next in t.EndsAtWordEnd ? nonWordFolded : anyFolded)
                {
                    Add(_gate3, gram3, Hash3((g2 << 7) | next), t);
                }
            }
        }

        _byGram3 = gram3.ToDictionary(kv => kv.Key, kv => kv.Value.Distinct().ToArray());
        _byGram4 = gram4.ToDictionary(kv => kv.Key, kv => kv.Value.Distinct().ToArray());

        static void Add(ulong[] gate, Dictionary<int, List<Trigger>> map, int hash, Trigger t)
        {
            gate[hash >> 6] |= 1UL << hash;
            if (!map.TryGetValue(hash, out List<Trigger>? list))
            {
                map[hash] = list = [];
            }

            list.Add(t);
        }
    }

    /// <summary>Rules that have no triggers and always run.</summary>
    public ulong Unconditional { get; }

    /// <summary>The rules (bit <c>i</c> = rule <c>i</c>) among <paramref name="wanted"/> that may match <paramref name="text"/>.</summary>
    public ulong MayMatch(ReadOnlySpan<char> text, ulong wanted)
    {
        ulong found = Unconditional & wanted;
        if (found == wanted)
        {
            return found;
        }

        if ((_asciiRules & wanted & ~found) != 0 && text.Length >= 2)
        {
            found = ScanAscii(text, wanted, found);
            if (found == wanted)
            {
                return found;
            }
        }

        if (_otherTriggers.Length > 0 && !Ascii.IsValid(text))
        {
            foreach (Trigger t in _otherTriggers)
            {
                if ((t.Rules & wanted & ~found) != 0 && t.Occurs(text))
                {
                    found |= t.Rules & wanted;
                }
            }
        }

        return found;
    }

    /// <summary>
    /// One pass with a rolling window of the last four folded characters: at window end <c>j</c> the 3-gram starting at
    /// <c>j - 2</c> and the 4-gram starting at <c>j - 3</c> are looked up in their gates. A virtual end character (0)
    /// follows the text, so a two-character trigger at the very end is seen too.
    /// </summary>
    private ulong ScanAscii(ReadOnlySpan<char> text, ulong wanted, ulong found)
    {
        ref ulong gate3 = ref MemoryMarshal.GetArrayDataReference(_gate3);
        ref ulong gate4 = ref MemoryMarshal.GetArrayDataReference(_gate4);
        ref byte fold = ref MemoryMarshal.GetArrayDataReference(s_fold);
        ref char chars = ref MemoryMarshal.GetReference(text);
        uint window = 0;
        for (int j = 0; j < text.Length; j++)
        {
            uint c = Unsafe.Add(ref chars, j);
            window = (window << 7) | (c < 128 ? Unsafe.Add(ref fold, (nint)c) : c == '\u0131' ? 'i' : c == '\u017F' ? 's' : 0u);
            int h3 = Hash3((int)(window & 0x1FFFFF));
            int h4 = Hash4((int)(window & 0xFFFFFFF));
            ulong hit3 = Unsafe.Add(ref gate3, h3 >> 6) >> h3;
            ulong hit4 = Unsafe.Add(ref gate4, h4 >> 6) >> h4;
            if (((hit3 | hit4) & 1) != 0 && OnGateHit(text, j, (hit3 & 1) != 0 ? h3 : -1, (hit4 & 1) != 0 ? h4 : -1, wanted, ref found))
            {
                return found;
            }
        }

        // The virtual end character: a two-character trigger at the very end of the text.
        window <<= 7;
        int h3End = Hash3((int)(window & 0x1FFFFF));
        if (((_gate3[h3End >> 6] >> h3End) & 1) != 0)
        {
            OnGateHit(text, text.Length, h3End, -1, wanted, ref found);
        }

        return found;
    }

    /// <summary>
    /// The rare path: the 3-gram (<paramref name="h3"/>) and/or the 4-gram (<paramref name="h4"/>) ending at
    /// <paramref name="j"/> is set in its gate (-1: not set); <see langword="true"/> when every wanted rule is found.
    /// </summary>
    private bool OnGateHit(ReadOnlySpan<char> text, int j, int h3, int h4, ulong wanted, ref ulong found) =>
        (h3 >= 0 && j >= 2 && Verify(_byGram3[h3], text, j - 2, wanted, ref found))
        || (h4 >= 0 && j >= 3 && Verify(_byGram4[h4], text, j - 3, wanted, ref found));

    /// <summary>Compares the triggers of one gram at <paramref name="pos"/>; <see langword="true"/> when every wanted rule is found.</summary>
    private static bool Verify(Trigger[] bucket, ReadOnlySpan<char> text, int pos, ulong wanted, ref ulong found)
    {
        foreach (Trigger t in bucket)
        {
            if ((t.Rules & wanted & ~found) != 0 && t.MatchesAt(text, pos))
            {
                found |= t.Rules & wanted;
            }
        }

        return found == wanted;
    }

    /// <summary>The gate's case folding of one character (see the remarks); 0 for characters no trigger character equals.</summary>
    internal static int Fold(char c) => c < 128 ? s_fold[c] : c == '\u0131' ? 'i' : c == '\u017F' ? 's' : 0;

    private static int Hash3(int gram) => (int)((uint)gram * 2654435761u >> (32 - HashBits));

    private static int Hash4(int gram) => (int)((uint)gram * 2246822519u >> (32 - HashBits));

    private static byte[] BuildFold()
    {
        var fold = new byte[128];
        for (int c = 1; c < 128; c++)
        {
            fold[c] = (byte)(c is >= 'A' and <= 'Z' ? c + 32 : c);
        }

        return fold;
    }

    private static (string Text, bool Start, bool End) Parse(string spec)
    {
        bool start = spec.StartsWith(@"\b", StringComparison.Ordinal);
        bool end = spec.Length > 2 && spec.EndsWith(@"\b", StringComparison.Ordinal);
        string text = spec[(start ? 2 : 0)..(end ? spec.Length - 2 : spec.Length)];
        if (text.Length == 0 || (start && !IsWordChar(text[0])) || (end && !IsWordChar(text[^1])))
        {
            throw new ArgumentException($"Invalid trigger '{spec}': a boundary mark needs a word character next to it.", nameof(spec));
        }

        return (text, start, end);
    }

    // A subset of the regex engine's \w (letters, decimal digits, connector punctuation).
    internal static bool IsWordChar(char c) => char.GetUnicodeCategory(c) switch
    {
        UnicodeCategory.UppercaseLetter or UnicodeCategory.LowercaseLetter or UnicodeCategory.TitlecaseLetter
            or UnicodeCategory.ModifierLetter or UnicodeCategory.OtherLetter or UnicodeCategory.DecimalDigitNumber
            or UnicodeCategory.ConnectorPunctuation => true,
        _ => false,
    };

    private sealed class Trigger(string text, bool start, bool end, ulong rules)
    {
        public string Text { get; } = text;

        public bool EndsAtWordEnd { get; } = end;

        public ulong Rules { get; } = rules;

        public bool MatchesAt(ReadOnlySpan<char> s, int pos) =>
            s[pos..].StartsWith(Text, StringComparison.OrdinalIgnoreCase) && BoundariesHold(s, pos);

        public bool Occurs(ReadOnlySpan<char> s)
        {
            int from = 0;
            while (from < s.Length)
            {
                int i = s[from..].IndexOf(Text, StringComparison.OrdinalIgnoreCase);
                if (i < 0)
                {
                    return false;
                }

                if (BoundariesHold(s, from + i))
                {
                    return true;
                }

                from += i + 1;
            }

            return false;
        }

        private bool BoundariesHold(ReadOnlySpan<char> s, int pos) =>
            (!start || pos == 0 || !IsWordChar(s[pos - 1]))
            && (!EndsAtWordEnd || pos + Text.Length >= s.Length || !IsWordChar(s[pos + Text.Length]));
    }
}
