using System.Text.Encodings.Web;
using System.Text.Json;
using FsCheck;
using FsCheck.Fluent;
using McpGuard.Json;

namespace McpGuard.Tests.Json;

public sealed class JsonStringCharsTests
{
    private static readonly Gen<string> Fragment = Gen.OneOf(
        Gen.Elements("plain ascii ", "\n", "\t", "\r", "\"", "\\", "/", "\b", "\f", "\u0000", "\u001F", "é", "\u2028", "😀", "<>&'"),
        Gen.Choose(0, 0xFFFF).Select(i => ((char)i).ToString()));

    private static readonly Arbitrary<string> Texts = Gen.ListOf(Fragment).Select(parts => string.Concat(parts)).ToArbitrary();

    [Fact]
    public void Copy_AnyStringSerializedWithEitherEncoder_DecodesToTheString()
    {
        var strict = new JsonSerializerOptions();
        var relaxed = new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
        Prop.ForAll(Texts, text =>
        {
            foreach (JsonSerializerOptions options in new[] { strict, relaxed })
            {
                byte[] token = JsonSerializer.SerializeToUtf8Bytes(text, options);
                var buffer = new char[token.Length];
                string decoded = new(buffer, 0, JsonStringChars.Copy(token, buffer));
                if (!string.Equals(decoded, JsonDocument.Parse(token).RootElement.GetString(), StringComparison.Ordinal))
                {
                    return false;
                }
            }

            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(1000));
    }

    [Theory]
    [InlineData("\"a\\nb\\tc\\\"d\\\\e\\/f\"", "a\nb\tc\"d\\e/f")]
    [InlineData("\"\\u0041\\n\"", "A\n")]
    [InlineData("\"\"", "")]
    public void Copy_HandWrittenTokens_Decoded(string token, string expected)
    {
        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(token);
        var buffer = new char[bytes.Length];
        Assert.Equal(expected, new string(buffer, 0, JsonStringChars.Copy(bytes, buffer)));
    }
}
