using McpGuard.Tests.Infrastructure;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace McpGuard.Tests.Transport;

/// <summary>The runtime kill switch end to end over the SDK's real in-process server.</summary>
public sealed class KillSwitchEndToEndTests : IAsyncLifetime
{
    private const string Registration = "demo";
    private int _runs;
    private InProcessServer _server = null!;
    private GuardedConnection _c = null!;

    private GuardKillSwitch KillSwitch => _c.Engine.KillSwitch;

    public async Task InitializeAsync()
    {
        _server = InProcessServer.Start("demo-server", "1.0.0",
            McpServerTool.Create(() => "ran:" + Interlocked.Increment(ref _runs), new() { Name = "echo" }),
            McpServerTool.Create(() => "other", new() { Name = "other" }));
        var options = new McpGuardOptions();
        options.Servers[Registration] = new GuardServerOptions();
        options.Servers[Registration].Tools["echo"] = new GuardToolOptions();
        options.Servers[Registration].Tools["other"] = new GuardToolOptions();
        _c = await GuardedConnection.ConnectAsync(_server.CreateClientTransport(), options, Registration);
    }

    public async Task DisposeAsync()
    {
        await _c.DisposeAsync();
        await _server.DisposeAsync();
    }

    private ValueTask<CallToolResult> CallEchoAsync() => _c.Client.CallToolAsync("echo", cancellationToken: _c.Token);

    private GuardEvidence LastDecision(string tool) =>
        _c.Evidence.OfKind(GuardEvidenceKind.ToolCallDecision).Last(e => e.ToolName == tool);

    [Fact]
    public async Task CallToolAsync_ToolDisabledAfterSuccessfulCall_DeniedToolDisabled()
    {
        Assert.NotEqual(true, (await CallEchoAsync()).IsError);

        KillSwitch.DisableTool(Registration, "echo", "incident 42");
        CallToolResult denied = await CallEchoAsync();

        Assert.True(denied.IsError);
        Assert.Equal("tool.disabled", LastDecision("echo").RuleId);
        Assert.Equal(1, Volatile.Read(ref _runs));
    }

    [Fact]
    public async Task ListToolsAsync_ToolDisabled_ToolDisappearsFromList()
    {
        Assert.Contains(await _c.Client.ListToolsAsync(cancellationToken: _c.Token), t => t.Name == "echo");

        KillSwitch.DisableTool(Registration, "echo", "incident 42");
        IList<McpClientTool> tools = await _c.Client.ListToolsAsync(cancellationToken: _c.Token);

        Assert.Equal(["other"], tools.Select(t => t.Name).ToArray());
    }

    [Fact]
    public async Task CallToolAsync_ToolReEnabled_WorksAgain()
    {
        KillSwitch.DisableTool(Registration, "echo", "incident 42");
        Assert.True((await CallEchoAsync()).IsError);

        KillSwitch.EnableTool(Registration, "echo");
        CallToolResult result = await CallEchoAsync();

        Assert.NotEqual(true, result.IsError);
        Assert.Equal("ran:1", Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text);
    }

    [Fact]
    public async Task CallToolAsync_ServerDisabledAfterSuccessfulCall_DeniedServerDisabled()
    {
        Assert.NotEqual(true, (await CallEchoAsync()).IsError);

        KillSwitch.DisableServer(Registration, "incident 43");
        CallToolResult denied = await CallEchoAsync();

        Assert.True(denied.IsError);
        Assert.Equal("server.disabled", LastDecision("echo").RuleId);
        Assert.Equal(1, Volatile.Read(ref _runs));
    }

    [Fact]
    public async Task ListToolsAsync_ServerDisabled_ThrowsPolicyDeniedWithEvidence()
    {
        KillSwitch.DisableServer(Registration, "incident 43");

        McpProtocolException ex = await Assert.ThrowsAsync<McpProtocolException>(() => _c.Client.ListToolsAsync(cancellationToken: _c.Token).AsTask());

        Assert.Equal((McpErrorCode)McpGuardErrorCodes.PolicyDenied, ex.ErrorCode);
        Assert.Contains(_c.Evidence.Events, e => e.Kind == GuardEvidenceKind.RequestDenied && e.RuleId == "server.disabled" && e.Method == "tools/list");
    }

    [Fact]
    public async Task CallToolAsync_ServerReEnabled_WorksAgain()
    {
        KillSwitch.DisableServer(Registration, "incident 43");
        Assert.True((await CallEchoAsync()).IsError);

        KillSwitch.EnableServer(Registration);
        CallToolResult result = await CallEchoAsync();

        Assert.NotEqual(true, result.IsError);
        Assert.Equal(1, Volatile.Read(ref _runs));
    }

    [Fact]
    public async Task KillSwitch_DisableAndEnable_RecordsKillSwitchChangedEvidence()
    {
        KillSwitch.DisableTool(Registration, "echo", "incident 42");
        KillSwitch.EnableTool(Registration, "echo");
        KillSwitch.DisableServer(Registration, "incident 43");
        KillSwitch.EnableServer(Registration);

        GuardEvidence toolOff = await _c.Evidence.WaitForAsync(e => e.Kind == GuardEvidenceKind.KillSwitchChanged && e.ToolName == "echo" && e.Decision == GuardDecisionKind.Deny);
        GuardEvidence toolOn = await _c.Evidence.WaitForAsync(e => e.Kind == GuardEvidenceKind.KillSwitchChanged && e.ToolName == "echo" && e.Decision == GuardDecisionKind.Allow);
        GuardEvidence serverOff = await _c.Evidence.WaitForAsync(e => e.Kind == GuardEvidenceKind.KillSwitchChanged && e.ToolName == null && e.Decision == GuardDecisionKind.Deny);
        GuardEvidence serverOn = await _c.Evidence.WaitForAsync(e => e.Kind == GuardEvidenceKind.KillSwitchChanged && e.ToolName == null && e.Decision == GuardDecisionKind.Allow);
        Assert.Equal(("tool.disabled", "incident 42"), (toolOff.RuleId, toolOff.Reason));
        Assert.Equal("tool.disabled", toolOn.RuleId);
        Assert.Equal(("server.disabled", "incident 43"), (serverOff.RuleId, serverOff.Reason));
        Assert.Equal(Registration, serverOn.ServerName);
    }
}
