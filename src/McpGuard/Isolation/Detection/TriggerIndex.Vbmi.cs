using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace McpGuard.Isolation.Detection;

/// <summary>
/// The gate's AVX-512 path: register-held filters in front of the 4-gram table, so the table is read only where a trigger
/// can begin.
/// </summary>
/// <remarks>
/// <para>The gather-based gate (<see cref="GateChunkAvx2"/>) reads the 128 KB table at every position, and those reads
/// bound its speed. With AVX-512 VBMI a byte permute looks up sixty-four bytes at once in a table held in one or two vector
/// registers (<c>vpermb</c>, <c>vpermi2b</c>), so two conservative filters run in registers first, 64 positions per step,
/// and only the positions they pass are tested, one at a time:</para>
/// <list type="number">
/// <item>Every character is mapped to a class: each ASCII letter (either case), digit, <c>_</c>, and the punctuation that
/// begins a trigger (<c>-</c>, <c>.</c>, <c>/</c>, <c>~</c>) is a class of its own; every other character is class 0.</item>
/// <item>The bigram filter: a 42 × 42-bit table (252 bytes, four registers) says whether the classes of the characters at
/// <c>p</c> and <c>p + 1</c> begin some 4-gram of the table. Exact on classes.</item>
/// <item>The trigram filter: a 2,048-bit table (256 bytes) keyed by a tabulation hash of the first three classes (three
/// random byte tables, exclusive-or) and the third class's low bits.</item>
/// <item>A position both pass is tested against a 4-gram table keyed by classes (<see cref="VbmiFilters.ClassGate"/>,
/// 32 KB), and where that bit is set it is looked up by its exact folded 4-gram as on the other paths
/// (<see cref="OnGateHit"/>).</item>
/// </list>
/// <para>All three tables are built from the exact 4-gram table's own keys, projected to classes, so a position the
/// 4-gram gate would pass always passes them: the answers are the same as the other paths' (the tests compare them). A
/// chunk with a non-ASCII character takes <see cref="GateChunkAvx2"/>, which handles those blocks one position at a
/// time. On the benchmark texts 6–12 % of the positions pass the two filters.</para>
/// </remarks>
internal sealed partial class TriggerIndex
{
    /// <summary>Characters read past a chunk's last position (its last step reads 66 classes, a gate hit eight characters),
    /// rounded up to one classification step.</summary>
    private const int VbmiLookahead = 64;

    /// <summary>Classes kept per chunk: its positions plus the lookahead.</summary>
    private const int VbmiClassBytes = (8 * ChunkBlocks) + VbmiLookahead;

    private const int ClassCount = 42;
    private const int BigramRowBytes = 6; // 42 bits per row, in six bytes
    private const int ClassGateBits = 18; // 262,144 bits: 32 KB

    private static readonly byte[] s_class = BuildClasses();

    // The classes in two 64-byte halves (indexed by an ASCII character with vpermi2b).
    private static readonly Vector512<byte> s_classLow = Vector512.Create(s_class.AsSpan(0, 64));
    private static readonly Vector512<byte> s_classHigh = Vector512.Create(s_class.AsSpan(64, 64));

    // Per class (indexed by a class with vpermb): its bigram row offset, its column byte and bit, and three random bytes.
    private static readonly Vector512<byte> s_rowOffset = ClassTable(c => (byte)(c * BigramRowBytes));
    private static readonly Vector512<byte> s_columnByte = ClassTable(c => (byte)(c >> 3));
    private static readonly Vector512<byte> s_columnBit = ClassTable(c => (byte)(1 << (c & 7)));
    private static readonly Vector512<byte> s_hash0 = ClassTable(c => RandomByte(0, c));
    private static readonly Vector512<byte> s_hash1 = ClassTable(c => RandomByte(1, c));
    private static readonly Vector512<byte> s_hash2 = ClassTable(c => RandomByte(2, c));

    private readonly VbmiFilters _filters;

