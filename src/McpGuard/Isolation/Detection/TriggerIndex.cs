using System.Buffers;
using System.Globalization;
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
/// <para>On .NET 9 and later the occurrences are found with one vectorized multi-string search
/// (<see cref="SearchValues{T}"/> of strings); on .NET 8 with one substring search per trigger. Linear in the input
/// length either way. Immutable and thread-safe.</para>
/// </remarks>
internal sealed class TriggerIndex
{
    private readonly Trigger[] _asciiTriggers;
    private readonly Trigger[] _otherTriggers;
    private readonly Dictionary<char, Trigger[]> _byFirstChar;
#if NET9_0_OR_GREATER
    private readonly SearchValues<string>? _asciiSearch;
#endif

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
        _asciiTriggers = [.. all.Where(t => Ascii.IsValid(t.Text))];
        _otherTriggers = [.. all.Where(t => !Ascii.IsValid(t.Text))];
        _byFirstChar = _asciiTriggers.GroupBy(t => char.ToLowerInvariant(t.Text[0])).ToDictionary(g => g.Key, g => g.ToArray());
#if NET9_0_OR_GREATER
        _asciiSearch = _asciiTriggers.Length == 0 ? null : SearchValues.Create([.. _asciiTriggers.Select(t => t.Text).Distinct(StringComparer.OrdinalIgnoreCase)], StringComparison.OrdinalIgnoreCase);
#endif
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

#if NET9_0_OR_GREATER
        if (_asciiSearch is not null)
        {
            int pos = 0;
            while (pos < text.Length)
            {
                int next = text[pos..].IndexOfAny(_asciiSearch);
                if (next < 0)
                {
                    break;
                }

                pos += next;
                if (_byFirstChar.TryGetValue(char.ToLowerInvariant(text[pos]), out Trigger[]? bucket))
                {
                    foreach (Trigger t in bucket)
                    {
                        if ((t.Rules & wanted & ~found) != 0 && t.MatchesAt(text, pos))
                        {
                            found |= t.Rules & wanted;
                        }
                    }

                    if (found == wanted)
                    {
                        return found;
                    }
                }

                pos++;
            }
        }
#else
        foreach (Trigger t in _asciiTriggers)
        {
            if ((t.Rules & wanted & ~found) != 0 && t.Occurs(text))
            {
                found |= t.Rules & wanted;
            }
        }
#endif

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
            && (!end || pos + Text.Length >= s.Length || !IsWordChar(s[pos + Text.Length]));
    }
}
