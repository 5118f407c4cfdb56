using System.Text;
using McpGuard.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpGuard.Tests.DependencyInjection;

public sealed class McpGuardServiceCollectionExtensionsTests
{
    private const string ConfigJson = """
        {
          "McpGuard": {
            "DefaultToolAccess": "Allow",
            "MaxArgumentBytes": 4096,
            "Approval": { "Timeout": "00:00:05" },
            "Evidence": { "IncludeRawArguments": true, "LogEvents": false },
            "Servers": {
              "filesystem": {
                "ExpectedName": "secure-filesystem-server",
                "ExpectedVersion": "0.2.0",
                "DefaultToolAccess": "Hidden",
                "AllowedAgents": [ "file-agent", "review-agent" ],
                "Authority": { "CredentialLabel": "none", "Scopes": [ "files:read" ] },
                "Stdio": {
                  "Command": "node",
                  "Arguments": [ "server.js", "/srv/sandbox" ],
                  "GrantedVariables": [ "LANG" ],
                  "Environment": { "MODE": "strict" }
                },
                "Tools": {
                  "read_file": {
                    "Access": "Allow",
                    "AllowedAgents": [ "file-agent" ],
                    "RequiredProperties": [ "path" ],
                    "ForbiddenProperties": [ "recursive" ],
                    "MaxArgumentBytes": 1024,
                    "Arguments": [
                      { "Path": "$.path", "AllowedRoots": [ "/srv/sandbox" ], "PathCase": "Sensitive", "Id": "fs.sandbox" },
                      { "Path": "$.url", "AllowedSchemes": [ "https" ], "AllowedHosts": [ "*.example.com" ] },
                      { "Path": "$.mode", "AllowedValues": [ "text", "base64" ], "MinLength": 1, "MaxLength": 8 },
                      { "Path": "$.count", "Minimum": 1, "Maximum": 10.5, "Pattern": "[0-9]+", "MaxItems": 3 }
                    ]
                  },
                  "write_file": { "Access": "RequireApproval" }
                }
              }
            }
          }
        }
        """;

