using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using McpGuard.Json;

namespace McpGuard.Tests.Pinning;

/// <summary>
/// Laws of the pin hash (<see cref="JsonCanonicalizer.Sha256Hex(JsonNode?)"/>, RFC 8785 canonical form): the same
/// JSON value sent with other object key order or other insignificant whitespace hashes the same; any change of one
/// value hashes differently. Random JSON objects are rendered to text in several ways and parsed like a transport does.
/// </summary>
public sealed class CanonicalHashProperties
{
    private static string Hash(string text) => JsonCanonicalizer.Sha256Hex(JsonNode.Parse(text));

    [Property(Arbitrary = new[] { typeof(JsonArbitraries) })]
    public bool Sha256Hex_ObjectKeysPermuted_SameHash(HashCase c) =>
        Hash(c.Render(permute: false, whitespace: false)) == Hash(c.Render(permute: true, whitespace: false));

    [Property(Arbitrary = new[] { typeof(JsonArbitraries) })]
    public bool Sha256Hex_InsignificantWhitespaceAdded_SameHash(HashCase c) =>
        Hash(c.Render(permute: false, whitespace: false)) == Hash(c.Render(permute: false, whitespace: true));

    [Property(Arbitrary = new[] { typeof(JsonArbitraries) })]
    public bool Sha256Hex_KeysPermutedAndWhitespaceAdded_SameHash(HashCase c) =>
        Hash(c.Render(permute: false, whitespace: false)) == Hash(c.Render(permute: true, whitespace: true));

    [Property(Arbitrary = new[] { typeof(JsonArbitraries) })]
    public bool Sha256Hex_OneLeafValueChanged_DifferentHash(HashCase c) =>
        Hash(c.Render(permute: false, whitespace: false)) != Hash(c.WithLeafMutated().Render(permute: true, whitespace: true));

    [Property(Arbitrary = new[] { typeof(JsonArbitraries) })]
    public bool ToCanonicalBytes_CanonicalText_IsFixedPoint(HashCase c)
    {
        byte[] canonical = JsonCanonicalizer.ToCanonicalBytes(JsonNode.Parse(c.Render(permute: true, whitespace: true)));
        return canonical.AsSpan().SequenceEqual(JsonCanonicalizer.ToCanonicalBytes(JsonNode.Parse(canonical)));
    }

    [Fact]
    public void Sha256Hex_KnownObject_MatchesRfc8785Form()
    {
        // Anchors the laws above to the specified form: members sorted by UTF-16 code units, no whitespace, ECMAScript numbers.
        const string Text = """{ "b": [1.0, 1e3, "\u00e9"], "a": {"y": null, "x": true}, "\u20ac": 0.5 }""";
        string expected = JsonCanonicalizer.Sha256Hex(Encoding.UTF8.GetBytes("""{"a":{"x":true,"y":null},"b":[1,1000,"é"],"€":0.5}"""));

        Assert.Equal(expected, Hash(Text));
    }
}

/// <summary>An abstract JSON value, rendered to text by <see cref="HashCase"/>.</summary>
public abstract record JTree;

/// <summary>A string, number, boolean or null, as its JSON token.</summary>
public sealed record JScalar(string Token) : JTree;

public sealed record JArr(JTree[] Items) : JTree;

/// <summary>An object; keys are distinct, in generation order.</summary>
public sealed record JObj((string Key, JTree Value)[] Members) : JTree;

/// <summary>A random JSON object plus a seed for key permutation and whitespace, and which leaf to mutate.</summary>
public sealed record HashCase(JObj Tree, int Seed, int LeafPick)
{
    private static readonly string[] s_whitespace = ["", " ", "\t", "\n", "\r\n", "  \n\t "];

    public string Render(bool permute, bool whitespace)
    {
        var sb = new StringBuilder();
        var rng = new Random(Seed);
        Space();
        Write(Tree);
        Space();
        return sb.ToString();

        void Space()
        {
            if (whitespace)
            {
                sb.Append(s_whitespace[rng.Next(s_whitespace.Length)]);
            }
        }

        void Write(JTree tree)
        {
            switch (tree)
            {
                case JScalar s:
                    sb.Append(s.Token);
                    break;
                case JArr a:
                    sb.Append('[');
                    for (int i = 0; i < a.Items.Length; i++)
                    {
                        Space();
                        if (i > 0)
                        {
                            sb.Append(',');
                            Space();
                        }

                        Write(a.Items[i]);
                    }

                    Space();
                    sb.Append(']');
                    break;
                case JObj o:
                    (string Key, JTree Value)[] members = [.. o.Members];
                    if (permute)
                    {
                        rng.Shuffle(members);
                    }

                    sb.Append('{');
                    for (int i = 0; i < members.Length; i++)
                    {
                        Space();
                        if (i > 0)
                        {
                            sb.Append(',');
                            Space();
                        }

                        sb.Append(JsonSerializer.Serialize(members[i].Key));
                        Space();
                        sb.Append(':');
                        Space();
                        Write(members[i].Value);
                    }

                    Space();
                    sb.Append('}');
                    break;
            }
        }
    }

