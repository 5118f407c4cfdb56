using McpGuard.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpGuard.Tests.Isolation;

/// <summary><see cref="ContentIsolationPolicy.Sanitizer"/>: sanitizer options per trust level, server and tool, over the SDK's real in-process server.</summary>
public sealed class PolicySanitizerTests
{
    private const string Page = "Release notes.<!-- build 42, reviewed --> Version 2 ships today.";

    // Each server's tool has its own name: equal names on two connected servers are a name collision (approval).
    private static InProcessServer Start(string name, string page) => InProcessServer.Start(name, "1.0",
        McpServerTool.Create(() => page, new McpServerToolCreateOptions { Name = ToolOf(name) }));

    private static string ToolOf(string serverName) => "read_" + serverName.Replace("-server", "", StringComparison.Ordinal);

    private static async Task<string> ReadAsync(McpGuardEngine engine, InProcessServer server, string registration)
    {
        using var timeout = new CancellationTokenSource(GuardedConnection.TestTimeout);
        GuardedClientTransport transport = engine.WrapTransport(server.CreateClientTransport(), registration);
        await using McpClient client = await engine.ConnectAsync(transport, cancellationToken: timeout.Token);
        CallToolResult result = await client.CallToolAsync(ToolOf(registration + "-server"), cancellationToken: timeout.Token);
        return string.Concat(result.Content.OfType<TextContentBlock>().Select(b => b.Text));
    }

    [Fact]
    public async Task AddMcpGuard_BoundTrustedSanitizer_TrustedServerKeepsCommentUntrustedLosesIt()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["McpGuard:DefaultToolAccess"] = "Allow",
            ["McpGuard:Servers:internal:ContentTrust"] = "Trusted",
            ["McpGuard:Servers:web:ContentTrust"] = "Untrusted",
            ["McpGuard:Isolation:Trusted:Sanitizer:RemoveHiddenMarkup"] = "false",
        }).Build();
        var services = new ServiceCollection();
        services.AddMcpGuard().BindConfiguration(configuration.GetSection(McpGuardOptions.SectionName));
        await using ServiceProvider provider = services.BuildServiceProvider();
        McpGuardEngine engine = provider.GetRequiredService<McpGuardEngine>();
        await using InProcessServer internalServer = Start("internal-server", Page);
        await using InProcessServer webServer = Start("web-server", Page);

        string trusted = await ReadAsync(engine, internalServer, "internal");
        string untrusted = await ReadAsync(engine, webServer, "web");

        Assert.Equal(Page, trusted);
        Assert.Equal("Release notes." + ContentSanitizer.CommentPlaceholder + " Version 2 ships today.", untrusted);
    }

    [Fact]
    public async Task CallToolAsync_ToolPolicyWithSmallBlockCap_OnlyThatToolTruncated()
    {
        string page = new('n', 2000);
        var options = new McpGuardOptions { DefaultToolAccess = ToolAccess.Allow };
        options.Servers["small"] = new GuardServerOptions();
        options.Servers["small"].Tools["read_small"] = new GuardToolOptions { Isolation = new ContentIsolationPolicy { Sanitizer = new SanitizerOptions { MaxBlockChars = 256 } } };
        options.Servers["large"] = new GuardServerOptions();
        await using McpGuardEngine engine = new McpGuardEngineBuilder(options).Build();
        await using InProcessServer small = Start("small-server", page);
        await using InProcessServer large = Start("large-server", page);

        string capped = await ReadAsync(engine, small, "small");
        string whole = await ReadAsync(engine, large, "large");

        Assert.True(capped.Length <= 256);
        Assert.Contains("truncated by the host", capped, StringComparison.Ordinal);
        Assert.Equal(page, whole);
    }

    [Fact]
    public async Task SanitizerFor_PolicyOptions_AllowedLinkHostsAddToTheGlobalList()
    {
        var options = new McpGuardOptions();
        options.Isolation.Sanitizer.AllowedLinkHosts.Add("img.global.example");
        options.Isolation.Trusted.Sanitizer = new SanitizerOptions { RemoveHiddenMarkup = false };
        options.Isolation.Trusted.Sanitizer.AllowedLinkHosts.Add("img.trusted.example");
        await using McpGuardEngine engine = new McpGuardEngineBuilder(options).Build();
        string text = "![a](https://img.global.example/a.png) ![b](https://img.trusted.example/b.png)";

        string trusted = engine.Isolation.SanitizerFor(options.Isolation.Trusted).Sanitize(text).Text;
        string untrusted = engine.Isolation.SanitizerFor(options.Isolation.Untrusted).Sanitize(text).Text;

        Assert.Same(text, trusted);
        Assert.Equal("![a](https://img.global.example/a.png) b \u27E6image removed: img.trusted.example\u27E7", untrusted);
    }

    [Fact]
    public void Build_PolicySanitizerOutOfRange_ValidationNamesTheSetting()
    {
        var options = new McpGuardOptions();
        options.Isolation.Trusted.Sanitizer = new SanitizerOptions { MaxBlockChars = 10 };
        options.Servers["docs"] = new GuardServerOptions { Isolation = new ContentIsolationPolicy { Sanitizer = new SanitizerOptions { MaxFindings = 0 } } };

        OptionsValidationException error = Assert.Throws<OptionsValidationException>(() => new McpGuardEngineBuilder(options).Build());

        Assert.Contains(error.Failures, f => f.StartsWith("McpGuard:Isolation:Trusted:Sanitizer:MaxBlockChars", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.StartsWith("McpGuard:Servers:docs:Isolation:Sanitizer:MaxFindings", StringComparison.Ordinal));
    }
}