    private static IConfigurationSection JsonSection() =>
        new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(ConfigJson))).Build().GetSection(McpGuardOptions.SectionName);

    private static McpGuardOptions Bind(IConfiguration section)
    {
        var services = new ServiceCollection();
        services.AddMcpGuard().BindConfiguration(section);
        using ServiceProvider provider = services.BuildServiceProvider();
        return provider.GetRequiredService<IOptions<McpGuardOptions>>().Value;
    }

    [Fact]
    public void AddMcpGuard_CalledTwice_RegistersOneEngineAndOneValidator()
    {
        var services = new ServiceCollection();
        services.AddMcpGuard(o => o.Servers["a"] = new GuardServerOptions());
        services.AddMcpGuard(o => o.Servers["b"] = new GuardServerOptions());

        Assert.Single(services, d => d.ServiceType == typeof(McpGuardEngine));
        Assert.Single(services, d => d.ServiceType == typeof(IValidateOptions<McpGuardOptions>));
    }

    [Fact]
    public async Task AddMcpGuard_CalledTwice_BothConfigurationsApplyToTheSingleEngine()
    {
        var services = new ServiceCollection();
        services.AddMcpGuard(o => o.Servers["a"] = new GuardServerOptions());
        services.AddMcpGuard(o => o.Servers["b"] = new GuardServerOptions());
        await using ServiceProvider provider = services.BuildServiceProvider();

        McpGuardEngine engine = provider.GetRequiredService<McpGuardEngine>();

        Assert.Same(engine, provider.GetRequiredService<McpGuardEngine>());
        Assert.Equal(["a", "b"], engine.ServerNames.Order());
    }

    [Fact]
    public void BindConfiguration_JsonSection_PopulatesRootSettings()
    {
        McpGuardOptions o = Bind(JsonSection());

        Assert.Equal((ToolAccess.Allow, 4096, TimeSpan.FromSeconds(5), true, false), (o.DefaultToolAccess, o.MaxArgumentBytes, o.Approval.Timeout, o.Evidence.IncludeRawArguments, o.Evidence.LogEvents));
    }

    [Fact]
    public void BindConfiguration_JsonSection_PopulatesServerRegistration()
    {
        GuardServerOptions server = Assert.Single(Bind(JsonSection()).Servers).Value;

        Assert.Equal(("secure-filesystem-server", "0.2.0", (ToolAccess?)ToolAccess.Hidden), (server.ExpectedName, server.ExpectedVersion, server.DefaultToolAccess));
        Assert.Equal(["file-agent", "review-agent"], server.AllowedAgents);
        Assert.Equal("none", server.Authority.CredentialLabel);
        Assert.Equal(["files:read"], server.Authority.Scopes);
    }

    [Fact]
    public void BindConfiguration_JsonSection_PopulatesStdioLaunchSettings()
    {
        StdioLaunchOptions stdio = Bind(JsonSection()).Servers["filesystem"].Stdio!;

        Assert.Equal("node", stdio.Command);
        Assert.Equal(["server.js", "/srv/sandbox"], stdio.Arguments);
        Assert.Equal(["LANG"], stdio.GrantedVariables);
        Assert.Equal("strict", stdio.Environment["MODE"]);
    }

    [Fact]
    public void BindConfiguration_JsonSection_PopulatesToolSettings()
    {
        Dictionary<string, GuardToolOptions> tools = Bind(JsonSection()).Servers["filesystem"].Tools;
        GuardToolOptions read = tools["read_file"];

        Assert.Equal((ToolAccess.Allow, (int?)1024, ToolAccess.RequireApproval), (read.Access, read.MaxArgumentBytes, tools["write_file"].Access));
        Assert.Equal(["file-agent"], read.AllowedAgents);
        Assert.Equal(["path"], read.RequiredProperties);
        Assert.Equal(["recursive"], read.ForbiddenProperties);
    }

    [Fact]
    public void BindConfiguration_JsonSection_PopulatesArgumentRules()
    {
        List<ArgumentRule> rules = Bind(JsonSection()).Servers["filesystem"].Tools["read_file"].Arguments;

        Assert.Equal(4, rules.Count);
        Assert.Equal(("$.path", "fs.sandbox", PathCaseSensitivity.Sensitive), (rules[0].Path, rules[0].Id, rules[0].PathCase));
        Assert.Equal(["/srv/sandbox"], rules[0].AllowedRoots);
        Assert.Equal(["https"], rules[1].AllowedSchemes);
        Assert.Equal(["*.example.com"], rules[1].AllowedHosts);
        Assert.Equal(["text", "base64"], rules[2].AllowedValues);
        Assert.Equal(((int?)1, (int?)8), (rules[2].MinLength, rules[2].MaxLength));
        Assert.Equal(((double?)1, (double?)10.5, "[0-9]+", (int?)3), (rules[3].Minimum, rules[3].Maximum, rules[3].Pattern, rules[3].MaxItems));
    }

    [Fact]
    public void BindConfiguration_InMemoryKeys_PopulatesNestedGetOnlyCollections()
    {
        IConfiguration section = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["McpGuard:Approval:Timeout"] = "00:01:30",
            ["McpGuard:Servers:fs:AllowedAgents:0"] = "file-agent",
            ["McpGuard:Servers:fs:Tools:read_file:Access"] = "RequireApproval",
            ["McpGuard:Servers:fs:Tools:read_file:Arguments:0:Path"] = "$.path",
            ["McpGuard:Servers:fs:Tools:read_file:Arguments:0:AllowedRoots:0"] = "/srv/a",
            ["McpGuard:Servers:fs:Tools:read_file:Arguments:0:AllowedRoots:1"] = "/srv/b",
        }).Build().GetSection("McpGuard");

        McpGuardOptions o = Bind(section);

        GuardToolOptions tool = o.Servers["fs"].Tools["read_file"];
        Assert.Equal(TimeSpan.FromSeconds(90), o.Approval.Timeout);
        Assert.Equal(["file-agent"], o.Servers["fs"].AllowedAgents);
        Assert.Equal(ToolAccess.RequireApproval, tool.Access);
        Assert.Equal(["/srv/a", "/srv/b"], Assert.Single(tool.Arguments).AllowedRoots);
    }

    [Fact]
    public void BindConfiguration_ThenCodeConfiguration_CodeRunsAfterBinding()
    {
        var services = new ServiceCollection();
        services.AddMcpGuard().BindConfiguration(JsonSection());
        services.AddMcpGuard(o => o.Servers["filesystem"].Tools["read_file"].AllowedAgents.Add("added-in-code"));
        using ServiceProvider provider = services.BuildServiceProvider();

        McpGuardOptions o = provider.GetRequiredService<IOptions<McpGuardOptions>>().Value;

        Assert.Equal(["file-agent", "added-in-code"], o.Servers["filesystem"].Tools["read_file"].AllowedAgents);
    }

    private static OptionsValidationException StartupFailure(Action<McpGuardOptions> configure)
    {
        var services = new ServiceCollection();
        services.AddMcpGuard(configure);
        using ServiceProvider provider = services.BuildServiceProvider();
        return Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());
    }

    [Fact]
    public void StartupValidator_PatternWithBackreference_FailsNamingTheSetting()
    {
        OptionsValidationException ex = StartupFailure(o =>
        {
            o.Servers["fs"] = new GuardServerOptions();
            o.Servers["fs"].Tools["t"] = new GuardToolOptions { Arguments = { new ArgumentRule { Path = "$.a", Pattern = @"(a)\1" } } };
        });

        Assert.Contains(ex.Failures, f => f.StartsWith("McpGuard:Servers:fs:Tools:t:Arguments:0:Pattern", StringComparison.Ordinal));
    }

    [Fact]
    public void StartupValidator_RelativeAllowedRoot_FailsNamingTheSetting()
    {
        OptionsValidationException ex = StartupFailure(o =>
        {
            o.Servers["fs"] = new GuardServerOptions();
            o.Servers["fs"].Tools["t"] = new GuardToolOptions { Arguments = { new ArgumentRule { Path = "$.a", AllowedRoots = { "relative/dir" } } } };
        });

        Assert.Contains(ex.Failures, f => f.Contains("McpGuard:Servers:fs:Tools:t:Arguments:0:AllowedRoots", StringComparison.Ordinal) && f.Contains("relative/dir", StringComparison.Ordinal));
    }

    [Fact]
    public void StartupValidator_MaxToolsPerServerZero_FailsNamingTheSetting()
    {
        OptionsValidationException ex = StartupFailure(o => o.MaxToolsPerServer = 0);

        Assert.Contains(ex.Failures, f => f.StartsWith("McpGuard:MaxToolsPerServer is 0", StringComparison.Ordinal));
    }

    [Fact]
    public void StartupValidator_InvalidBoundConfiguration_Fails()
    {
        IConfiguration section = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["McpGuard:Approval:Timeout"] = "2.00:00:00",
        }).Build().GetSection("McpGuard");
        var services = new ServiceCollection();
        services.AddMcpGuard().BindConfiguration(section);
        using ServiceProvider provider = services.BuildServiceProvider();

        OptionsValidationException ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<IStartupValidator>().Validate());

        Assert.Contains(ex.Failures, f => f.StartsWith("McpGuard:Approval:Timeout", StringComparison.Ordinal));
    }

    [Fact]
    public void StartupValidator_ValidOptions_Passes()
    {
        var services = new ServiceCollection();
        services.AddMcpGuard().BindConfiguration(JsonSection());
        using ServiceProvider provider = services.BuildServiceProvider();

        provider.GetRequiredService<IStartupValidator>().Validate();
    }

    [Fact]
    public void ResolveEngine_InvalidOptions_ThrowsOptionsValidationException()
    {
        var services = new ServiceCollection();
        services.AddMcpGuard(o => o.MaxArgumentBytes = 0);
        using ServiceProvider provider = services.BuildServiceProvider();

        Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<McpGuardEngine>());
    }

    private sealed class MarkerPolicy : IToolCallPolicy
    {
        public ValueTask<GuardDecision> EvaluateAsync(ToolCallContext context, CancellationToken cancellationToken) => new(GuardDecision.Allow);
    }

    /// <summary>Registered by type through DI; collects events like <see cref="EvidenceCollector"/>.</summary>
    private sealed class TypedSink : IGuardEvidenceSink
    {
        public List<GuardEvidence> Events { get; } = [];

        public ValueTask WriteAsync(GuardEvidence evidence, CancellationToken cancellationToken)
        {
            lock (Events)
            {
                Events.Add(evidence);
            }

            return ValueTask.CompletedTask;
        }
    }

    private sealed class RejectAll : IToolApprovalHandler
    {
        public ValueTask<ToolApprovalResponse> RequestApprovalAsync(ToolApprovalRequest request, CancellationToken cancellationToken) => new(request.Reject("typed"));
    }

    [Fact]
    public async Task AddPolicyOfType_AddedTwice_EngineRunsItOnceAfterBuiltInStages()
    {
        var services = new ServiceCollection();
        services.AddMcpGuard().AddPolicy<MarkerPolicy>().AddPolicy<MarkerPolicy>();
        await using ServiceProvider provider = services.BuildServiceProvider();

        string[] stages = [.. provider.GetRequiredService<McpGuardEngine>().Pipeline.Stages.Select(s => s.Name)];

        Assert.Equal(["inventory", "visibility", "arguments", "credential-passthrough", "isolation", "policy:MarkerPolicy"], stages);
    }

    private static InProcessServer EchoServer() => InProcessServer.Start(
        "demo-server",
        "1.0.0",
        McpServerTool.Create((string text) => "echo:" + text, new() { Name = "echo" }),
        McpServerTool.Create((string text) => "wrote:" + text, new() { Name = "write" }));

    private static void Register(McpGuardOptions o)
    {
        o.Servers["demo"] = new GuardServerOptions { ExpectedName = "demo-server" };
        o.Servers["demo"].Tools["echo"] = new GuardToolOptions();
        o.Servers["demo"].Tools["write"] = new GuardToolOptions { Access = ToolAccess.RequireApproval };
    }

    private static async Task<CallToolResult> CallThroughDi(ServiceProvider provider, InProcessServer server, string tool)
    {
        McpGuardEngine engine = provider.GetRequiredService<McpGuardEngine>();
        await using McpClient client = await engine.ConnectAsync(engine.WrapTransport(server.CreateClientTransport(), "demo"));
        return await client.CallToolAsync(tool, new Dictionary<string, object?> { ["text"] = "hi" });
    }

    [Fact]
    public async Task AddPolicyDelegate_DeniesCallOnRealServerWithItsRuleId()
    {
        await using InProcessServer server = EchoServer();
        var evidence = new EvidenceCollector();
        var services = new ServiceCollection();
        services.AddMcpGuard(Register)
            .AddPolicy((ctx, _) => new(ctx.ToolName == "echo" ? GuardDecision.Deny("no echo today", "policy.no-echo") : GuardDecision.Allow))
            .AddEvidenceSink(evidence.WriteAsync);
        await using ServiceProvider provider = services.BuildServiceProvider();

        CallToolResult result = await CallThroughDi(provider, server, "echo");

        Assert.True(result.IsError);
        Assert.Contains(evidence.Events, e => e.Kind == GuardEvidenceKind.ToolCallDecision && e.RuleId == "policy.no-echo");
    }

    [Fact]
    public async Task AddApprovalHandlerDelegate_ApprovesCallOnRealServer()
    {
        await using InProcessServer server = EchoServer();
        var services = new ServiceCollection();
        services.AddMcpGuard(Register).AddApprovalHandler((request, _) => new(request.Approve("di-approver")));
        await using ServiceProvider provider = services.BuildServiceProvider();

        CallToolResult result = await CallThroughDi(provider, server, "write");

        Assert.NotEqual(true, result.IsError);
        Assert.Contains("wrote:hi", ((TextContentBlock)result.Content[0]).Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddApprovalHandler_SecondRegistration_ReplacesFirst()
    {
        await using InProcessServer server = EchoServer();
        var evidence = new EvidenceCollector();
        var services = new ServiceCollection();
        services.AddMcpGuard(Register)
            .AddApprovalHandler((request, _) => new(request.Approve("first")))
            .AddApprovalHandler<RejectAll>()
            .AddEvidenceSink(evidence.WriteAsync);
        await using ServiceProvider provider = services.BuildServiceProvider();

        CallToolResult result = await CallThroughDi(provider, server, "write");

        Assert.True(result.IsError);
        Assert.Contains(evidence.Events, e => e.RuleId == "approval.rejected" && e.Approval?.ApproverId == "typed");
    }

    [Fact]
    public async Task AddEvidenceSinkOfType_ReceivesEventsFromEngine()
    {
        await using InProcessServer server = EchoServer();
        var services = new ServiceCollection();
        services.AddMcpGuard(Register).AddEvidenceSink<TypedSink>();
        await using ServiceProvider provider = services.BuildServiceProvider();

        await CallThroughDi(provider, server, "echo");

        TypedSink sink = provider.GetServices<IGuardEvidenceSink>().OfType<TypedSink>().Single();
        lock (sink.Events)
        {
            Assert.Contains(sink.Events, e => e.Kind == GuardEvidenceKind.ToolCallDecision && e.ToolName == "echo" && e.Decision == GuardDecisionKind.Allow);
        }
    }
}
