using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;

namespace McpGuard.Tests.Infrastructure;

/// <summary>A generated JSON value (fresh nodes per sample). Printed for counterexamples.</summary>
public sealed record JsonTree(JsonNode? Node)
{
    public override string ToString()
    {
        try
        {
            return Node?.ToJsonString(new JsonSerializerOptions { MaxDepth = 2048 }) ?? "null";
        }
        catch (Exception ex) when (ex is InvalidOperationException or ArgumentException)
        {
            return $"<unprintable JSON: {ex.GetType().Name}>";
        }
    }
}

/// <summary>Arbitrary arguments that try to break a guard: deep nesting, weird keys, huge numbers, lone surrogates, non-objects.</summary>
public sealed record HostileArguments(JsonNode? Node)
{
    public override string ToString() => new JsonTree(Node).ToString();
}

/// <summary>FsCheck generators for JSON trees and helpers to render, mutate and parse them.</summary>
public static class JsonGenerators
{
    private static readonly string[] s_stringPieces =
    [
        "a", "b", "Z", "0", " ", "\"", "\\", "/", "\n", "\r", "\t", "\b", "\f", "\u0000", "\u001f", "\u007f", "é", "€",
        "\u2028", "😀", "\ufb33", "\u0080", "ö", "'", "..", "<script>", "%2e",
    ];

    private static readonly string[] s_keys =
    [
        "", "a", "aa", "A", "b", "1", "\r", "€", "😀", "\ufb33", "\u0080", "ö", "a b", "$", "*", "path", "url", "n", "s", "\u0000", "'", "\"", "[0]",
    ];

    private static readonly string[] s_whitespace = [" ", "\n", "\t", "\r\n", "", "", "  "];

    public static Arbitrary<JsonTree> JsonTree() => Gen.Sized(s => Node(Math.Min(s, 40), 0)).Select(n => new JsonTree(n)).ToArbitrary();

    public static Arbitrary<HostileArguments> HostileArguments() => Hostile().Select(n => new HostileArguments(n)).ToArbitrary();

    public static Gen<string> StringValue() =>
        Gen.Choose(0, 6).SelectMany(n => Gen.ListOf(Gen.Elements(s_stringPieces), n)).Select(p => string.Concat(p));

    public static Gen<string> Key() =>
        Gen.Frequency((4, Gen.Elements(s_keys)), (1, StringValue()));

    public static Gen<double> Number() => Gen.OneOf(
        Gen.Choose(-1000, 1000).Select(i => (double)i),
        Gen.Elements(0.0, -0.0, 4.5, 1e21, 1e-7, 0.000001, 9007199254740992.0, 0.1, 333333333.3333333, double.MaxValue, double.Epsilon),
        Gen.Zip(Gen.Choose(int.MinValue, int.MaxValue), Gen.Choose(int.MinValue, int.MaxValue))
            .Select(t => BitConverter.Int64BitsToDouble(((long)t.Item1 << 32) | (uint)t.Item2))
            .Where(double.IsFinite));

    private static Gen<JsonNode?> Leaf() => Gen.Frequency<JsonNode?>(
        (3, StringValue().Select(s => (JsonNode?)JsonValue.Create(s))),
        (3, Number().Select(d => (JsonNode?)JsonValue.Create(d))),
        (1, Gen.Elements(true, false).Select(b => (JsonNode?)JsonValue.Create(b))),
        (1, Gen.Constant(0).Select(_ => (JsonNode?)null)));

    private static Gen<JsonNode?> Node(int size, int depth) =>
        size <= 1 || depth > 12
            ? Leaf()
            : Gen.Frequency<JsonNode?>((2, Leaf()), (1, Object(size, depth)), (1, Array(size, depth)));

    private static Gen<JsonNode?> Object(int size, int depth) =>
        Gen.Choose(0, 5).SelectMany(n => Gen.ListOf(Gen.Zip(Key(), Node(size / (n + 1), depth + 1)), n)).Select(members =>
        {
            var obj = new JsonObject();
            foreach ((string key, JsonNode? value) in members)
            {
                if (!obj.ContainsKey(key))
                {
                    obj[key] = value;
                }
            }

            return (JsonNode?)obj;
        });

    private static Gen<JsonNode?> Array(int size, int depth) =>
        Gen.Choose(0, 5).SelectMany(n => Gen.ListOf(Node(size / (n + 1), depth + 1), n)).Select(items =>
        {
            var array = new JsonArray();
            foreach (JsonNode? item in items)
            {
                array.Add(item);
            }

            return (JsonNode?)array;
        });

