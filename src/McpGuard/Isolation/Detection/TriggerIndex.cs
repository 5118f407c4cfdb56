using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
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
/// <para>ASCII triggers (nearly all of them) are found in one pass with a q-gram gate: the case-folded 4-gram starting at
/// every position (one byte per character, packed in a 32-bit value) is hashed into a 1,048,576-bit table (128 KB) built
/// from the triggers' first four characters. A three-character trigger sets the bit of every 4-gram it can begin (any
/// fourth character, or only a non-word one when it must end at a word end); a two-character trigger that must end at a
/// word end sets every non-word third character and any fourth. Only a position whose bit is set is looked up by its
/// exact 4-gram and compared with the triggers that start with it. With AVX2 the gate tests eight positions per step (a
/// byte shuffle builds the eight 4-grams from sixteen characters, a gather reads their table words); a block with a
/// non-ASCII character, the last few positions and machines without AVX2 take the same test one position at a time.
/// With AVX-512 VBMI, a chunk of ASCII text first passes two filters held in vector registers, 64 positions per step, and
/// only the positions they pass (6–12 % of the benchmark texts') read a table (see <see cref="ScanChunkVbmi"/>).
/// A few hundred ignore-case keywords cost a fraction of a nanosecond per character; a general multi-string search over
/// that many falls back to a scalar automaton many times slower.</para>
/// <para>The folding is conservative for <see cref="StringComparison.OrdinalIgnoreCase"/> against ASCII: ASCII letters
/// fold to lower case, U+0131 (dotless i) and U+017F (long s), whose Unicode upper case is an ASCII letter, fold with it
/// (ordinal ignore-case does not equate them today; a test pins that no other character could), and every other
/// non-ASCII character folds to 0, a value no trigger character has; positions past the end also read as 0. A gate hit
/// is confirmed with the ordinal ignore-case comparison itself. Two-character triggers without an end mark (punctuation
/// such as <c>&lt;|</c>) are searched by themselves with the vectorized span search; triggers with non-ASCII characters
/// one by one, and only in text that is not pure ASCII. Linear in the input length. Immutable and thread-safe.</para>
/// </remarks>
internal sealed partial class TriggerIndex
{
    private const int GateBits = 20; // 1,048,576 bits: 128 KB
    private const uint HashMultiplier = 2654435761u; // Knuth's multiplicative hash (golden ratio × 2^32)
    private const int ChunkBlocks = 64; // blocks of eight positions per chunk of the vector gate (one hit byte each)

    private static readonly byte[] s_fold = BuildFold();

    private readonly uint[] _gate = new uint[(1 << GateBits) / 32];
    // Exact 4-gram → triggers that start with it: open addressing (linear probing) over a power-of-two table at most
    // half full, keyed by the same multiplicative hash as the gate (its top bits). A slot with a null bucket is empty.
    private readonly uint[] _gramKeys;
    private readonly Trigger[]?[] _gramBuckets;
    private readonly int _gramShift;
    private readonly Trigger[] _pairTriggers;
    private readonly Trigger[] _otherTriggers;
    private readonly ulong _gateRules;

    /// <summary>Builds the index. Rules without triggers are always in <see cref="Unconditional"/>.</summary>
    /// <exception cref="ArgumentException">More than 64 rules, or a malformed trigger.</exception>
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

        var all = byText.Select((kv, id) => new Trigger(id, kv.Key.Text, kv.Key.Start, kv.Key.End, kv.Value)).ToArray();
        _otherTriggers = [.. all.Where(t => !Ascii.IsValid(t.Text))];
        _pairTriggers = [.. all.Where(t => Ascii.IsValid(t.Text) && t.Text.Length == 2 && !t.EndsAtWordEnd)];

        // Every value a text character (or a position past the end, 0) can fold to; after a trigger that must end at a
        // word end, only the non-word ones.
        uint[] anyFolded = [.. s_fold.Select(f => (uint)f).Distinct()];
        uint[] nonWordFolded = [.. anyFolded.Where(f => f == 0 || !IsWordChar((char)f))];
        var byGram = new Dictionary<uint, List<Trigger>>();
        foreach (Trigger t in all.Where(t => Ascii.IsValid(t.Text) && !_pairTriggers.Contains(t)))
        {
            _gateRules |= t.Rules;
            uint prefix = 0;
            for (int k = 0; k < Math.Min(4, t.Text.Length); k++)
            {
                prefix |= (uint)s_fold[t.Text[k]] << (8 * k);
            }

            uint[] third = t.Text.Length >= 3 ? [0] : nonWordFolded; // a two-character trigger here always ends at a word end
            uint[] fourth = t.Text.Length >= 4 ? [0] : t.Text.Length == 3 && t.EndsAtWordEnd ? nonWordFolded : anyFolded;
            foreach (uint c3 in third)
            {
                foreach (uint c4 in fourth)
                {
                    uint gram = prefix | (c3 << 16) | (c4 << 24);
                    uint h = Hash(gram);
                    _gate[h >> 5] |= 1u << (int)(h & 31);
                    if (!byGram.TryGetValue(gram, out List<Trigger>? list))
                    {
                        byGram[gram] = list = [];
                    }

                    list.Add(t);
                }
            }
        }