    /// <summary>The same tree with exactly one scalar changed to another value (string +"x", number +1, boolean flipped, null → 0).</summary>
    public HashCase WithLeafMutated()
    {
        int leaves = Count(Tree);
        int target = LeafPick % leaves;
        int index = 0;
        return this with { Tree = (JObj)Replace(Tree, ref index, target) };

        static int Count(JTree t) => t switch
        {
            JScalar => 1,
            JArr a => a.Items.Sum(Count),
            JObj o => o.Members.Sum(m => Count(m.Value)),
            _ => 0,
        };

        static JTree Replace(JTree t, ref int index, int target)
        {
            switch (t)
            {
                case JScalar s:
                    return index++ == target ? new JScalar(Mutate(s.Token)) : s;
                case JArr a:
                    var items = new JTree[a.Items.Length];
                    for (int i = 0; i < items.Length; i++)
                    {
                        items[i] = Replace(a.Items[i], ref index, target);
                    }

                    return new JArr(items);
                default:
                    var o = (JObj)t;
                    var members = new (string, JTree)[o.Members.Length];
                    for (int i = 0; i < members.Length; i++)
                    {
                        members[i] = (o.Members[i].Key, Replace(o.Members[i].Value, ref index, target));
                    }

                    return new JObj(members);
            }
        }

        static string Mutate(string token) => token switch
        {
            "true" => "false",
            "false" => "true",
            "null" => "0",
            _ when token[0] == '"' => JsonSerializer.Serialize(JsonSerializer.Deserialize<string>(token) + "x"),
            _ => (double.Parse(token, CultureInfo.InvariantCulture) + 1).ToString("R", CultureInfo.InvariantCulture),
        };
    }

    public override string ToString() => $"{Render(permute: false, whitespace: false)} (seed {Seed}, leaf {LeafPick})";
}

/// <summary>FsCheck generators for <see cref="HashCase"/>.</summary>
public static class JsonArbitraries
{
    // Keys that sort differently by UTF-16 code unit, ordinal-ignore-case and culture; "é" and "e\u0301" look alike but differ.
    private static readonly string[] s_keys = ["a", "b", "c", "A", "Z", "é", "e\u0301", "ab", "", "k1", "k10", "k2", "😀", "€", "_", "name", "\"q\"", "\\", "\u007f"];

    private static readonly string[] s_strings = ["", "x", "hello world", "é", "😀", "line\nbreak", "quote\"", "tab\t", "\u0000", "\u2028", "</script>"];

    private static readonly Gen<JTree> s_scalar = Gen.OneOf(
        Gen.Choose(-1_000_000, 1_000_000).Select(n => (JTree)new JScalar(n.ToString(CultureInfo.InvariantCulture))),
        Gen.Elements("0.5", "-2.25", "3.125", "1e3", "0", "-0.75", "12.5E-1").Select(t => (JTree)new JScalar(t)),
        Gen.Elements(s_strings).Select(s => (JTree)new JScalar(JsonSerializer.Serialize(s))),
        Gen.Elements("true", "false", "null").Select(t => (JTree)new JScalar(t)));

    public static Arbitrary<HashCase> HashCase()
    {
        Gen<HashCase> gen = Gen.Sized(size =>
        {
            int depth = Math.Min(4, 1 + (size / 25));
            Gen<(string, JTree)> first = Gen.Zip(Gen.Elements(s_keys), s_scalar);
            Gen<JObj> top = Gen.Zip(first, Object(depth)).Select(p => Distinct([p.Item1, .. p.Item2.Members]));
            return Gen.Zip(top, Gen.Zip(Gen.Choose(0, 1_000_000), Gen.Choose(0, 1_000)))
                .Select(p => new HashCase(p.Item1, p.Item2.Item1, p.Item2.Item2));
        });
        return Arb.From(gen);
    }

    private static Gen<JTree> Tree(int depth) => depth <= 0
        ? s_scalar
        : Gen.Frequency((4, s_scalar), (1, Array(depth)), (1, Object(depth).Select(o => (JTree)o)));

    private static Gen<JTree> Array(int depth) =>
        Gen.Choose(0, 4).SelectMany(n => Gen.ListOf(Tree(depth - 1), n)).Select(items => (JTree)new JArr([.. items]));

    private static Gen<JObj> Object(int depth) =>
        Gen.Choose(0, 4).SelectMany(n => Gen.ListOf(Gen.Zip(Gen.Elements(s_keys), Tree(depth - 1)), n)).Select(m => Distinct([.. m]));

    private static JObj Distinct((string Key, JTree Value)[] members) =>
        new([.. members.DistinctBy(m => m.Key, StringComparer.Ordinal)]);
}