    private static Gen<JsonNode?> Hostile() =>
        Gen.Frequency<JsonNode?>(
            (6, Gen.Sized(s => Object(Math.Max(2, Math.Min(s, 40)), 0))),
            (1, Gen.Sized(s => Node(Math.Min(s, 20), 0))),
            (2, Gen.Zip(Gen.Choose(1, 300), Gen.Elements("$.a", "$.*", "x")).Select(t => (JsonNode?)Deep(t.Item1, t.Item2))),
            (2, Gen.Zip(Gen.Sized(s => Object(Math.Max(2, Math.Min(s, 30)), 0)), Gen.Choose(0, int.MaxValue))
                .Select(t => (JsonNode?)InjectLoneSurrogates(t.Item1, new Random(t.Item2)))),
            (1, Gen.Elements("1e400", "-1e400", "123456789012345678901234567890", "1e-400", "-0", "1.7976931348623157e309")
                .Select(n => (JsonNode?)new JsonObject { ["n"] = JsonNode.Parse(n), ["a"] = new JsonArray(JsonNode.Parse(n)) })));

    /// <summary>An object nesting <paramref name="depth"/> levels (arrays and objects alternating) under key "a".</summary>
    private static JsonNode Deep(int depth, string leaf)
    {
        JsonNode node = JsonValue.Create(leaf);
        for (int i = 0; i < depth; i++)
        {
            node = i % 2 == 0 ? new JsonArray(node) : new JsonObject { ["a"] = node };
        }

        return new JsonObject { ["a"] = node, ["path"] = "/etc/passwd" };
    }

