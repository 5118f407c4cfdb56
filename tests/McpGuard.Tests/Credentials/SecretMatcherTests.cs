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

    private const string SecondSecret = "xoxb-5550001112223-AbCdEfGhIjKlMnOpQrStUv";
    private static readonly GuardCredentialRegistry s_two = CreateTwo();

    private static GuardCredentialRegistry CreateTwo()
    {
        var registry = new GuardCredentialRegistry();
        registry.Add("github", new Uri("https://api.example.com/mcp"), Secret, ["repo"]);
        registry.Add("slack", new Uri("https://slack.example.org/mcp"), SecondSecret, ["chat:write"]);
        return registry;
    }

    [Theory]
    [MemberData(nameof(Encoded))]
    public void FindAll_SecretInEncoding_FoundOnce(string encoding, string text)
    {
        IReadOnlyList<SecretMatch> all = s_registry.Matcher.FindAll(text);

        Assert.True(all.Count == 1, encoding);
        Assert.Equal("github", all[0].Credential.Label);
    }

    /// <summary>Two credentials in one header value: both are reported (the binding handler must check each), in any
    /// order, in any of the encodings, and each once however often it occurs.</summary>
    [Theory]
    [InlineData("{0},{1}")]
    [InlineData("{1} {0}")]
    [InlineData("{0}{1}")]
    [InlineData("{0};{0};{1};{1}")]
    [InlineData("{0} %{2}")]
    public void FindAll_TwoCredentialsInOneText_BothFound(string format)
    {
        string percentSecond = string.Concat(Encoding.UTF8.GetBytes(SecondSecret).Select(b => "%" + b.ToString("X2")))[1..];
        string text = string.Format(System.Globalization.CultureInfo.InvariantCulture, format, Secret, SecondSecret, percentSecond);

        IReadOnlyList<SecretMatch> all = s_two.Matcher.FindAll(text);

        Assert.Equal(["github", "slack"], all.Select(m => m.Credential.Label).Order(StringComparer.Ordinal));
        Assert.NotNull(s_two.Matcher.Find(text)); // Find reports only one of them
    }

    [Fact]
    public void FindAll_SecretThatOnlyOccursInsideALongerOne_NotReported()
    {
        var registry = new GuardCredentialRegistry();
        const string Outer = "outer-0123456789-inner-secret-value-abcdef";
        registry.Add("outer", new Uri("https://a.example.com/mcp"), Outer, []);
        registry.Add("inner", new Uri("https://b.example.com/mcp"), "inner-secret-value", []);

        Assert.Equal(["outer"], registry.Matcher.FindAll("Bearer " + Outer).Select(m => m.Credential.Label));
        Assert.Equal(["outer", "inner"], registry.Matcher.FindAll(Outer + " and inner-secret-value").Select(m => m.Credential.Label));
    }

    /// <summary>Law: <see cref="SecretMatcher.FindAll"/> finds something exactly when <see cref="SecretMatcher.Find"/>
    /// does, and what Find reports is among it.</summary>
    [Property(MaxTest = 300)]
    public Property FindAll_AgreesWithFind() =>
        Prop.ForAll(Texts(), Texts(), Gen.Elements(string.Empty, Secret, SecondSecret, Secret + SecondSecret, SecondSecret[..12]).ToArbitrary(), (prefix, suffix, middle) =>
        {
            string text = prefix + middle + suffix;
            SecretMatch? one = s_two.Matcher.Find(text);
            IReadOnlyList<SecretMatch> all = s_two.Matcher.FindAll(text);
            return one is null ? all.Count == 0 : all.Any(m => ReferenceEquals(m.Credential, one.Value.Credential));
        });
}
