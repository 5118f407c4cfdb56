using McpGuard.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace McpGuard.Tests.Pipeline;

public sealed class McpGuardOptionsValidatorTests
{
    private static IReadOnlyList<string> Failures(McpGuardOptions options)
    {
        ValidateOptionsResult result = new McpGuardOptionsValidator().Validate(Options.DefaultName, options);
        return result.Failed ? [.. result.Failures!] : [];
    }

    private static IReadOnlyList<string> RuleFailures(ArgumentRule rule) => Failures(TestCalls.OptionsWithRules("t", rule));

    [Fact]
    public void Validate_Defaults_Succeeds()
    {
        Assert.True(new McpGuardOptionsValidator().Validate(null, new McpGuardOptions()).Succeeded);
    }

    public static TheoryData<string, string> RootSettings => new()
    {
        { "MaxToolsPerServer", "McpGuard:MaxToolsPerServer is 0; set it between 1 and 1000000." },
        { "MaxToolDefinitionBytes", "McpGuard:MaxToolDefinitionBytes is 1023; set it between 1024 and 67108864." },
        { "MaxArgumentBytes", "McpGuard:MaxArgumentBytes is 0; set it between 1 and 268435456." },
        { "MaxCatalogPages", "McpGuard:MaxCatalogPages is 10001; set it between 1 and 10000." },
        { "CatalogRefreshTimeout", "McpGuard:CatalogRefreshTimeout is 00:00:00.0500000; set it between 00:00:00.1 and 00:10:00." },
        { "Approval:Timeout", "McpGuard:Approval:Timeout is 00:00:00; set it between 00:00:00.01 and 1.00:00:00." },
    };

    [Theory]
    [MemberData(nameof(RootSettings))]
    public void Validate_RootSettingOutOfRange_MessageNamesSettingAndRange(string setting, string expected)
    {
        var o = new McpGuardOptions();
        switch (setting)
        {
            case "MaxToolsPerServer": o.MaxToolsPerServer = 0; break;
            case "MaxToolDefinitionBytes": o.MaxToolDefinitionBytes = 1023; break;
            case "MaxArgumentBytes": o.MaxArgumentBytes = 0; break;
            case "MaxCatalogPages": o.MaxCatalogPages = 10_001; break;
            case "CatalogRefreshTimeout": o.CatalogRefreshTimeout = TimeSpan.FromMilliseconds(50); break;
            default: o.Approval.Timeout = TimeSpan.Zero; break;
        }

        Assert.Equal([expected], Failures(o));
    }

    [Fact]
    public void Validate_EmptyServerName_MessageSaysToNameIt()
    {
        var o = new McpGuardOptions();
        o.Servers[" "] = new GuardServerOptions();

        Assert.Contains("McpGuard:Servers has an empty server name; give every registration a name.", Failures(o));
    }

    [Fact]
    public void Validate_StdioWithoutCommand_MessageNamesSetting()
    {
        McpGuardOptions o = TestCalls.Options(s => s.Stdio = new StdioLaunchOptions());

        Assert.Equal(["McpGuard:Servers:srv:Stdio:Command is empty; set the executable to launch."], Failures(o));
    }

    [Fact]
    public void Validate_ToolMaxArgumentBytesZero_MessageNamesSetting()
    {
        McpGuardOptions o = TestCalls.Options(s => s.Tools["t"] = new GuardToolOptions { MaxArgumentBytes = 0 });

        Assert.Equal(["McpGuard:Servers:srv:Tools:t:MaxArgumentBytes must be at least 1."], Failures(o));
    }

    [Theory]
    [InlineData(double.NaN, "NaN")]
    [InlineData(1.5, "1.5")]
    [InlineData(0.0, "0")]
    public void Validate_OverrideThresholdOutOfRange_MessageNamesServerAndToolSetting(double threshold, string shown)
    {
        // Above 1 or NaN nothing is ever flagged: an override like that would switch detection off without a word.
        McpGuardOptions o = TestCalls.Options(s =>
        {
            s.Isolation = new ContentIsolationPolicy { Threshold = threshold };
            s.Tools["t"] = new GuardToolOptions { Isolation = new ContentIsolationPolicy { Threshold = threshold } };
        });

        Assert.Equal(
            [$"McpGuard:Servers:srv:Isolation:Threshold is {shown}; set it between 0.01 and 1.", $"McpGuard:Servers:srv:Tools:t:Isolation:Threshold is {shown}; set it between 0.01 and 1."],
            Failures(o));
    }

