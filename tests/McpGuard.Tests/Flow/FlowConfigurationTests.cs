using System.Text;
using McpGuard.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpGuard.Tests.Flow;

/// <summary>The flow policy from a JSON policy file, from IConfiguration binding and DI, validation, and the flow scope across servers.</summary>
public sealed class FlowConfigurationTests
{
    private const string Policy = """
        {
          // comments and trailing commas are allowed in policy files
          "Enabled": true,
          "Scope": "Session",
          "Servers": {
            "bank": {
              "DefaultLabels": ["private-data"],
              "Tools": {
                "read_file": { "Labels": ["untrusted-source"] },
                "send_money": { "SinkKind": "money_transfer", "Destinations": ["$.recipient"], "UntrustedDestinationAction": "Deny", "LocalWithoutDestinations": true },
                "update_password": { "Labels": ["destructive"], "TrustedArguments": ["$.password"], "UntrustedArgumentAction": "Deny" },
                "create_event": { "CopiedTextPaths": ["$.title"] },
              }
            }
          },
          "LethalTrifecta": { "Action": "Deny", "ExemptTrustedDestinations": true },
          "UntrustedBeforeHighImpact": { "Enabled": false },
          "ArgumentProvenance": { "Scope": "DestinationsOnly", "ValueKinds": "Iban, Email", "CopiedTextWords": 3 },
          "Sequences": [ { "Name": "read-then-pay", "Steps": ["tool:bank/read_file", "sink:money_transfer"], "Window": 5, "Action": "Deny" } ],
          "Limits": { "MaxTrackedValues": 128, "MaxHistory": 32 }
        }
        """;

    private static void AssertPolicyApplied(FlowOptions flow)
    {
        Assert.True(flow.Enabled);
        Assert.Equal(TaintScope.Session, flow.Scope);
        Assert.Equal(["private-data"], flow.Servers["bank"].DefaultLabels);
        Assert.Equal(["untrusted-source"], flow.Servers["bank"].Tools["read_file"].Labels);
        FlowToolOptions send = flow.Servers["bank"].Tools["send_money"];
        Assert.Equal(("money_transfer", "$.recipient", FlowAction.Deny, true), (send.SinkKind, send.Destinations.Single(), send.UntrustedDestinationAction, send.LocalWithoutDestinations));
        Assert.Equal(("$.password", FlowAction.Deny), (flow.Servers["bank"].Tools["update_password"].TrustedArguments.Single(), flow.Servers["bank"].Tools["update_password"].UntrustedArgumentAction));
        Assert.Equal("$.title", flow.Servers["bank"].Tools["create_event"].CopiedTextPaths.Single());
        Assert.Equal((FlowAction.Deny, true), (flow.LethalTrifecta.Action, flow.LethalTrifecta.ExemptTrustedDestinations));
        Assert.False(flow.UntrustedBeforeHighImpact.Enabled);
        Assert.Equal((FlowArgumentScope.DestinationsOnly, FlowValueKinds.Iban | FlowValueKinds.Email, 3), (flow.ArgumentProvenance.Scope, flow.ArgumentProvenance.ValueKinds, flow.ArgumentProvenance.CopiedTextWords));
        FlowSequenceRule rule = Assert.Single(flow.Sequences);
        Assert.Equal(("read-then-pay", 5, FlowAction.Deny), (rule.Name, rule.Window, rule.Action));
        Assert.Equal(["tool:bank/read_file", "sink:money_transfer"], rule.Steps);
        Assert.Equal((128, 32), (flow.Limits.MaxTrackedValues, flow.Limits.MaxHistory));
    }

    [Fact]
    public void LoadPolicyJson_FullDocument_EverySettingApplied()
    {
        var options = new FlowOptions();

        options.LoadPolicyJson(Policy);

        AssertPolicyApplied(options);
    }

    [Theory]
    [InlineData("{\"Flow\": {POLICY}}")]
    [InlineData("{\"McpGuard\": {\"Flow\": {POLICY}}}")]
    public void LoadPolicyJson_WrappedDocument_SameResult(string wrapper)
    {
        var options = new FlowOptions();

        options.LoadPolicyJson(wrapper.Replace("{POLICY}", Policy, StringComparison.Ordinal));

        AssertPolicyApplied(options);
    }

    [Theory]
    [InlineData("{\"Servers\": {\"bank\": {\"Tools\": {\"x\": {\"Lables\": []}}}}}", "$.Servers.bank.Tools.x.Lables")]
    [InlineData("{\"LethalTrifecta\": {\"Action\": \"Maybe\"}}", "$.LethalTrifecta.Action")]
    [InlineData("{\"Sequences\": [{\"Window\": \"ten\"}]}", "$.Sequences[0].Window")]
    [InlineData("{\"Enabled\": 1}", "$.Enabled")]
    [InlineData("{\"Enabled\": true", "not valid JSON")]
    public void LoadPolicyJson_BadDocument_ThrowsNamingThePath(string json, string expected)
    {
        FlowPolicyFormatException ex = Assert.Throws<FlowPolicyFormatException>(() => new FlowOptions().LoadPolicyJson(json));

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void LoadPolicyJson_ValueKindsAsArray_Combined()
    {
        var options = new FlowOptions();

        options.LoadPolicyJson("{\"ArgumentProvenance\": {\"ValueKinds\": [\"Url\", \"Token\"]}}");

        Assert.Equal(FlowValueKinds.Url | FlowValueKinds.Token, options.ArgumentProvenance.ValueKinds);
    }

    [Fact]
    public void LoadPolicyFile_File_Applied()
    {
        string path = Path.Combine(Path.GetTempPath(), "mcpguard-flow-" + Guid.NewGuid().ToString("N") + ".json");
        File.WriteAllText(path, Policy);
        try
        {
            var options = new FlowOptions();

            options.LoadPolicyFile(path);

            AssertPolicyApplied(options);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void BindConfiguration_SameDocumentUnderMcpGuardFlow_SameOptions()
    {
        string json = "{\"McpGuard\": {\"Flow\": " + Policy.Replace("// comments and trailing commas are allowed in policy files", string.Empty, StringComparison.Ordinal).Replace("},\n              }", "}\n              }", StringComparison.Ordinal) + "}}";
        IConfiguration configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json))).Build();
        var services = new ServiceCollection();
        services.AddMcpGuard().BindConfiguration(configuration.GetSection(McpGuardOptions.SectionName));
        using ServiceProvider provider = services.BuildServiceProvider();

        McpGuardOptions options = provider.GetRequiredService<IOptions<McpGuardOptions>>().Value;

        AssertPolicyApplied(options.Flow);
    }

