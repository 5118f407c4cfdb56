using System.Collections;
using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using McpGuard.Stdio;

namespace McpGuard.Tests.Stdio;

/// <summary>Environment scrubbing of <see cref="StdioLaunchOptions"/>: baseline, exact grants, glob grants and the secret filter.</summary>
public sealed class StdioEnvironmentTests
{
    private static readonly Dictionary<string, string> Parent = new(StringComparer.Ordinal)
    {
        ["PATH"] = "/usr/bin:/bin",
        ["LANG"] = "C.UTF-8",
        ["HOME"] = "/home/dev",
        ["GITHUB_TOKEN"] = "ghp_parent",
        ["AWS_SECRET_ACCESS_KEY"] = "aws-parent",
        ["AWS_REGION"] = "eu-west-1",
        ["OPENAI_API_KEY"] = "sk-parent",
        ["AZURE_CLIENT_SECRET"] = "azure-parent",
        ["DB_PASSWORD"] = "db-parent",
        ["MYAPP_MODE"] = "fast",
        ["MYAPP_TOKEN"] = "myapp-token-parent",
        ["MYAPP_SIGNING_KEY"] = "myapp-key-parent",
        ["NODE_ENV"] = "production",
    };

    [Theory]
    [InlineData("GITHUB_TOKEN")]
    [InlineData("github_token")]
    [InlineData("GH_TOKEN")]
    [InlineData("NPM_TOKEN")]
    [InlineData("AWS_SECRET_ACCESS_KEY")]
    [InlineData("AWS_ACCESS_KEY_ID")]
    [InlineData("AWS_SESSION_TOKEN")]
    [InlineData("OPENAI_API_KEY")]
    [InlineData("ANTHROPIC_API_KEY")]
    [InlineData("AZURE_CLIENT_SECRET")]
    [InlineData("DB_PASSWORD")]
    [InlineData("MY_SERVICE_KEY")]
    [InlineData("STRIPE_KEY")]
    [InlineData("SSH_AUTH_SOCK")]
    [InlineData("DATABASE_URL")]
    [InlineData("HF_TOKEN")]
    [InlineData("GOOGLE_APPLICATION_CREDENTIALS")]
    [InlineData("MYAPP_PRIVATE_KEY_PEM")]
    public void IsSecretVariableName_SecretLookingName_True(string name) =>
        Assert.True(StdioLaunchOptions.IsSecretVariableName(name));

    [Theory]
    [InlineData("PATH")]
    [InlineData("HOME")]
    [InlineData("LANG")]
    [InlineData("TZ")]
    [InlineData("NODE_ENV")]
    [InlineData("MYAPP_MODE")]
    [InlineData("KEYBOARD_LAYOUT")]
    public void IsSecretVariableName_OrdinaryName_False(string name) =>
        Assert.False(StdioLaunchOptions.IsSecretVariableName(name));

