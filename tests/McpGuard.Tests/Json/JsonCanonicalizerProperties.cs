using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using McpGuard.Json;
using McpGuard.Tests.Infrastructure;

namespace McpGuard.Tests.Json;

public sealed class JsonCanonicalizerProperties
{
    [Property(MaxTest = 300, Arbitrary = [typeof(JsonGenerators)])]
    public Property ToCanonicalBytes_SourceKeyOrderWhitespaceAndEscapes_DoNotChangeOutput(JsonTree tree, int seed)
    {
        string a = JsonGenerators.Render(tree.Node, new Random(seed));
        string b = JsonGenerators.Render(tree.Node, new Random(~seed));

        byte[] ca = JsonCanonicalizer.ToCanonicalBytes(JsonGenerators.ParseDeep(a));
        byte[] cb = JsonCanonicalizer.ToCanonicalBytes(JsonGenerators.ParseDeep(b));

        return ca.AsSpan().SequenceEqual(cb).Label($"source A: {a}\nsource B: {b}");
    }

    [Property(MaxTest = 300, Arbitrary = [typeof(JsonGenerators)])]
    public Property ToCanonicalBytes_ParsedAndUnread_SameAsConstructedTree(JsonTree tree, int seed)
    {
        // A parsed object or array nobody has read is written from its backing JsonElement; a constructed tree through
        // the node API. Both must give the same bytes, and the parsed node must stay unread (still backed by its bytes).
        JsonNode? parsed = JsonGenerators.ParseDeep(JsonGenerators.Render(tree.Node, new Random(seed)));
        bool backed = parsed is JsonObject or JsonArray && JsonRawBytes.TryGetElement(parsed, out _);

        byte[] fromParsed = JsonCanonicalizer.ToCanonicalBytes(parsed);
        byte[] fromTree = JsonCanonicalizer.ToCanonicalBytes(tree.Node);

        bool stillBacked = !backed || JsonRawBytes.TryGetElement(parsed!, out _);
        return (fromParsed.AsSpan().SequenceEqual(fromTree) && stillBacked).Label($"parsed: {Encoding.UTF8.GetString(fromParsed)}\ntree: {Encoding.UTF8.GetString(fromTree)}");
    }

    [Theory]
    [InlineData("""{"path":"/allowed/a","path":"/etc/passwd"}""")]
    [InlineData("""[{"a":1,"b":2,"a":3}]""")]
    [InlineData("""{"x":{"k":"v","k":"w"}}""")]
    public void ToCanonicalBytes_RepeatedMemberName_Throws(string json)
    {
        // Parsed and unread (the element path) and read first (the node path): neither may pick one of the values.
        Assert.ThrowsAny<Exception>(() => JsonCanonicalizer.ToCanonicalBytes(JsonNode.Parse(json)));
        JsonNode? read = JsonNode.Parse(json);
        Assert.ThrowsAny<Exception>(() => JsonCanonicalizer.ToCanonicalBytes(read is JsonObject o ? o.DeepClone() : read!.AsArray().DeepClone()));
    }

    [Property(MaxTest = 300, Arbitrary = [typeof(JsonGenerators)])]
    public Property ToCanonicalBytes_CanonicalText_IsAFixedPoint(JsonTree tree)
    {
        byte[] once = JsonCanonicalizer.ToCanonicalBytes(tree.Node);
        byte[] twice = JsonCanonicalizer.ToCanonicalBytes(JsonGenerators.ParseDeep(Encoding.UTF8.GetString(once)));

        return once.AsSpan().SequenceEqual(twice).ToProperty();
    }

    [Property(MaxTest = 300, Arbitrary = [typeof(JsonGenerators)])]
    public Property ToCanonicalBytes_AnyValueChange_ChangesOutput(JsonTree tree, int seed)
    {
        JsonNode? original = JsonGenerators.ParseDeep(JsonGenerators.Render(tree.Node, new Random(seed)));
        JsonNode? changed = JsonGenerators.Mutate(original?.DeepClone(), new Random(seed));

        byte[] before = JsonCanonicalizer.ToCanonicalBytes(original);
        byte[] after = JsonCanonicalizer.ToCanonicalBytes(changed);

        return (!before.AsSpan().SequenceEqual(after)).Label($"before: {Encoding.UTF8.GetString(before)}");
    }

    [Property(MaxTest = 200, Arbitrary = [typeof(JsonGenerators)])]
    public Property ToCanonicalBytes_ConstructedTreesWithLoneSurrogates_NeverThrow(JsonTree tree, int seed)
    {
        JsonNode? withSurrogates = JsonGenerators.InjectLoneSurrogates(tree.Node?.DeepClone(), new Random(seed));

        byte[] bytes = JsonCanonicalizer.ToCanonicalBytes(withSurrogates);

        // The output is valid UTF-8 JSON (lone surrogates appear only as \uXXXX escapes).
        return (new UTF8Encoding(false, throwOnInvalidBytes: true).GetCharCount(bytes) > 0).ToProperty();
    }

