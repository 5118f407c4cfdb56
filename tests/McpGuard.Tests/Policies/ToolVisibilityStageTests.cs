using McpGuard.Policies;
using McpGuard.Tests.Infrastructure;

namespace McpGuard.Tests.Policies;

public sealed class ToolVisibilityStageTests
{
    private static GuardDecision Evaluate(McpGuardOptions options, string toolName, GuardPrincipal? principal = null, GuardToolDescriptor? tool = null)
    {
        GuardSessionInfo session = TestCalls.Session(options, principal: principal).WithCatalog(tool ?? TestCalls.Tool(toolName));
        return new ToolVisibilityStage(options).EvaluateCallAsync(TestCalls.Call(session, toolName, "{}"), CancellationToken.None).Result;
    }

    [Fact]
    public void EvaluateCallAsync_UnconfiguredToolByDefault_DeniesHidden()
    {
        Assert.Equal("tool.hidden", Evaluate(TestCalls.Options(), "anything").RuleId);
    }

    [Fact]
    public void EvaluateCallAsync_GlobalDefaultAllow_Allows()
    {
        McpGuardOptions options = TestCalls.Options();
        options.DefaultToolAccess = ToolAccess.Allow;

        Assert.Same(GuardDecision.Allow, Evaluate(options, "anything"));
    }

    [Fact]
    public void EvaluateCallAsync_ServerDefaultOverridesGlobal_Allows()
    {
        McpGuardOptions options = TestCalls.Options(s => s.DefaultToolAccess = ToolAccess.Allow);

        Assert.Same(GuardDecision.Allow, Evaluate(options, "anything"));
    }

    [Fact]
    public void EvaluateCallAsync_ServerDefaultHiddenOverridesGlobalAllow_DeniesHidden()
    {
        McpGuardOptions options = TestCalls.Options(s => s.DefaultToolAccess = ToolAccess.Hidden);
        options.DefaultToolAccess = ToolAccess.Allow;

        Assert.Equal("tool.hidden", Evaluate(options, "anything").RuleId);
    }

    [Fact]
    public void EvaluateCallAsync_ServerDefaultRequireApproval_RequiresApproval()
    {
        McpGuardOptions options = TestCalls.Options(s => s.DefaultToolAccess = ToolAccess.RequireApproval);

        GuardDecision d = Evaluate(options, "anything");

        Assert.Equal((GuardDecisionKind.RequireApproval, "tool.requires-approval"), (d.Kind, d.RuleId));
    }

    [Fact]
    public void EvaluateCallAsync_ConfiguredTool_AllowsByDefault()
    {
        McpGuardOptions options = TestCalls.Options(s => s.Tools["read"] = new GuardToolOptions());

        Assert.Same(GuardDecision.Allow, Evaluate(options, "read"));
    }

    [Fact]
    public void EvaluateCallAsync_ToolConfiguredHiddenUnderAllowDefault_DeniesHidden()
    {
        McpGuardOptions options = TestCalls.Options(s =>
        {
            s.DefaultToolAccess = ToolAccess.Allow;
            s.Tools["delete"] = new GuardToolOptions { Access = ToolAccess.Hidden };
        });

        Assert.Equal("tool.hidden", Evaluate(options, "delete").RuleId);
    }

    [Fact]
    public void EvaluateCallAsync_ToolRequiresApproval_RequiresApproval()
    {
        McpGuardOptions options = TestCalls.Options(s => s.Tools["write"] = new GuardToolOptions { Access = ToolAccess.RequireApproval });

        Assert.Equal(GuardDecisionKind.RequireApproval, Evaluate(options, "write").Kind);
    }

    [Fact]
    public void EvaluateCallAsync_ToolNameDiffersInCase_IsNotTheConfiguredTool()
    {
        McpGuardOptions options = TestCalls.Options(s => s.Tools["read"] = new GuardToolOptions());

        Assert.Equal("tool.hidden", Evaluate(options, "READ").RuleId);
    }

    [Fact]
    public void EvaluateCallAsync_AgentOnToolAllowlist_Allows()
    {
        McpGuardOptions options = TestCalls.Options(s => s.Tools["read"] = new GuardToolOptions { AllowedAgents = { "file-agent" } });

        Assert.Same(GuardDecision.Allow, Evaluate(options, "read", new GuardPrincipal("file-agent", "u1")));
    }

    [Fact]
    public void EvaluateCallAsync_AgentNotOnToolAllowlist_DeniesAgentNotAllowed()
    {
        McpGuardOptions options = TestCalls.Options(s => s.Tools["read"] = new GuardToolOptions { AllowedAgents = { "file-agent" } });

        Assert.Equal("tool.agent-not-allowed", Evaluate(options, "read", new GuardPrincipal("mail-agent", "u1")).RuleId);
    }

    [Fact]
    public void EvaluateCallAsync_AnonymousWithToolAllowlist_DeniesAgentNotAllowed()
    {
        McpGuardOptions options = TestCalls.Options(s => s.Tools["read"] = new GuardToolOptions { AllowedAgents = { "file-agent" } });

        Assert.Equal("tool.agent-not-allowed", Evaluate(options, "read").RuleId);
    }

    [Fact]
    public async Task EvaluateCallAsync_ToolNotInCatalog_DeniesUnknown()
    {
        McpGuardOptions options = TestCalls.Options(s => s.Tools["ghost"] = new GuardToolOptions());
        GuardSessionInfo session = TestCalls.Session(options);

        GuardDecision d = await new ToolVisibilityStage(options).EvaluateCallAsync(TestCalls.Call(session, "ghost", "{}", advertised: false), default);

        Assert.Equal("tool.unknown", d.RuleId);
    }

    [Fact]
    public void EvaluateCallAsync_ToolDefinitionTooLarge_DeniesTooLargeEvenWhenAllowed()
    {
        McpGuardOptions options = TestCalls.Options(s => s.Tools["big"] = new GuardToolOptions());
        options.MaxToolDefinitionBytes = 1024;

        GuardDecision d = Evaluate(options, "big", tool: TestCalls.Tool("big", new string('x', 2000)));

        Assert.Equal("catalog.tool-too-large", d.RuleId);
    }

    [Fact]
    public void EvaluateCallAsync_ToolDefinitionUnderLimit_Allows()
    {
        McpGuardOptions options = TestCalls.Options(s => s.Tools["small"] = new GuardToolOptions());
        options.MaxToolDefinitionBytes = 1024;

        Assert.Same(GuardDecision.Allow, Evaluate(options, "small", tool: TestCalls.Tool("small", new string('x', 500))));
    }

    [Fact]
    public void Evaluate_UnregisteredSession_DeniesHidden()
    {
        McpGuardOptions options = TestCalls.Options(s => s.DefaultToolAccess = ToolAccess.Allow);
        options.DefaultToolAccess = ToolAccess.Allow;
        GuardSessionInfo session = TestCalls.Session(options, serverName: "not-registered");

        Assert.Equal("tool.hidden", new ToolVisibilityStage(options).Evaluate(session, TestCalls.Tool("t")).RuleId);
    }
}