    [Fact]
    public void BuildEnvironment_NoGrants_OnlyBaselineFromParent()
    {
        var stdio = new StdioLaunchOptions { Command = "node", ParentEnvironment = Parent };

        Dictionary<string, string?> env = stdio.BuildEnvironment();

        Assert.Equal(["LANG", "PATH"], env.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void BuildEnvironment_NoParentGiven_HostProcessBaselineOnly()
    {
        var stdio = new StdioLaunchOptions { Command = "node" };

        Dictionary<string, string?> env = stdio.BuildEnvironment();

        Assert.All(env.Keys, k => Assert.Contains(k, StdioLaunchOptions.BaselineVariables));
        Assert.Equal(Environment.GetEnvironmentVariable("PATH"), env["PATH"]);
        Assert.True(Environment.GetEnvironmentVariables().Count > env.Count);
    }

    [Fact]
    public void BuildEnvironment_GlobGrantStar_NoSecretLookingVariable()
    {
        var stdio = new StdioLaunchOptions { Command = "node", ParentEnvironment = Parent, GrantedVariables = { "*" } };

        Dictionary<string, string?> env = stdio.BuildEnvironment();

        Assert.Equal(["HOME", "LANG", "MYAPP_MODE", "NODE_ENV", "PATH"], env.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void BuildEnvironment_PrefixGlob_PassesOrdinaryMatchesOnly()
    {
        var stdio = new StdioLaunchOptions { Command = "node", ParentEnvironment = Parent, GrantedVariables = { "MYAPP_*" } };

        Dictionary<string, string?> env = stdio.BuildEnvironment();

        Assert.Equal("fast", env["MYAPP_MODE"]);
        Assert.DoesNotContain("MYAPP_TOKEN", env.Keys);
        Assert.DoesNotContain("MYAPP_SIGNING_KEY", env.Keys);
    }

    [Fact]
    public void BuildEnvironment_SecretFamilyGlob_PassesNothingOfIt()
    {
        var stdio = new StdioLaunchOptions { Command = "node", ParentEnvironment = Parent, GrantedVariables = { "AWS_*" } };

        Dictionary<string, string?> env = stdio.BuildEnvironment();

        Assert.DoesNotContain(env.Keys, k => k.StartsWith("AWS_", StringComparison.Ordinal));
    }

    [Fact]
    public void BuildEnvironment_SecretGrantedByExactName_Passes()
    {
        var stdio = new StdioLaunchOptions { Command = "node", ParentEnvironment = Parent, GrantedVariables = { "GITHUB_TOKEN", "AWS_REGION" } };

        Dictionary<string, string?> env = stdio.BuildEnvironment();

        Assert.Equal("ghp_parent", env["GITHUB_TOKEN"]);
        Assert.Equal("eu-west-1", env["AWS_REGION"]);
        Assert.DoesNotContain("AWS_SECRET_ACCESS_KEY", env.Keys);
    }

    [Fact]
    public void BuildEnvironment_ExplicitValue_OverridesParent()
    {
        var stdio = new StdioLaunchOptions { Command = "node", ParentEnvironment = Parent, Environment = { ["LANG"] = "de_DE.UTF-8" } };

        Assert.Equal("de_DE.UTF-8", stdio.BuildEnvironment()["LANG"]);
    }

    [Fact]
    public void BuildEnvironment_LegacyDictionaryOverload_SameScrubbing()
    {
        var stdio = new StdioLaunchOptions { Command = "node", GrantedVariables = { "*" } };
        var parent = new Hashtable();
        foreach ((string k, string v) in Parent)
        {
            parent[k] = v;
        }

        Dictionary<string, string?> env = stdio.BuildEnvironment(parent);

        Assert.Equal(["HOME", "LANG", "MYAPP_MODE", "NODE_ENV", "PATH"], env.Keys.Order(StringComparer.Ordinal));
    }

    private static readonly Gen<string> NamePart = Gen.Elements(
        "A", "B", "_", "KEY", "key", "TOKEN", "Token", "AWS_", "GITHUB", "SECRET", "PASSWORD", "APP", "MODE", "PATH", "X", "1", "OPENAI_", "_KEY_", "AUTH");

    private static readonly Gen<string> Names = Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(NamePart, n)).Select(parts => string.Concat(parts));

    private static readonly Gen<string> Globs = Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(Gen.OneOf(NamePart, Gen.Constant("*")), n))
        .Select(parts => string.Concat(parts)).Where(g => g.Contains('*', StringComparison.Ordinal));

    [Fact]
    public void BuildEnvironment_ArbitraryEnvironmentAndGrants_SecretOnlyWhenGrantedByExactName()
    {
        Gen<(string[] Names, string[] Globs, string[] Exact)> cases =
            from names in Gen.Choose(0, 24).SelectMany(n => Gen.ArrayOf(Names, n))
            from globs in Gen.Choose(0, 4).SelectMany(n => Gen.ArrayOf(Globs, n))
            from picked in Gen.ArrayOf(Gen.Elements(true, false, false), names.Length)
            from extra in Gen.Choose(0, 2).SelectMany(n => Gen.ArrayOf(Names, n))
            select (names, globs, names.Where((_, i) => picked[i]).Concat(extra).ToArray());
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            var parent = c.Names.Distinct(StringComparer.Ordinal).ToDictionary(n => n, n => "v-" + n, StringComparer.Ordinal);
            var stdio = new StdioLaunchOptions { Command = "x", ParentEnvironment = parent };
            stdio.GrantedVariables.AddRange(c.Globs);
            stdio.GrantedVariables.AddRange(c.Exact);
            Dictionary<string, string?> env = stdio.BuildEnvironment();
            return env.All(pair =>
                parent.TryGetValue(pair.Key, out string? v) && v == pair.Value
                && (!StdioLaunchOptions.IsSecretVariableName(pair.Key) || c.Exact.Contains(pair.Key) || StdioLaunchOptions.BaselineVariables.Contains(pair.Key)));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void WildcardIsMatch_ArbitraryPatternAndName_AgreesWithRegexReference()
    {
        Gen<(string Pattern, string Name)> cases = from pattern in Globs from name in Names select (pattern, name);
        Prop.ForAll(cases.ToArbitrary(), c =>
        {
            string regex = "^" + string.Concat(c.Pattern.Select(ch => ch == '*' ? ".*" : Regex.Escape(ch.ToString()))) + "$";
            return Wildcard.IsMatch(c.Pattern, c.Name, ignoreCase: false) == Regex.IsMatch(c.Name, regex, RegexOptions.CultureInvariant)
                && Wildcard.IsMatch(c.Pattern, c.Name, ignoreCase: true) == Regex.IsMatch(c.Name, regex, RegexOptions.CultureInvariant | RegexOptions.IgnoreCase);
        }).QuickCheckThrowOnFailure();
    }
}
