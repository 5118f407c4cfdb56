using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace McpGuard.Tests.Http;

/// <summary>Pin entries (<c>sha256/&lt;base64&gt;</c>, RFC 7469 §2.4; curl's <c>sha256//</c>) for random digests: '/' is a
/// base64 character, so a digest whose base64 starts with it must not be taken for curl's form.</summary>
public sealed class GuardTlsPinProperties
{
    [Property(MaxTest = 1000)]
    public Property ParsePin_EveryDigestInBothForms_ReadsBackExactly(byte[] seed)
    {
        byte[] digest = System.Security.Cryptography.SHA256.HashData(seed);
        string base64 = Convert.ToBase64String(digest);

        byte[]? plain = GuardTlsOptions.ParsePin("sha256/" + base64);
        byte[]? curl = GuardTlsOptions.ParsePin("sha256//" + base64);

        return (plain is not null && plain.AsSpan().SequenceEqual(digest) && curl is not null && curl.AsSpan().SequenceEqual(digest))
            .Label($"{base64}: plain={(plain is null ? "null" : Convert.ToBase64String(plain))} curl={(curl is null ? "null" : Convert.ToBase64String(curl))}");
    }

    [Property(MaxTest = 500)]
    public Property ParsePin_WrongLengthOrPrefix_IsRejected(byte[] bytes, bool curlForm)
    {
        string base64 = Convert.ToBase64String(bytes);
        string prefix = curlForm ? "sha256//" : "sha256/";
        bool accepted = GuardTlsOptions.ParsePin(prefix + base64) is not null;

        return (accepted == (bytes.Length == 32)
                && GuardTlsOptions.ParsePin("sha1/" + base64) is null
                && GuardTlsOptions.ParsePin(base64) is null)
            .Label($"{bytes.Length} bytes, {prefix}: accepted={accepted}");
    }

    [Fact]
    public void ParsePin_DigestWhoseBase64StartsWithSlash_IsReadInBothForms()
    {
        byte[] digest = new byte[32];
        digest[0] = 0xFC; // base64 of 0b111111.. starts with '/'
        string base64 = Convert.ToBase64String(digest);
        Assert.StartsWith("/", base64, StringComparison.Ordinal);

        Assert.Equal(digest, GuardTlsOptions.ParsePin("sha256/" + base64));
        Assert.Equal(digest, GuardTlsOptions.ParsePin("sha256//" + base64));
    }
}
