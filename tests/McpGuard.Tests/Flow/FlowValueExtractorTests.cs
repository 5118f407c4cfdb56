using McpGuard.Flow;

namespace McpGuard.Tests.Flow;

/// <summary>Value extraction and normalization: what counts as the same value, and what is not a value.</summary>
public sealed class FlowValueExtractorTests
{
    private static readonly FlowValueExtractor s_extractor = new(FlowValueKinds.All, 20);

    private static List<FlowValue> Extract(string text)
    {
        var values = new List<FlowValue>();
        s_extractor.Extract(text, values, 1000);
        return values;
    }

    [Theory]
    [InlineData("Meeting on 2024-06-01 at 10:30.")]
    [InlineData("From 2024-05-19 12:00 to 2024-05-19 13:00")]
    [InlineData("Amount: 1100.0 and 10000000.00 EUR, total 1,234,567")]
    [InlineData("compact date 20240601 here")]
    [InlineData("version 1.2.3 build 2022-01-01T09:00:00Z")]
    public void Extract_DatesTimesAmounts_NoAccountOrPhoneNumbers(string text)
    {
        Assert.DoesNotContain(Extract(text), v => v.Kind is FlowValueKinds.AccountNumber or FlowValueKinds.Phone);
    }

    [Theory]
    [InlineData("Pay DE89 3704 0044 0532 0130 00 now", "pay to DE89370400440532013000.", FlowValueKinds.Iban)]
    [InlineData("see https://www.Example.com:443/a/b/#frag", "visit www.example.com/a/b", FlowValueKinds.Url)]
    [InlineData("mail Bob.Smith@Corp.Example", "bob.smith@corp.example", FlowValueKinds.Email)]
    [InlineData("call +41 79 555 12 34", "+41795551234", FlowValueKinds.Phone)]
    [InlineData("card 4111 1111 1111 1111", "card 4111-1111-1111-1111", FlowValueKinds.AccountNumber)]
    [InlineData("key sk_live_4f9a8b7c6d5e4f3a2b1c0d", "(sk_live_4f9a8b7c6d5e4f3a2b1c0d)", FlowValueKinds.Token)]
    [InlineData("to our website www.our-company.com.They sent", "www.our-company.com", FlowValueKinds.Url)]
    public void Extract_SameValueWrittenDifferently_SameHash(string first, string second, FlowValueKinds kind)
    {
        FlowValue a = Assert.Single(Extract(first), v => v.Kind == kind);
        FlowValue b = Assert.Single(Extract(second), v => v.Kind == kind);

        Assert.Equal(a.Hash, b.Hash);
    }

    [Fact]
    public void Extract_DifferentHosts_DifferentHashes()
    {
        Assert.NotEqual(Extract("https://evil.example/x").Single().Hash, Extract("https://evil.example.com/x").Single().Hash);
    }

    [Fact]
    public void Extract_HugeHostileText_StopsAtTheCapAndReportsIt()
    {
        string text = string.Concat(Enumerable.Range(0, 5000).Select(i => $"u{i}@x.example "));
        var values = new List<FlowValue>();

        bool complete = s_extractor.Extract(text, values, 100);

        Assert.False(complete);
        Assert.Equal(100, values.Count);
    }
}

/// <summary>Whole-value trust matching in trusted input text.</summary>
public sealed class FlowTrustedValueTests
{
    private static FlowSession Session(string trustedInput)
    {
        var harness = new FlowHarness();
        harness.Flow.AddTrustedInput(trustedInput);
        return harness.Flow;
    }

    [Theory]
    [InlineData("Book the Le  Marais Boutique for two nights.", "le marais boutique", true)]
    [InlineData("Spotify sent me a note that the price went up.", "Spotify", true)]
    [InlineData("Update the password to '1j1l-2k3j'.", "1j1l-2k3j", true)]
    [InlineData("Update the password to '1j1l-2k3j'.", "1j1l", false)]
    [InlineData("Post to our website www.our-company.com.They sent hobbies.", "www.our-company.com", true)]
    [InlineData("Mail bob@corp.example today.", "corp.example", false)]
    [InlineData("Open www.informations.com please.", "informations.com", true)]
    [InlineData("Open docs.example.com please.", "example.com", false)]
    [InlineData("Pay the invoice.", "invoice-evil", false)]
    public void IsTrustedValue_WholeValueInTrustedInput_OnlyAtValueBoundaries(string input, string value, bool expected)
    {
        Assert.Equal(expected, Session(input).IsTrustedValue(value));
    }
}
