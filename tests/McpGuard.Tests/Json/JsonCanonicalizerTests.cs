using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using McpGuard.Json;

namespace McpGuard.Tests.Json;

public sealed class JsonCanonicalizerTests
{
    private static string Canonical(string json) =>
        Encoding.UTF8.GetString(JsonCanonicalizer.ToCanonicalBytes(JsonNode.Parse(json)));

    private static string Canonical(JsonNode? node) => Encoding.UTF8.GetString(JsonCanonicalizer.ToCanonicalBytes(node));

    /// <summary>
    /// A halfway case: 31625746888842330 lies exactly between two doubles and rounds to the even one, ...328, which prints
    /// as 31625746888842330. System.Text.Json's <c>TryGetDouble</c> read the same value written with trailing fraction
    /// zeros as ...332, so the canonical form (and every hash over it) depended on the server's notation; found by
    /// <c>JsonCanonicalizerProperties</c> on a CI run.
    /// </summary>
    [Theory]
    [InlineData("-31625746888842330", "-31625746888842330")]
    [InlineData("-31625746888842330.000", "-31625746888842330")]
    [InlineData("31625746888842330.00", "31625746888842330")]
    [InlineData("3.1625746888842330000E16", "31625746888842330")]
    [InlineData("31625746888842332", "31625746888842332")]
    [InlineData("31625746888842332.000", "31625746888842332")]
    public void ToCanonicalBytes_HalfwayNumberInAnyNotation_CorrectlyRounded(string number, string expected)
    {
        Assert.Equal($"[{expected}]", Canonical($"[{number}]"));
        Assert.Equal($"{{\"v\":{expected}}}", Canonical(JsonNode.Parse($"{{\"v\":{number}}}")!.AsObject().DeepClone()));
    }

    [Fact]
    public void ToCanonicalBytes_Rfc8785MainExample_MatchesSpecifiedOutput()
    {
        // RFC 8785 §3.2.2 input and §3.2.3 output.
        const string input = """
            {
              "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
              "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
              "literals": [null, true, false]
            }
            """;
        const string expected = """{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}""";

        Assert.Equal(expected, Canonical(input));
    }

    [Fact]
    public void ToCanonicalBytes_Rfc8785SortingExample_SortsByUtf16CodeUnits()
    {
        // RFC 8785 §3.2.3: "\ud83d\ude00" (U+1F600) sorts before "\ufb33" because its first UTF-16 unit is 0xD83D.
        const string input = """
            {
              "\u20ac": "Euro Sign",
              "\r": "Carriage Return",
              "\ufb33": "Hebrew Letter Dalet With Dagesh",
              "1": "One",
              "\ud83d\ude00": "Emoji: Grinning Face",
              "\u0080": "Control",
              "\u00f6": "Latin Small Letter O With Diaeresis"
            }
            """;

        string[] keys = [.. JsonNode.Parse(Canonical(input))!.AsObject().Select(p => p.Key)];

        Assert.Equal(["\r", "1", "\u0080", "\u00f6", "\u20ac", "\ud83d\ude00", "\ufb33"], keys);
    }

    [Fact]
    public void ToCanonicalBytes_EuroSignAndCarriageReturnKeys_CarriageReturnFirst()
    {
        Assert.Equal("""{"\r":2,"€":1}""", Canonical("""{"\u20ac":1,"\r":2}"""));
    }

    [Fact]
    public void ToCanonicalBytes_NestedObjects_SortedAtEveryLevelArraysKeepOrder()
    {
        Assert.Equal("""{"a":[{"x":1,"y":2},3,1],"b":{"c":{"d":null,"e":true}}}""", Canonical("""{"b":{"c":{"e":true,"d":null}},"a":[{"y":2,"x":1},3,1]}"""));
    }

