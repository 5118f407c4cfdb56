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