    /// <summary>Parses JSON text allowing deep nesting.</summary>
    public static JsonNode? ParseDeep(string json) =>
        JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { MaxDepth = 1024 });

    /// <summary>Writes <paramref name="node"/> as JSON text with random member order, whitespace, string escapes and number notation.</summary>
    public static string Render(JsonNode? node, Random random)
    {
        var sb = new StringBuilder();
        Render(sb, node, random);
        return sb.ToString();
    }

    private static void Render(StringBuilder sb, JsonNode? node, Random random)
    {
        sb.Append(s_whitespace[random.Next(s_whitespace.Length)]);
        switch (node)
        {
            case null:
                sb.Append("null");
                break;
            case JsonObject obj:
                sb.Append('{');
                var members = obj.ToList();
                Shuffle(members, random);
                for (int i = 0; i < members.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(',');
                    }

                    sb.Append(s_whitespace[random.Next(s_whitespace.Length)]);
                    RenderString(sb, members[i].Key, random);
                    sb.Append(s_whitespace[random.Next(s_whitespace.Length)]).Append(':');
                    Render(sb, members[i].Value, random);
                }

                sb.Append(s_whitespace[random.Next(s_whitespace.Length)]).Append('}');
                break;
            case JsonArray array:
                sb.Append('[');
                for (int i = 0; i < array.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(',');
                    }

                    Render(sb, array[i], random);
                }

                sb.Append(s_whitespace[random.Next(s_whitespace.Length)]).Append(']');
                break;
            case JsonValue value:
                switch (value.GetValueKind())
                {
                    case JsonValueKind.String:
                        RenderString(sb, value.GetValue<string>(), random);
                        break;
                    case JsonValueKind.Number:
                        RenderNumber(sb, value.GetValue<double>(), random);
                        break;
                    case JsonValueKind.True:
                        sb.Append("true");
                        break;
                    case JsonValueKind.False:
                        sb.Append("false");
                        break;
                    default:
                        sb.Append("null");
                        break;
                }

                break;
        }

        sb.Append(s_whitespace[random.Next(s_whitespace.Length)]);
    }

    private static void RenderNumber(StringBuilder sb, double d, Random random)
    {
        switch (random.Next(4))
        {
            case 0:
                sb.Append(d.ToString("R", CultureInfo.InvariantCulture));
                break;
            case 1:
                sb.Append(d.ToString("E16", CultureInfo.InvariantCulture));
                break;
            case 2:
                sb.Append(d.ToString("e16", CultureInfo.InvariantCulture).Replace("e+", "e", StringComparison.Ordinal));
                break;
            default:
                string r = d.ToString("R", CultureInfo.InvariantCulture);
                sb.Append(r.Contains('E', StringComparison.Ordinal) || r.Contains('.', StringComparison.Ordinal) ? r : r + ".000");
                break;
        }
    }

    private static void RenderString(StringBuilder sb, string s, Random random)
    {
        sb.Append('"');
        for (int k = 0; k < s.Length; k++)
        {
            char c = s[k];
            if (char.IsSurrogatePair(s, k))
            {
                // A pair is written whole: both halves escaped, or both literal.
                if (random.Next(2) == 0)
                {
                    sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)).Append("\\u").Append(((int)s[k + 1]).ToString("X4", CultureInfo.InvariantCulture));
                }
                else
                {
                    sb.Append(c).Append(s[k + 1]);
                }

                k++;
                continue;
            }

            bool mustEscape = c < 0x20 || c == '"' || c == '\\';
            int style = random.Next(4);
            if (mustEscape && style == 0)
            {
                sb.Append(c switch
                {
                    '"' => "\\\"",
                    '\\' => "\\\\",
                    '\n' => "\\n",
                    '\r' => "\\r",
                    '\t' => "\\t",
                    '\b' => "\\b",
                    '\f' => "\\f",
                    _ => "\\u" + ((int)c).ToString("X4", CultureInfo.InvariantCulture),
                });
            }
            else if (mustEscape || style == 1)
            {
                sb.Append("\\u").Append(((int)c).ToString(random.Next(2) == 0 ? "x4" : "X4", CultureInfo.InvariantCulture));
            }
            else if (c == '/' && style == 2)
            {
                sb.Append("\\/");
            }
            else
            {
                sb.Append(c);
            }
        }

        sb.Append('"');
    }

    /// <summary>Changes exactly one value or key somewhere in the tree (in place for containers); the result never equals the input.</summary>
    public static JsonNode? Mutate(JsonNode? node, Random random)
    {
        switch (node)
        {
            case null:
                return JsonValue.Create(false);
            case JsonObject obj when obj.Count == 0:
                obj["k"] = null;
                return obj;
            case JsonObject obj:
            {
                string key = obj.ElementAt(random.Next(obj.Count)).Key;
                if (random.Next(3) == 0)
                {
                    JsonNode? value = obj[key];
                    obj.Remove(key);
                    string renamed = key + "~";
                    while (obj.ContainsKey(renamed))
                    {
                        renamed += "~";
                    }

                    obj[renamed] = value;
                }
                else
                {
                    JsonNode? child = obj[key];
                    JsonNode? mutated = Mutate(child, random);
                    if (!ReferenceEquals(mutated, child))
                    {
                        obj[key] = mutated;
                    }
                }

                return obj;
            }

            case JsonArray array when array.Count == 0:
                array.Add(0);
                return array;
            case JsonArray array:
            {
                int i = random.Next(array.Count);
                JsonNode? child = array[i];
                JsonNode? mutated = Mutate(child, random);
                if (!ReferenceEquals(mutated, child))
                {
                    array[i] = mutated;
                }

                return array;
            }

            case JsonValue value:
                return value.GetValueKind() switch
                {
                    JsonValueKind.String => JsonValue.Create(value.GetValue<string>() + "x"),
                    JsonValueKind.Number => JsonValue.Create(value.GetValue<double>() is var d && d == 0 ? 1.0 : -d),
                    JsonValueKind.True => JsonValue.Create(false),
                    JsonValueKind.False => JsonValue.Create(true),
                    _ => JsonValue.Create(0),
                };
            default:
                throw new InvalidOperationException("Unexpected node type.");
        }
    }

    /// <summary>Returns an object holding <paramref name="node"/> in which some keys and strings contain lone UTF-16 surrogates.</summary>
    public static JsonNode InjectLoneSurrogates(JsonNode? node, Random random)
    {
        string[] lone = ["\ud800", "\udfff", "\udc00x", "a\ud83d", "\ude00\ud83d"];
        Inject(node, random, lone);
        return new JsonObject
        {
            [lone[random.Next(lone.Length)]] = node,
            ["s"] = lone[random.Next(lone.Length)],
            ["path"] = "/tmp/" + lone[random.Next(lone.Length)],
            ["url"] = "https://example.com/" + lone[random.Next(lone.Length)],
            ["arr"] = new JsonArray(lone[random.Next(lone.Length)], 1),
        };
    }

    private static void Inject(JsonNode? node, Random random, string[] lone)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (string key in obj.Select(p => p.Key).ToList())
                {
                    JsonNode? child = obj[key];
                    if (child is JsonValue v && v.GetValueKind() == JsonValueKind.String && random.Next(2) == 0)
                    {
                        obj[key] = v.GetValue<string>() + lone[random.Next(lone.Length)];
                    }
                    else
                    {
                        Inject(child, random, lone);
                    }

                    if (random.Next(3) == 0)
                    {
                        string renamed = key + lone[random.Next(lone.Length)];
                        if (!obj.ContainsKey(renamed))
                        {
                            JsonNode? value = obj[key];
                            obj.Remove(key);
                            obj[renamed] = value;
                        }
                    }
                }

                break;
            case JsonArray array:
                for (int i = 0; i < array.Count; i++)
                {
                    if (array[i] is JsonValue v && v.GetValueKind() == JsonValueKind.String && random.Next(2) == 0)
                    {
                        array[i] = v.GetValue<string>() + lone[random.Next(lone.Length)];
                    }
                    else
                    {
                        Inject(array[i], random, lone);
                    }
                }

                break;
        }
    }

    private static void Shuffle<T>(List<T> list, Random random)
    {
        for (int i = list.Count - 1; i > 0; i--)
        {
            int j = random.Next(i + 1);
            (list[i], list[j]) = (list[j], list[i]);
        }
    }
}
