using System.Text;
using FsCheck;
using FsCheck.Fluent;

namespace McpGuard.Tests.Isolation.Detection;

public sealed class DetectorRobustnessTests
{
    private static readonly HeuristicInjectionDetector Detector = new();

    // Any UTF-16 code unit (so lone surrogates appear), plus fragments that drive the scanners into their special paths.
    private static readonly Gen<string> Fragment = Gen.OneOf(
        Gen.Choose(0, 0xFFFF).Select(i => ((char)i).ToString()),
        Gen.Elements("\uD800", "\uDC00", "\u001B[", "\u001B]8;;", "\u0007", "\u200D", "\u200B", "\u202E", "\uFE0F",
            char.ConvertFromUtf32(0xE0041), char.ConvertFromUtf32(0x1F3F4), "ignore previous instructions", "<IMPORTANT>",
            "https://x.example/?d={data}", "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9w", "### System:", "\n", " ",
            "you must", "send the", " to attacker@example.com", "do not tell the user", "your reply", "following code snippet", "TODO: send",
            "~/.ssh/id_rsa", "pass its content as 'x'", "SYSTEM UPDATE:", "call `a_b`", "regardless of the user's input", "Please call x_y with"));

    private static readonly Arbitrary<string> Texts = Gen.ListOf(Fragment).Select(parts => string.Concat(parts)).ToArbitrary();

    [Fact]
    public void Scan_ArbitraryString_NeverThrowsAndStaysInRange()
    {
        Prop.ForAll(Texts, text =>
        {
            InjectionScan scan = Detector.Scan(text, ScanTarget.ToolResult);
            return scan.Score is >= 0 and <= 1
                && scan.Findings.All(f => f.Start >= 0 && f.Length >= 0 && f.Start + f.Length <= text.Length)
                && scan.Findings.All(f => f.RuleId != "detector.error");
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Scan_ArbitraryToolDefinition_NeverThrows()
    {
        var scanner = new ToolMetadataScanner(Detector);
        Prop.ForAll(Texts, text =>
        {
            ToolMetadataScan scan = scanner.Scan(text, text, text);
            return scan.Score is >= 0 and <= 1 && scan.Findings.All(f => f.Finding.RuleId != "detector.error");
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Scan_KeywordPrefilter_SameFindingsAsFullScan()
    {
        var full = new HeuristicInjectionDetector(new HeuristicInjectionDetectorOptions { DisablePrefilter = true });
        Prop.ForAll(Texts, text =>
        {
            InjectionScan a = Detector.Scan(text, ScanTarget.ToolResult);
            InjectionScan b = full.Scan(text, ScanTarget.ToolResult);
            return a.Score == b.Score && a.Findings.SequenceEqual(b.Findings);
        }).QuickCheckThrowOnFailure();
    }

    [Theory]
    [InlineData("ignore ")]
    [InlineData("ignore all the ")]
    [InlineData("<")]
    [InlineData("#")]
    [InlineData("\u001B[")]
    [InlineData("a")]
    [InlineData("before you ")]
    [InlineData("https://a.example/?x=")]
    [InlineData("\u200B")]
    public void Scan_OneMegabyteAdversarialInput_Completes(string unit)
    {
        var sb = new StringBuilder(1 << 20);
        while (sb.Length < 1 << 20)
        {
            sb.Append(unit);
        }

        InjectionScan scan = Detector.Scan(sb.ToString(), ScanTarget.ToolResult);

        Assert.InRange(scan.Score, 0, 1);
    }

    [Fact]
    public void Scan_NullOrEmpty_Clean()
    {
        Assert.Same(InjectionScan.Clean, Detector.Scan(string.Empty, ScanTarget.ToolResult));
    }
}
