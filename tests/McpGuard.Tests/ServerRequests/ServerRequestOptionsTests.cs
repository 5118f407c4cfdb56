using System.Text.Json;
using McpGuard.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpGuard.Tests.ServerRequests;

public sealed class ServerRequestOptionsTests
{
    private static McpGuardOptions Bind(Dictionary<string, string?> keys)
    {
        var services = new ServiceCollection();
        services.AddMcpGuard().BindConfiguration(new ConfigurationBuilder().AddInMemoryCollection(keys).Build().GetSection("McpGuard"));
        using ServiceProvider provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<McpGuardOptions>>().Value;
    }

    private static OptionsValidationException StartupFailure(Action<GuardServerOptions> configure)
    {
        var services = new ServiceCollection();
        services.AddMcpGuard(o =>
        {
            o.Servers["fs"] = new GuardServerOptions();
            configure(o.Servers["fs"]);
        });
        using ServiceProvider provider = services.BuildServiceProvider();
        return Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
    }

    [Fact]
    public void BindConfiguration_ServerRequestSections_Populated()
    {
        McpGuardOptions o = Bind(new()
        {
            ["McpGuard:Servers:fs:Roots:AllowedRoots:0"] = "/srv/project",
            ["McpGuard:Servers:fs:Roots:AllowedRoots:1"] = "file:///srv/docs",
            ["McpGuard:Servers:fs:Roots:PathCase"] = "Sensitive",
            ["McpGuard:Servers:fs:Elicitation:Access"] = "RequireApproval",
            ["McpGuard:Servers:fs:Elicitation:AllowedUrlHosts:0"] = "*.example.com",
            ["McpGuard:Servers:fs:Elicitation:AdditionalSecretTerms:0"] = "unseal share",
            ["McpGuard:Servers:fs:Elicitation:MaxRequestBytes"] = "4096",
            ["McpGuard:Servers:fs:Sampling:Enabled"] = "true",
            ["McpGuard:Servers:fs:Sampling:MaxTokens"] = "512",
            ["McpGuard:Servers:fs:Sampling:AllowTools"] = "true",
            ["McpGuard:Servers:fs:Sampling:AllowIncludeContext"] = "true",
            ["McpGuard:Servers:fs:Sampling:MaxRequestsPerSession"] = "20",
        });

        GuardServerOptions s = o.Servers["fs"];
        Assert.Equal(["/srv/project", "file:///srv/docs"], s.Roots.AllowedRoots);
        Assert.Equal(PathCaseSensitivity.Sensitive, s.Roots.PathCase);
        Assert.Equal((ElicitationAccess.RequireApproval, 4096), (s.Elicitation.Access, s.Elicitation.MaxRequestBytes));
        Assert.Equal(["*.example.com"], s.Elicitation.AllowedUrlHosts);
        Assert.Equal(["unseal share"], s.Elicitation.AdditionalSecretTerms);
        Assert.Equal((true, (int?)512, true, true, (int?)20), (s.Sampling.Enabled, s.Sampling.MaxTokens, s.Sampling.AllowTools, s.Sampling.AllowIncludeContext, s.Sampling.MaxRequestsPerSession));
    }

    [Fact]
    public void Defaults_FailClosed()
    {
        var s = new GuardServerOptions();

        Assert.Empty(s.Roots.AllowedRoots);
        Assert.Equal(ElicitationAccess.Screen, s.Elicitation.Access);
        Assert.False(s.Sampling.Enabled);
        Assert.False(s.Sampling.AllowTools);
        Assert.False(s.Sampling.AllowIncludeContext);
    }