    [Theory]
    [InlineData("1e21", "1e+21")]
    [InlineData("1e20", "100000000000000000000")]
    [InlineData("1e-7", "1e-7")]
    [InlineData("0.000001", "0.000001")]
    [InlineData("-0", "0")]
    [InlineData("-0.0", "0")]
    [InlineData("1E30", "1e+30")]
    [InlineData("4.50", "4.5")]
    [InlineData("9007199254740992", "9007199254740992")]
    [InlineData("333333333.3333333", "333333333.3333333")]
    [InlineData("333333333.33333329", "333333333.3333333")]
    [InlineData("0.000000000000000000000000001", "1e-27")]
    [InlineData("-1.5", "-1.5")]
    [InlineData("100", "100")]
    [InlineData("1.0", "1")]
    [InlineData("2e-3", "0.002")]
    [InlineData("123e-20", "1.23e-18")]
    public void ToCanonicalBytes_NumberText_FormatsAsEcmaScript(string source, string expected)
    {
        Assert.Equal(expected, Canonical(source));
    }

    [Theory]
    // RFC 8785 Appendix B: IEEE 754 bit patterns and their canonical text.
    [InlineData(0x0000000000000000UL, "0")]
    [InlineData(0x8000000000000000UL, "0")]
    [InlineData(0x0000000000000001UL, "5e-324")]
    [InlineData(0x8000000000000001UL, "-5e-324")]
    [InlineData(0x7fefffffffffffffUL, "1.7976931348623157e+308")]
    [InlineData(0xffefffffffffffffUL, "-1.7976931348623157e+308")]
    [InlineData(0x4340000000000000UL, "9007199254740992")]
    [InlineData(0xc340000000000000UL, "-9007199254740992")]
    [InlineData(0x4430000000000000UL, "295147905179352830000")]
    [InlineData(0x44b52d02c7e14af5UL, "9.999999999999997e+22")]
    [InlineData(0x44b52d02c7e14af6UL, "1e+23")]
    [InlineData(0x44b52d02c7e14af7UL, "1.0000000000000001e+23")]
    [InlineData(0x444b1ae4d6e2ef4eUL, "999999999999999700000")]
    [InlineData(0x444b1ae4d6e2ef4fUL, "999999999999999900000")]
    [InlineData(0x444b1ae4d6e2ef50UL, "1e+21")]
    [InlineData(0x3eb0c6f7a0b5ed8cUL, "9.999999999999997e-7")]
    [InlineData(0x3eb0c6f7a0b5ed8dUL, "0.000001")]
    [InlineData(0x41b3de4355555553UL, "333333333.3333332")]
    [InlineData(0x41b3de4355555554UL, "333333333.33333325")]
    [InlineData(0x41b3de4355555555UL, "333333333.3333333")]
    [InlineData(0x41b3de4355555556UL, "333333333.3333334")]
    [InlineData(0x41b3de4355555557UL, "333333333.33333343")]
    [InlineData(0xbecbf647612f3696UL, "-0.0000033333333333333333")]
    [InlineData(0x43143ff3c1cb0959UL, "1424953923781206.2")]
    public void FormatDouble_Rfc8785AppendixB_MatchesSpecifiedText(ulong bits, string expected)
    {
        Assert.Equal(expected, JsonCanonicalizer.FormatDouble(BitConverter.UInt64BitsToDouble(bits)));
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(double.NegativeInfinity)]
    public void FormatDouble_NonFinite_ThrowsJsonException(double value)
    {
        Assert.Throws<JsonException>(() => JsonCanonicalizer.FormatDouble(value));
    }

    [Fact]
    public void ToCanonicalBytes_NumberBeyondDoubleRange_ThrowsJsonException()
    {
        Assert.Throws<JsonException>(() => JsonCanonicalizer.ToCanonicalBytes(JsonNode.Parse("[1E400]")));
    }

    [Fact]
    public void ToCanonicalBytes_ClrNumberValues_FormatAsDoubles()
    {
        var node = new JsonObject
        {
            ["decimal"] = 1.50m,
            ["long"] = 10L,
            ["float"] = 3.0f,
            ["byte"] = (byte)7,
            ["ulong"] = ulong.MaxValue,
        };

        Assert.Equal("""{"byte":7,"decimal":1.5,"float":3,"long":10,"ulong":18446744073709552000}""", Canonical(node));
    }