        _filters = WidestGate == 512 ? new VbmiFilters(byGram.Keys) : default; // about 33 KB, only where they run

        // Many grams share one trigger list (the enumerated third and fourth characters): share the arrays too.
        var shared = new Dictionary<string, Trigger[]>(StringComparer.Ordinal);
        int slots = (int)BitOperations.RoundUpToPowerOf2((uint)Math.Max(2 * byGram.Count, 2));
        _gramShift = 32 - BitOperations.Log2((uint)slots);
        _gramKeys = new uint[slots];
        _gramBuckets = new Trigger[]?[slots];
        foreach ((uint gram, List<Trigger> list) in byGram)
        {
            Trigger[] bucket = [.. list.Distinct()];
            string key = string.Join(',', bucket.Select(t => t.Id));
            if (!shared.TryGetValue(key, out Trigger[]? same))
            {
                shared[key] = same = bucket;
            }

            int slot = (int)((gram * HashMultiplier) >> _gramShift);
            while (_gramBuckets[slot] is not null)
            {
                slot = (slot + 1) & (slots - 1);
            }

            _gramKeys[slot] = gram;
            _gramBuckets[slot] = same;
        }
    }

    /// <summary>Rules that have no triggers and always run.</summary>
    public ulong Unconditional { get; }

    /// <summary>The widest gate this machine runs: 512 (AVX-512 VBMI and BW, see <see cref="ScanChunkVbmi"/>), 256 (AVX2) or
    /// 0 (one position at a time).</summary>
    internal static int WidestGate { get; } = Avx512Vbmi.IsSupported && Avx512BW.IsSupported && Avx2.IsSupported ? 512 : Avx2.IsSupported ? 256 : 0;

    /// <summary>The rules (bit <c>i</c> = rule <c>i</c>) among <paramref name="wanted"/> that may match <paramref name="text"/>.</summary>
    public ulong MayMatch(ReadOnlySpan<char> text, ulong wanted) => MayMatch(text, wanted, WidestGate);

    /// <summary>As <see cref="MayMatch(ReadOnlySpan{char}, ulong)"/> with the gate at most <paramref name="gateBits"/> wide
    /// (512, 256 or 0, capped at <see cref="WidestGate"/>): tests and benchmarks compare the paths.</summary>
    internal ulong MayMatch(ReadOnlySpan<char> text, ulong wanted, int gateBits)
    {
        gateBits = Math.Min(gateBits, WidestGate);
        ulong found = Unconditional & wanted;
        if (found == wanted)
        {
            return found;
        }

        foreach (Trigger t in _pairTriggers)
        {
            if ((t.Rules & wanted & ~found) != 0 && t.Occurs(text))
            {
                found |= t.Rules & wanted;
            }
        }

        if ((_gateRules & wanted & ~found) != 0 && text.Length >= 2)
        {
            int from = gateBits > 0 ? ScanGateVector(text, wanted, gateBits == 512, ref found) : 0;
            if (from >= 0 && found != wanted)
            {
                ScanGate(text, from, text.Length - 1, wanted, ref found);
            }

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
    /// The gate at positions <c>0, 8, 16, …</c> in blocks of eight while sixteen characters remain: returns the first
    /// position not yet tested, or -1 when every wanted rule is found. A block with a non-ASCII character is tested by
    /// <see cref="ScanGate"/>.
    /// </summary>
    /// <remarks>Chunks of <see cref="ChunkBlocks"/> blocks: with <paramref name="vbmi"/>, <see cref="ScanChunkVbmi"/> takes a
    /// chunk whose characters (and the next <see cref="VbmiLookahead"/>) are all ASCII; otherwise
    /// <see cref="GateChunkAvx2"/> records the chunk's hit bits, then <see cref="OnChunkHits"/> looks the hits up.</remarks>
    [SkipLocalsInit]
    private unsafe int ScanGateVector(ReadOnlySpan<char> text, ulong wanted, bool vbmi, ref ulong found)
    {
        byte* hitBits = stackalloc byte[ChunkBlocks];
        byte* classes = stackalloc byte[VbmiClassBytes];
        int p = 0;
        fixed (char* chars = text)
        fixed (uint* gate = _gate)
        {
            while (p + 16 <= text.Length)
            {
                if (vbmi && p + (8 * ChunkBlocks) + VbmiLookahead <= text.Length)
                {
                    int scanned = ScanChunkVbmi(text, (ushort*)chars + p, p, classes, wanted, ref found);
                    if (scanned < 0)
                    {
                        return -1;
                    }

                    if (scanned > 0)
                    {
                        p += scanned;
                        continue;
                    }
                }

                int blocks = Math.Min(ChunkBlocks, ((text.Length - 16 - p) / 8) + 1);
                (uint anyHit, ulong nonAsciiBlocks) = GateChunkAvx2((ushort*)chars + p, blocks, gate, hitBits);
                if ((anyHit | nonAsciiBlocks) != 0 && OnChunkHits(text, p, blocks, hitBits, nonAsciiBlocks, wanted, ref found))
                {
                    return -1;
                }

                p += 8 * blocks;
            }
        }

        return p;
    }

    /// <summary>
    /// Tests <paramref name="blocks"/> blocks of eight positions starting at <paramref name="chars"/> (each block reads
    /// sixteen characters): writes each block's hit bits to <paramref name="hitBits"/> and returns the OR of all hit bits
    /// and the bit set of blocks that were not all ASCII (their hit bytes are 0; <see cref="ScanGate"/> tests them).
    /// </summary>
    /// <remarks>Calls nothing, so its constants stay in registers: every vector register is caller-saved in the System V
    /// ABI, and a call inside the loop (even on its rare path) made the JIT reload them from the stack on every step.</remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe (uint AnyHit, ulong NonAsciiBlocks) GateChunkAvx2(ushort* chars, int blocks, uint* gate, byte* hitBits)
    {
        // Lane k of each 128-bit half gathers bytes k..k+3 (low half: positions 0-3, high half: positions 4-7).
        Vector256<byte> grams = Vector256.Create((byte)0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6, 4, 5, 6, 7, 5, 6, 7, 8, 6, 7, 8, 9, 7, 8, 9, 10);
        Vector128<ushort> nonAscii = Vector128.Create((ushort)0xFF80);
        Vector128<byte> upperA = Vector128.Create((byte)'A');
        Vector128<byte> letters = Vector128.Create((byte)26);
        Vector128<byte> caseBit = Vector128.Create((byte)0x20);
        Vector256<uint> bitIndex = Vector256.Create(31u);
        ulong nonAsciiBlocks = 0;
        uint anyHit = 0;
        for (int k = 0; k < blocks; k++, chars += 8)
        {
            Vector128<ushort> lo = Vector128.Load(chars);
            Vector128<ushort> hi = Vector128.Load(chars + 8);
            if (((lo | hi) & nonAscii) != Vector128<ushort>.Zero)
            {
                nonAsciiBlocks |= 1UL << k;
                hitBits[k] = 0;
                continue;
            }

            Vector128<byte> b = Vector128.Narrow(lo, hi);
            b |= Vector128.LessThan(b - upperA, letters) & caseBit; // ASCII upper case to lower case
            Vector256<uint> gram = Avx2.Shuffle(Vector256.Create(b, b), grams).AsUInt32(); // lane j: the 4-gram at chars + j
            Vector256<uint> h = Vector256.ShiftRightLogical(gram * HashMultiplier, 32 - GateBits);
            Vector256<uint> words = Avx2.GatherVector256(gate, Vector256.ShiftRightLogical(h, 5).AsInt32(), 4);
            uint hits = Vector256.ExtractMostSignificantBits(Avx2.ShiftLeftLogicalVariable(words, bitIndex - (h & bitIndex)));
            hitBits[k] = (byte)hits;
            anyHit |= hits;
        }

        return (anyHit, nonAsciiBlocks);
    }

    /// <summary>The rare path of <see cref="ScanGateVector"/>: looks up one chunk's hits in order; non-ASCII blocks take
    /// <see cref="ScanGate"/>. <see langword="true"/> when every wanted rule is found.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private unsafe bool OnChunkHits(ReadOnlySpan<char> text, int chunk, int blocks, byte* hitBits, ulong nonAsciiBlocks, ulong wanted, ref ulong found)
    {
        for (int k = 0; k < blocks; k++)
        {
            int block = chunk + (8 * k);
            if ((nonAsciiBlocks & (1UL << k)) != 0)
            {
                if (ScanGate(text, block, block + 8, wanted, ref found))
                {
                    return true;
                }

                continue;
            }

            for (uint hits = hitBits[k]; hits != 0; hits &= hits - 1)
            {
                int pos = block + BitOperations.TrailingZeroCount(hits);
                if (OnGateHit(text, pos, FoldedAsciiWindow(text, pos), wanted, ref found))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>
    /// The gate at positions <paramref name="from"/> to <paramref name="to"/> (exclusive), one at a time, with a rolling
    /// window of four folded characters; <see langword="true"/> when every wanted rule is found.
    /// </summary>
    private bool ScanGate(ReadOnlySpan<char> text, int from, int to, ulong wanted, ref ulong found)
    {
        ref uint gate = ref MemoryMarshal.GetArrayDataReference(_gate);
        uint window = (FoldAt(text, from) << 8) | (FoldAt(text, from + 1) << 16) | (FoldAt(text, from + 2) << 24);
        for (int p = from; p < to; p++)
        {
            window = (window >> 8) | (FoldAt(text, p + 3) << 24);
            uint h = Hash(window);
            if (((Unsafe.Add(ref gate, (nint)(h >> 5)) >> (int)(h & 31)) & 1) != 0 && OnGateHit(text, p, Folded8(text, p), wanted, ref found))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The rare path: the 4-gram at <paramref name="pos"/> is set in the gate. <paramref name="folded8"/> holds
    /// the folded characters at <c>pos</c> to <c>pos + 7</c> (one byte each, 0 past the end; its low four bytes are the
    /// 4-gram). A trigger whose folded prefix differs cannot match (the folding is conservative) and is skipped without
    /// the ignore-case comparison. <see langword="true"/> when every wanted rule is found.</summary>
    private bool OnGateHit(ReadOnlySpan<char> text, int pos, ulong folded8, ulong wanted, ref ulong found)
    {
        uint gram = (uint)folded8;
        int mask = _gramKeys.Length - 1;
        int slot = (int)((gram * HashMultiplier) >> _gramShift);
        Trigger[]? bucket;
        while ((bucket = _gramBuckets[slot]) is not null && _gramKeys[slot] != gram)
        {
            slot = (slot + 1) & mask;
        }

        if (bucket is null)
        {
            return false; // a gate hash collision: no trigger starts with this 4-gram
        }

        foreach (Trigger t in bucket)
        {
            if ((t.Rules & wanted & ~found) != 0 && (folded8 & t.Mask8) == t.Prefix8 && t.MatchesAt(text, pos))
            {
                found |= t.Rules & wanted;
            }
        }

        return found == wanted;
    }

    /// <summary><see cref="Folded8"/> for a position whose eight characters are known to be ASCII (a block the AVX2 gate
    /// tested: its sixteen characters were ASCII and <paramref name="pos"/> is among its first eight; or a position of a
    /// chunk the AVX-512 gate took, whose characters and the next 64 were ASCII).</summary>
    private static ulong FoldedAsciiWindow(ReadOnlySpan<char> text, int pos)
    {
        Vector128<ushort> chars = Vector128.Create(MemoryMarshal.Cast<char, ushort>(text.Slice(pos, 8)));
        Vector128<byte> b = Vector128.Narrow(chars, chars);
        b |= Vector128.LessThan(b - Vector128.Create((byte)'A'), Vector128.Create((byte)26)) & Vector128.Create((byte)0x20);
        return b.AsUInt64().ToScalar();
    }

    private static ulong Folded8(ReadOnlySpan<char> text, int pos)
    {
        ulong folded = 0;
        for (int k = 0; k < 8; k++)
        {
            folded |= (ulong)FoldAt(text, pos + k) << (8 * k);
        }

        return folded;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint FoldAt(ReadOnlySpan<char> text, int i) => (uint)i < (uint)text.Length ? (uint)Fold(text[i]) : 0u;

    private static uint Hash(uint gram) => gram * HashMultiplier >> (32 - GateBits);

    /// <summary>The gate's case folding of one character (see the remarks); 0 for characters no trigger character equals.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static int Fold(char c) => c < 128 ? s_fold[c] : c == '\u0131' ? 'i' : c == '\u017F' ? 's' : 0;

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

    private sealed class Trigger(int id, string text, bool start, bool end, ulong rules)
    {
        /// <summary>Position in the index's trigger list: identifies a trigger set when buckets are shared.</summary>
        public int Id { get; } = id;

        public string Text { get; } = text;

        public bool StartsAtWordStart { get; } = start;

        public bool EndsAtWordEnd { get; } = end;

        public ulong Rules { get; } = rules;

        /// <summary>The folded first (up to) eight characters, one byte each, and the mask of the bytes that hold them.</summary>
        public ulong Prefix8 { get; } = Pack(text);

        public ulong Mask8 { get; } = PackMask(text);

        private static ulong Pack(string text)
        {
            ulong packed = 0;
            for (int k = 0; k < Math.Min(8, text.Length); k++)
            {
                packed |= (ulong)Fold(text[k]) << (8 * k);
            }

            return packed;
        }

        private static ulong PackMask(string text) => text.Length >= 8 ? ulong.MaxValue : (1UL << (8 * text.Length)) - 1;

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
            (!StartsAtWordStart || pos == 0 || !IsWordChar(s[pos - 1]))
            && (!EndsAtWordEnd || pos + Text.Length >= s.Length || !IsWordChar(s[pos + Text.Length]));
    }
}