    [Theory]
    [InlineData("relative/dir")]
    [InlineData("file://host.example/share")]
    [InlineData("https://example.com/")]
    [InlineData("")]
    public void StartupValidator_BadAllowedRoot_FailsNamingTheSetting(string root)
    {
        OptionsValidationException ex = StartupFailure(s => s.Roots.AllowedRoots.Add(root));

        Assert.Contains(ex.Failures, f => f.StartsWith("McpGuard:Servers:fs:Roots:AllowedRoots", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("*")]
    [InlineData("a*.example.com")]
    [InlineData("https://example.com")]
    public void StartupValidator_BadUrlHost_FailsNamingTheSetting(string host)
    {
        OptionsValidationException ex = StartupFailure(s => s.Elicitation.AllowedUrlHosts.Add(host));

        Assert.Contains(ex.Failures, f => f.StartsWith("McpGuard:Servers:fs:Elicitation:AllowedUrlHosts", StringComparison.Ordinal));
    }

    [Fact]
    public void StartupValidator_OutOfRangeLimits_FailNamingEachSetting()
    {
        OptionsValidationException ex = StartupFailure(s =>
        {
            s.Elicitation.MaxRequestBytes = 10;
            s.Elicitation.Access = (ElicitationAccess)42;
            s.Sampling.MaxTokens = 0;
            s.Sampling.MaxRequestsPerSession = -1;
            s.Sampling.MaxRequestBytes = 0;
        });

        foreach (string setting in new[] { "Elicitation:MaxRequestBytes", "Elicitation:Access", "Sampling:MaxTokens", "Sampling:MaxRequestsPerSession", "Sampling:MaxRequestBytes" })
        {
            Assert.Contains(ex.Failures, f => f.StartsWith("McpGuard:Servers:fs:" + setting, StringComparison.Ordinal));
        }
    }

    [Fact]
    public void StartupValidator_ValidServerRequestSettings_Pass()
    {
        var services = new ServiceCollection();
        services.AddMcpGuard(o =>
        {
            var s = new GuardServerOptions();
            s.Roots.AllowedRoots.AddRange(["/srv/project", "file:///srv/docs", "file://localhost/srv/other"]);
            s.Elicitation.AllowedUrlHosts.AddRange(["auth.example.com", "*.example.org", "bücher.example"]);
            s.Sampling.MaxTokens = 1000;
            o.Servers["fs"] = s;
        });
        using ServiceProvider provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStartupValidator>().Validate();
    }

    [Fact]
    public async Task AddElicitationApprovalHandler_Delegate_UsedByTheEngineOnARealServer()
    {
        int reviews = 0;
        int elicitations = 0;
        var services = new ServiceCollection();
        services.AddMcpGuard(o => o.Servers["helper"] = new GuardServerOptions { DefaultToolAccess = ToolAccess.Allow })
            .AddElicitationApprovalHandler((request, _) =>
            {
                Interlocked.Increment(ref reviews);
                return ValueTask.FromResult(request.Approve("di-approver"));
            });
        await using ServiceProvider provider = services.BuildServiceProvider();
        McpGuardEngine engine = provider.GetRequiredService<McpGuardEngine>();
        await using InProcessServer server = InProcessServer.Start("helper", "1.0", McpServerTool.Create(async (McpServer s, CancellationToken ct) =>
        {
            ElicitResult result = await s.ElicitAsync(new ElicitRequestParams
            {
                Message = "Sign in",
                RequestedSchema = new() { Properties = new Dictionary<string, ElicitRequestParams.PrimitiveSchemaDefinition> { ["password"] = new ElicitRequestParams.StringSchema() } },
            }, ct);
            return result.Action;
        }, new() { Name = "ask" }));
        using var timeout = new CancellationTokenSource(GuardedConnection.TestTimeout);
        await using McpClient client = await engine.ConnectAsync(engine.WrapTransport(server.CreateClientTransport(), "helper"), new McpClientOptions
        {
            Handlers = new McpClientHandlers
            {
                ElicitationHandler = (_, _) =>
                {
                    Interlocked.Increment(ref elicitations);
                    return ValueTask.FromResult(new ElicitResult { Action = "accept", Content = new Dictionary<string, JsonElement>() });
                },
            },
        }, timeout.Token);

        CallToolResult result = await client.CallToolAsync("ask", cancellationToken: timeout.Token);

        Assert.Equal("accept", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
        Assert.Equal((1, 1), (reviews, elicitations));
    }
}