    [Fact]
    public void ToCanonicalBytes_ControlCharacters_EscapedAsLowercaseUnicodeExceptShortForms()
    {
        var chars = new StringBuilder();
        for (char c = '\0'; c < ' '; c++)
        {
            chars.Append(c);
        }

        string expected = "\"" + string.Concat(Enumerable.Range(0, 0x20).Select(i => i switch
        {
            0x08 => "\\b",
            0x09 => "\\t",
            0x0a => "\\n",
            0x0c => "\\f",
            0x0d => "\\r",
            _ => "\\u" + i.ToString("x4", System.Globalization.CultureInfo.InvariantCulture),
        })) + "\"";

        Assert.Equal(expected, Canonical(JsonValue.Create(chars.ToString())));
    }

    [Fact]
    public void ToCanonicalBytes_QuoteAndBackslash_EscapedWithBackslash()
    {
        Assert.Equal("\"a\\\"b\\\\c\"", Canonical(JsonValue.Create("a\"b\\c")));
    }

    [Fact]
    public void ToCanonicalBytes_SolidusDelAndLineSeparator_WrittenLiterally()
    {
        Assert.Equal("\"/\u007f\u2028\u2029<>&'\"", Canonical(JsonValue.Create("/\u007f\u2028\u2029<>&'")));
    }

    [Fact]
    public void ToCanonicalBytes_NonAsciiText_WrittenAsLiteralUtf8()
    {
        byte[] bytes = JsonCanonicalizer.ToCanonicalBytes(JsonValue.Create("é€😀"));

        Assert.Equal([(byte)'"', .. Encoding.UTF8.GetBytes("é€😀"), (byte)'"'], bytes);
    }

    [Fact]
    public void ToCanonicalBytes_ConstructedLoneSurrogates_EscapedWithoutThrowing()
    {
        var node = new JsonObject { ["\udc00key"] = "x\ud800", ["pair"] = "\ud83d\ude00" };

        Assert.Equal("{\"pair\":\"😀\",\"\\udc00key\":\"x\\ud800\"}", Canonical(node));
    }

    [Fact]
    public void ToCanonicalBytes_DistinctLoneSurrogates_ProduceDistinctOutput()
    {
        Assert.NotEqual(Canonical(JsonValue.Create("\ud800")), Canonical(JsonValue.Create("\ud801")));
    }

    [Fact]
    public void ToCanonicalBytes_ParsedLoneSurrogateEscape_ThrowsInvalidOperationExceptionNotOtherTypes()
    {
        // System.Text.Json refuses to materialize an escaped lone surrogate read from text; GuardedTransport maps
        // InvalidOperationException to argument.malformed (calls) or a malformed catalog item (tools/list).
        Assert.Throws<InvalidOperationException>(() => JsonCanonicalizer.ToCanonicalBytes(JsonNode.Parse("""{"a":"\ud800"}""")));
    }

    [Fact]
    public void ToCanonicalBytes_DepthAtLimit_Succeeds()
    {
        Assert.NotEmpty(JsonCanonicalizer.ToCanonicalBytes(Nest(JsonCanonicalizer.MaxDepth)));
    }

    [Fact]
    public void ToCanonicalBytes_DepthBeyondLimit_ThrowsJsonException()
    {
        Assert.Throws<JsonException>(() => JsonCanonicalizer.ToCanonicalBytes(Nest(JsonCanonicalizer.MaxDepth + 1)));
    }

    [Fact]
    public void ToCanonicalBytes_DeepObjectNesting_ThrowsJsonException()
    {
        JsonNode node = JsonValue.Create(1);
        for (int i = 0; i < 200; i++)
        {
            node = new JsonObject { ["k"] = node };
        }

        Assert.Throws<JsonException>(() => JsonCanonicalizer.ToCanonicalBytes(node));
    }

    [Fact]
    public void Sha256Hex_Node_IsHashOfCanonicalBytes()
    {
        JsonNode node = JsonNode.Parse("""{ "b" : 1, "a" : [true] }""")!;

        string expected = TestHex.Lower(System.Security.Cryptography.SHA256.HashData("""{"a":[true],"b":1}"""u8));
        Assert.Equal(expected, JsonCanonicalizer.Sha256Hex(node));
    }

    private static JsonNode Nest(int depth)
    {
        JsonNode node = JsonValue.Create(0);
        for (int i = 0; i < depth; i++)
        {
            node = new JsonArray(node);
        }

        return node;
    }
}