    [Theory]
    [InlineData("Bad Label", "McpGuard:Flow:Servers:s:Tools:t:Labels")]
    [InlineData("", "McpGuard:Flow:Servers:s:Tools:t:Labels")]
    public void Validate_InvalidLabel_FailsNamingTheSetting(string label, string expected)
    {
        var options = new McpGuardOptions();
        options.Flow.Enabled = true;
        options.Flow.LabelTool("s", "t", label);

        OptionsValidationException ex = Assert.Throws<OptionsValidationException>(() => new McpGuardEngineBuilder(options).Build());

        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_SequenceWithOneStepAndBadPath_BothReported()
    {
        var options = new McpGuardOptions();
        options.Flow.Sequences.Add(new FlowSequenceRule { Name = "short", Steps = { "sink" } });
        options.Flow.Tool("s", "t").Destinations.Add("recipient");

        OptionsValidationException ex = Assert.Throws<OptionsValidationException>(() => new McpGuardEngineBuilder(options).Build());

        Assert.Contains("McpGuard:Flow:Sequences:0:Steps has 1 steps", ex.Message, StringComparison.Ordinal);
        Assert.Contains("McpGuard:Flow:Servers:s:Tools:t:Destinations", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AddMcpGuard_BoundFlowPolicy_UntrustedThenSinkDeniedWithoutHandler()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["McpGuard:DefaultToolAccess"] = "Allow",
            ["McpGuard:Servers:web:ExpectedName"] = "web-server",
            ["McpGuard:Flow:Enabled"] = "true",
            ["McpGuard:Flow:Servers:web:Tools:fetch:Labels:0"] = "untrusted-source",
            ["McpGuard:Flow:Servers:web:Tools:post:SinkKind"] = "web_post",
        }).Build();
        var services = new ServiceCollection();
        services.AddMcpGuard().BindConfiguration(configuration.GetSection(McpGuardOptions.SectionName));
        await using ServiceProvider provider = services.BuildServiceProvider();
        McpGuardEngine engine = provider.GetRequiredService<McpGuardEngine>();
        int posts = 0;
        await using InProcessServer server = InProcessServer.Start("web-server", "1.0",
            McpServerTool.Create(() => "a page", new McpServerToolCreateOptions { Name = "fetch" }),
            McpServerTool.Create(() => "posted:" + Interlocked.Increment(ref posts), new McpServerToolCreateOptions { Name = "post" }));
        GuardedClientTransport transport = engine.WrapTransport(server.CreateClientTransport(), "web");
        await using McpClient client = await engine.ConnectAsync(transport);

        CallToolResult before = await client.CallToolAsync("post");
        await client.CallToolAsync("fetch");
        CallToolResult after = await client.CallToolAsync("post");

        Assert.False(before.IsError ?? false);
        Assert.True(after.IsError);
        Assert.Equal(1, posts);
        Assert.True(transport.Session!.Flow.HasLabel(FlowLabels.UntrustedSource));
    }

    [Theory]
    [InlineData(TaintScope.Principal, true)]
    [InlineData(TaintScope.Session, false)]
    public async Task Scope_ReadOnOneServerSendOnAnother_ChainSpansServersOnlyWithPrincipalScope(TaintScope scope, bool expectBlocked)
    {
        var options = new McpGuardOptions { DefaultToolAccess = ToolAccess.Allow };
        options.Servers["docs"] = new GuardServerOptions();
        options.Servers["chat"] = new GuardServerOptions();
        options.Flow.Enabled = true;
        options.Flow.Scope = scope;
        options.Flow.LabelTool("docs", "search", FlowLabels.UntrustedSource);
        options.Flow.LabelTool("chat", "post", FlowLabels.Sink);
        await using McpGuardEngine engine = new McpGuardEngineBuilder(options).Build();
        await using InProcessServer docs = InProcessServer.Start("docs", "1.0", McpServerTool.Create(() => "doc text", new McpServerToolCreateOptions { Name = "search" }));
        await using InProcessServer chat = InProcessServer.Start("chat", "1.0", McpServerTool.Create(() => "ok", new McpServerToolCreateOptions { Name = "post" }));
        var principal = new GuardPrincipal("agent", "alice");
        await using McpClient docsClient = await engine.ConnectAsync(engine.WrapTransport(docs.CreateClientTransport(), "docs", principal));
        GuardedClientTransport chatTransport = engine.WrapTransport(chat.CreateClientTransport(), "chat", principal);
        await using McpClient chatClient = await engine.ConnectAsync(chatTransport);

        await docsClient.CallToolAsync("search");
        CallToolResult posted = await chatClient.CallToolAsync("post");

        Assert.Equal(expectBlocked, posted.IsError ?? false);
    }
}