    [Fact]
    public void Validate_TrustLevelThresholdAboveOne_MessageNamesLevel()
    {
        var o = new McpGuardOptions();
        o.Isolation.Trusted.Threshold = 2;

        Assert.Equal(["McpGuard:Isolation:Trusted:Threshold is 2; set it between 0.01 and 1."], Failures(o));
    }

    [Fact]
    public void Validate_InvalidRulePath_MessageNamesSettingAndSyntax()
    {
        string failure = Assert.Single(RuleFailures(new ArgumentRule { Path = "$..a" }));

        Assert.StartsWith("McpGuard:Servers:srv:Tools:t:Arguments:0:Path: ", failure, StringComparison.Ordinal);
        Assert.EndsWith("Use $, .name, ['name'], [index], [*] or .*.", failure, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(@"(a)\1")]
    [InlineData("(?=a)a")]
    [InlineData("(?<!a)b")]
    [InlineData("(?>a)")]
    [InlineData("(unclosed")]
    public void Validate_PatternNotLinearTime_MessageNamesSettingAndFix(string pattern)
    {
        string failure = Assert.Single(RuleFailures(new ArgumentRule { Path = "$.a", Pattern = pattern }));

        Assert.StartsWith("McpGuard:Servers:srv:Tools:t:Arguments:0:Pattern is not a valid linear-time", failure, StringComparison.Ordinal);
        Assert.EndsWith("Remove backreferences, look-arounds and atomic groups.", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_RelativeAllowedRoot_MessageNamesEntry()
    {
        Assert.Equal(
            ["McpGuard:Servers:srv:Tools:t:Arguments:0:AllowedRoots entry 'data' is not an absolute path; use a fully qualified directory."],
            RuleFailures(new ArgumentRule { AllowedRoots = { "data" } }));
    }

    [Fact]
    public void Validate_RelativeRelativePathBase_MessageNamesSetting()
    {
        Assert.Equal(
            ["McpGuard:Servers:srv:Tools:t:Arguments:0:RelativePathBase './x' is not an absolute path."],
            RuleFailures(new ArgumentRule { AllowedRoots = { "/srv" }, RelativePathBase = "./x" }));
    }

    [Fact]
    public void Validate_MinimumAboveMaximum_MessageNamesRule()
    {
        Assert.Equal(["McpGuard:Servers:srv:Tools:t:Arguments:0: Minimum is greater than Maximum."], RuleFailures(new ArgumentRule { Minimum = 2, Maximum = 1 }));
    }

    [Theory]
    [InlineData(5, 4, null)]
    [InlineData(-1, null, null)]
    [InlineData(null, null, -1)]
    public void Validate_InconsistentLengths_MessageSaysWhatToUse(int? minLength, int? maxLength, int? maxItems)
    {
        Assert.Equal(
            ["McpGuard:Servers:srv:Tools:t:Arguments:0: MinLength/MaxLength/MaxItems are inconsistent; use 0 <= MinLength <= MaxLength and MaxItems >= 0."],
            RuleFailures(new ArgumentRule { MinLength = minLength, MaxLength = maxLength, MaxItems = maxItems }));
    }

    [Fact]
    public void Validate_SeveralProblems_ReportsEveryOne()
    {
        McpGuardOptions o = TestCalls.OptionsWithRules("t", new ArgumentRule { Path = "x", Pattern = @"(a)\1" }, new ArgumentRule { AllowedRoots = { "rel" } });
        o.MaxToolsPerServer = 0;

        Assert.Equal(4, Failures(o).Count);
    }

    [Fact]
    public void EngineBuild_InvalidOptions_ThrowsOptionsValidationException()
    {
        var o = new McpGuardOptions { MaxToolsPerServer = 0 };

        OptionsValidationException ex = Assert.Throws<OptionsValidationException>(() => new McpGuardEngineBuilder(o).Build());

        Assert.Contains("McpGuard:MaxToolsPerServer", ex.Message, StringComparison.Ordinal);
    }
}