    [Fact]
    public void FormatDouble_RandomDoubles_MatchesNodeNumberToString()
    {
        // Independent oracle: the real ECMAScript Number.prototype.toString of node (on PATH for the integration tests).
        var random = new Random(8785);
        var values = new List<double> { 1e21, 1e-7, 1e-6, 0.1, 0.2 + 0.1, 123456789, 1.5e300, 4.35, 0.5e-323 };
        Span<byte> bits = stackalloc byte[8];
        while (values.Count < 4000)
        {
            random.NextBytes(bits);
            double d = BitConverter.ToDouble(bits);
            if (double.IsFinite(d))
            {
                values.Add(d);
            }

            values.Add(Math.Round(random.NextDouble() * Math.Pow(10, random.Next(-12, 25)), random.Next(0, 8)));
        }

        string input = string.Join('\n', values.Select(v => BitConverter.DoubleToUInt64Bits(v).ToString("x16", CultureInfo.InvariantCulture)));
        string[] expected = RunNode(
            "const lines=require('fs').readFileSync(0,'utf8').trim().split('\\n');" +
            "const b=Buffer.alloc(8);process.stdout.write(lines.map(h=>{b.writeBigUInt64BE(BigInt('0x'+h));return String(b.readDoubleBE(0));}).join('\\n'));",
            input).Split('\n');

        Assert.Equal(values.Count, expected.Length);
        for (int i = 0; i < values.Count; i++)
        {
            Assert.True(expected[i] == JsonCanonicalizer.FormatDouble(values[i]), $"{values[i]:R}: node '{expected[i]}', canonicalizer '{JsonCanonicalizer.FormatDouble(values[i])}'");
        }
    }

    /// <summary>
    /// Number texts, including exact halfway cases between two doubles written with and without trailing fraction zeros
    /// and exponents, canonicalize as node's <c>JSON.stringify(JSON.parse(text))</c> does (V8 reads numbers correctly
    /// rounded). System.Text.Json's <c>TryGetDouble</c> did not for some of them (see <c>JsonNumbers</c>).
    /// </summary>
    [Fact]
    public void ToCanonicalBytes_RandomNumberTexts_MatchNodeJsonParse()
    {
        var random = new Random(2577);
        var texts = new List<string> { "-31625746888842330.000", "9007199254740993.000", "1.0000000000000001110223024625156540423631668090820312500", "5e-324", "1.7976931348623157e308" };
        while (texts.Count < 3000)
        {
            // An exact halfway point between an integral double at or above 2^53 and the next one up.
            double d = Math.Floor(Math.Pow(2, 53 + random.Next(0, 20)) * (1 + random.NextDouble()));
            System.Numerics.BigInteger low = new(d), high = new(Math.BitIncrement(d));
            string mid = ((low + high) / 2).ToString(CultureInfo.InvariantCulture);
            texts.Add((random.Next(2) == 0 ? "-" : string.Empty) + mid + Zeros(random));

            // Long random digit strings with a decimal point somewhere and an optional exponent.
            string digits = string.Concat(Enumerable.Range(0, random.Next(1, 30)).Select(_ => (char)('0' + random.Next(10)))).TrimStart('0');
            digits = digits.Length == 0 ? "0" : digits;
            int point = random.Next(1, digits.Length + 1);
            string text = digits[..point] + (point < digits.Length ? "." + digits[point..] : Zeros(random));
            texts.Add(text + (random.Next(3) == 0 ? "e" + random.Next(-30, 30).ToString(CultureInfo.InvariantCulture) : string.Empty));
        }

        string[] expected = RunNode(
            "const lines=require('fs').readFileSync(0,'utf8').trim().split('\\n');" +
            "process.stdout.write(lines.map(t=>JSON.stringify(JSON.parse(t))).join('\\n'));",
            string.Join('\n', texts)).Split('\n');

        Assert.Equal(texts.Count, expected.Length);
        for (int i = 0; i < texts.Count; i++)
        {
            string canonical = Encoding.UTF8.GetString(JsonCanonicalizer.ToCanonicalBytes(JsonNode.Parse("[" + texts[i] + "]")))[1..^1];
            Assert.True(expected[i] == canonical, $"{texts[i]}: node '{expected[i]}', canonicalizer '{canonical}'");
        }

        static string Zeros(Random random) => random.Next(3) switch { 0 => string.Empty, 1 => ".0", _ => "." + new string('0', random.Next(2, 6)) };
    }

    private static string RunNode(string script, string stdin)
    {
        var psi = new ProcessStartInfo("node", ["-e", script])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using Process process = Process.Start(psi)!;
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        process.StandardInput.Write(stdin);
        process.StandardInput.Close();
        Assert.True(process.WaitForExit(60_000), "node did not exit");
        Assert.True(process.ExitCode == 0, stderr.Result);
        return stdout.Result;
    }
}