    /// <summary>
    /// The gate over the chunk of <c>8 × <see cref="ChunkBlocks"/></c> positions at <paramref name="start"/> (the caller
    /// guarantees <see cref="VbmiLookahead"/> more characters): returns the positions scanned, 0 when the chunk is not all
    /// ASCII (the caller takes <see cref="GateChunkAvx2"/>), or -1 when every wanted rule is found.
    /// </summary>
    private unsafe int ScanChunkVbmi(ReadOnlySpan<char> text, ushort* chars, int start, byte* classes, ulong wanted, ref ulong found)
    {
        if (!ClassifyChunk(chars, classes))
        {
            return 0;
        }

        uint[] classGate = _filters.ClassGate;

        for (int group = 0; group < 8 * ChunkBlocks; group += 64)
        {
            for (ulong candidates = Candidates(classes + group, in _filters); candidates != 0; candidates &= candidates - 1)
            {
                int at = group + BitOperations.TrailingZeroCount(candidates);
                uint h = ClassHash(Unsafe.ReadUnaligned<uint>(classes + at));
                if (((classGate[h >> 5] >> (int)(h & 31)) & 1) != 0
                    && OnGateHit(text, start + at, FoldedAsciiWindow(text, start + at), wanted, ref found))
                {
                    return -1;
                }
            }
        }

        return 8 * ChunkBlocks;
    }

    /// <summary>Classifies <see cref="VbmiClassBytes"/> characters; <see langword="false"/> when one of them is not
    /// ASCII.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static unsafe bool ClassifyChunk(ushort* chars, byte* classes)
    {
        Vector512<ushort> nonAscii = Vector512.Create((ushort)0xFF80);
        Vector512<byte> classLow = s_classLow, classHigh = s_classHigh;
        for (int i = 0; i < VbmiClassBytes; i += 64)
        {
            Vector512<ushort> a = Vector512.Load(chars + i);
            Vector512<ushort> b = Vector512.Load(chars + i + 32);
            if (((a | b) & nonAscii) != Vector512<ushort>.Zero)
            {
                return false;
            }

            Vector512<byte> bytes = Vector512.Create(Avx512BW.ConvertToVector256Byte(a), Avx512BW.ConvertToVector256Byte(b));
            Avx512Vbmi.PermuteVar64x8x2(classLow, bytes, classHigh).Store(classes + i);
        }

        return true;
    }

    /// <summary>The 64 positions at <paramref name="classes"/> (bit <c>i</c> = position <c>i</c>) that pass both filters.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe ulong Candidates(byte* classes, in VbmiFilters filters)
    {
        Vector512<byte> c0 = Vector512.Load(classes);
        Vector512<byte> c1 = Vector512.Load(classes + 1);
        Vector512<byte> c2 = Vector512.Load(classes + 2);

        Vector512<byte> row = Avx512Vbmi.PermuteVar64x8(s_rowOffset, c0) + Avx512Vbmi.PermuteVar64x8(s_columnByte, c1);
        Vector512<byte> bigram = Lookup256(filters.Bigrams0, filters.Bigrams1, filters.Bigrams2, filters.Bigrams3, row)
            & Avx512Vbmi.PermuteVar64x8(s_columnBit, c1);

        Vector512<byte> key = Avx512Vbmi.PermuteVar64x8(s_hash0, c0) ^ Avx512Vbmi.PermuteVar64x8(s_hash1, c1) ^ Avx512Vbmi.PermuteVar64x8(s_hash2, c2);
        Vector512<byte> trigram = Lookup256(filters.Trigrams0, filters.Trigrams1, filters.Trigrams2, filters.Trigrams3, key)
            & Avx512Vbmi.PermuteVar64x8(s_columnBit, c2);

        ulong noBigram = Vector512.Equals(bigram, Vector512<byte>.Zero).ExtractMostSignificantBits();
        ulong noTrigram = Vector512.Equals(trigram, Vector512<byte>.Zero).ExtractMostSignificantBits();
        return ~(noBigram | noTrigram);
    }

