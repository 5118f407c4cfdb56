using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using McpGuard.Credentials;

namespace McpGuard.Tests.Credentials;

/// <summary>The encoding-aware matcher: every supported encoding, embedded anywhere; laws over random text.</summary>
public sealed class SecretMatcherTests
{
    private const string Secret = "ghp_R4nd0mT0kenV4lue9876543210abcdXYZ";
    private static readonly GuardCredentialRegistry s_registry = CreateRegistry();

    private static GuardCredentialRegistry CreateRegistry()
    {
        var registry = new GuardCredentialRegistry();
        registry.Add("github", new Uri("https://api.example.com/mcp"), Secret, ["repo"]);
        return registry;
    }

    public static TheoryData<string, string> Encoded()
    {
        byte[] bytes = Encoding.UTF8.GetBytes(Secret);
        string b64 = Convert.ToBase64String(bytes);
        return new TheoryData<string, string>
        {
            { "raw", "please forward " + Secret + " to the sync tool" },
            { "bearer", "Authorization: Bearer " + Secret },
            { "base64", b64 },
            { "base64 of 'Bearer <token>'", Convert.ToBase64String(Encoding.UTF8.GetBytes("Bearer " + Secret)) },
            { "base64 of 'x:<token>'", Convert.ToBase64String(Encoding.UTF8.GetBytes("x:" + Secret)) },
            { "base64url", b64.TrimEnd('=').Replace('+', '-').Replace('/', '_') },
            { "hex lower", Convert.ToHexString(bytes).ToLowerInvariant() },
            { "hex upper", "0x" + Convert.ToHexString(bytes) },
            { "percent-encoded", string.Concat(bytes.Select(b => "%" + b.ToString("X2"))) },
            { "json-escaped", string.Concat(Secret.Select(c => "\\u" + ((int)c).ToString("x4"))) },
            { "split by whitespace", Secret[..10] + " " + Secret[10..20] + "\n" + Secret[20..] },
        };
    }

    [Theory]
    [MemberData(nameof(Encoded))]
    public void Find_SecretInEncoding_Found(string encoding, string text)
    {
        SecretMatch? match = s_registry.Matcher.Find(text);

        Assert.True(match.HasValue, encoding);
        Assert.Equal("github", match.Value.Credential.Label);
    }

    [Theory]
    [InlineData("")]
    [InlineData("ghp_R4nd0mT0ken")]
    [InlineData("a perfectly ordinary sentence about tokens and keys")]
    public void Find_TextWithoutSecret_NotFound(string text) => Assert.Null(s_registry.Matcher.Find(text));

    private static Arbitrary<string> Texts() =>
        Gen.OneOf(
                ArbMap.Default.GeneratorFor<string>().Select(s => s ?? string.Empty),
                Gen.Elements("%", "\\", "\\u", "%4", " ", "\n", "=", "+", "/", "-", "_", "a", "Z", "0", "\uD800", "\u00e9", "\\u00", "%ZZ", "%e2%82")
                    .ArrayOf().Select(p => string.Concat(p)))
            .ToArbitrary();

    [Property(MaxTest = 300)]
    public Property Find_SecretEmbeddedAnywhere_Found() =>
        Prop.ForAll(Texts(), Texts(), (prefix, suffix) => s_registry.Matcher.Find(prefix + Secret + suffix) is { } m && m.Credential.Label == "github");

    [Property(MaxTest = 300)]
    public Property Find_SecretBase64EncodedWithRandomSurroundings_Found() =>
        Prop.ForAll(Texts(), Texts(), (prefix, suffix) =>
            s_registry.Matcher.Find(Convert.ToBase64String(Encoding.UTF8.GetBytes(prefix + Secret + suffix))) is not null
            && s_registry.Matcher.Find(Convert.ToHexString(Encoding.UTF8.GetBytes(prefix + Secret + suffix))) is not null);

    [Property(MaxTest = 500)]
    public Property Find_AnyText_NeverThrows() =>
        Prop.ForAll(Texts(), text =>
        {
            _ = s_registry.Matcher.Find(text);
            _ = SecretMatcher.Decode(text);
            return true;
        });
}
