using McpGuard.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpGuard.Tests.Transport;

public sealed class GuardedTransportSmokeTests
{
    [Fact]
    public async Task CallToolAsync_AllowedAndHiddenTools_EnforcedOverRealInProcessServer()
    {
        await using var server = InProcessServer.Start("demo-server", "1.0.0",
            McpServerTool.Create((string text) => "echo:" + text, new() { Name = "echo", Description = "Echoes text." }),
            McpServerTool.Create(() => "secret!", new() { Name = "secret", Description = "Hidden tool." }));

        var options = new McpGuardOptions();
        options.Servers["demo"] = new GuardServerOptions { ExpectedName = "demo-server" };
        options.Servers["demo"].Tools["echo"] = new GuardToolOptions { Access = ToolAccess.Allow };
        var evidence = new EvidenceCollector();
        await using McpGuardEngine engine = new McpGuardEngineBuilder(options).AddEvidenceSink(evidence).Build();

        await using McpClient client = await engine.ConnectAsync(engine.WrapTransport(server.CreateClientTransport(), "demo"));
        IList<McpClientTool> tools = await client.ListToolsAsync();
        Assert.Equal(["echo"], tools.Select(t => t.Name).ToArray());

        CallToolResult ok = await client.CallToolAsync("echo", new Dictionary<string, object?> { ["text"] = "hi" });
        Assert.NotEqual(true, ok.IsError);
        Assert.Contains("echo:hi", ((TextContentBlock)ok.Content[0]).Text);

        CallToolResult blocked = await client.CallToolAsync("secret");
        Assert.True(blocked.IsError);
        Assert.DoesNotContain("secret!", ((TextContentBlock)blocked.Content[0]).Text);
        Assert.Contains(evidence.Events, e => e.Kind == GuardEvidenceKind.ToolCallDecision && e.ToolName == "secret" && e.RuleId == "tool.hidden");
    }
}