    /// <summary>Sixty-four lookups in a 256-byte table held in four registers: two two-register permutes, chosen by the
    /// index's high bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<byte> Lookup256(Vector512<byte> t0, Vector512<byte> t1, Vector512<byte> t2, Vector512<byte> t3, Vector512<byte> index) =>
        Avx512BW.BlendVariable(Avx512Vbmi.PermuteVar64x8x2(t0, index, t1), Avx512Vbmi.PermuteVar64x8x2(t2, index, t3), index);

    private static uint ClassHash(uint classGram) => classGram * HashMultiplier >> (32 - ClassGateBits);

    private static byte[] BuildClasses()
    {
        var classes = new byte[128];
        for (int c = 0; c < 128; c++)
        {
            classes[c] = c switch
            {
                >= 'a' and <= 'z' => (byte)(1 + c - 'a'),
                >= 'A' and <= 'Z' => (byte)(1 + c - 'A'),
                >= '0' and <= '9' => (byte)(27 + c - '0'),
                '_' => 37,
                '-' => 38,
                '.' => 39,
                '/' => 40,
                '~' => 41,
                _ => 0,
            };
        }

        return classes;
    }

    private static Vector512<byte> ClassTable(Func<int, byte> value)
    {
        var table = new byte[64];
        for (int c = 0; c < ClassCount; c++)
        {
            table[c] = value(c);
        }

        return Vector512.Create(table);
    }

    /// <summary>A fixed pseudo-random byte per (table, class): SplitMix64's finalizer, so the filter is the same in every
    /// process.</summary>
    private static byte RandomByte(int table, int c)
    {
        ulong z = (ulong)((table * 64) + c + 1) * 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (byte)(z ^ (z >> 31));
    }

    /// <summary>The bigram and trigram tables (256 bytes each) in 64-byte quarters.</summary>
    private readonly struct VbmiFilters
    {
        public VbmiFilters(IEnumerable<uint> grams)
        {
            var bigrams = new byte[256];
            var trigrams = new byte[256];
            ClassGate = new uint[(1 << ClassGateBits) / 32];
            foreach (uint gram in grams)
            {
                int c0 = s_class[gram & 0x7F], c1 = s_class[(gram >> 8) & 0x7F], c2 = s_class[(gram >> 16) & 0x7F], c3 = s_class[(gram >> 24) & 0x7F];
                bigrams[(c0 * BigramRowBytes) + (c1 >> 3)] |= (byte)(1 << (c1 & 7));
                trigrams[RandomByte(0, c0) ^ RandomByte(1, c1) ^ RandomByte(2, c2)] |= (byte)(1 << (c2 & 7));
                uint h = ClassHash((uint)(c0 | (c1 << 8) | (c2 << 16) | (c3 << 24)));
                ClassGate[h >> 5] |= 1u << (int)(h & 31);
            }

            Bigrams0 = Vector512.Create(bigrams.AsSpan(0, 64));
            Bigrams1 = Vector512.Create(bigrams.AsSpan(64, 64));
            Bigrams2 = Vector512.Create(bigrams.AsSpan(128, 64));
            Bigrams3 = Vector512.Create(bigrams.AsSpan(192, 64));
            Trigrams0 = Vector512.Create(trigrams.AsSpan(0, 64));
            Trigrams1 = Vector512.Create(trigrams.AsSpan(64, 64));
            Trigrams2 = Vector512.Create(trigrams.AsSpan(128, 64));
            Trigrams3 = Vector512.Create(trigrams.AsSpan(192, 64));
        }

        /// <summary>The 4-gram gate keyed by classes instead of folded characters: fewer distinct keys (the characters a
        /// short trigger may be followed by mostly share class 0), so a lower density than the gate's table.</summary>
        public uint[] ClassGate { get; }

        public Vector512<byte> Bigrams0 { get; }

        public Vector512<byte> Bigrams1 { get; }

        public Vector512<byte> Bigrams2 { get; }

        public Vector512<byte> Bigrams3 { get; }

        public Vector512<byte> Trigrams0 { get; }

        public Vector512<byte> Trigrams1 { get; }

        public Vector512<byte> Trigrams2 { get; }

        public Vector512<byte> Trigrams3 { get; }
    }
}
