using McpGuard.Policies;
using McpGuard.Tests.Infrastructure;

namespace McpGuard.Tests.Policies;

public sealed class InventoryStageTests
{
    private static GuardKillSwitch KillSwitch(McpGuardOptions options) => new(options.Servers, (_, _, _, _) => { });

    private static GuardDecision Evaluate(McpGuardOptions options, GuardKillSwitch killSwitch, string server = TestCalls.ServerName, string tool = "tool", GuardPrincipal? principal = null) =>
        new InventoryStage(killSwitch).EvaluateCallAsync(TestCalls.Call(TestCalls.Session(options, server, principal), tool, "{}"), CancellationToken.None).Result;

    [Fact]
    public void EvaluateCallAsync_RegisteredEnabledServer_Allows()
    {
        McpGuardOptions options = TestCalls.Options();

        Assert.Same(GuardDecision.Allow, Evaluate(options, KillSwitch(options)));
    }

    [Fact]
    public void EvaluateCallAsync_UnregisteredServer_DeniesUnregistered()
    {
        McpGuardOptions options = TestCalls.Options();

        Assert.Equal("server.unregistered", Evaluate(options, KillSwitch(options), server: "stranger").RuleId);
    }

    [Fact]
    public void EvaluateCallAsync_ServerDisabledInConfiguration_DeniesDisabled()
    {
        McpGuardOptions options = TestCalls.Options(s => s.Enabled = false);

        Assert.Equal("server.disabled", Evaluate(options, KillSwitch(options)).RuleId);
    }

    [Fact]
    public void EvaluateCallAsync_ServerDisabledByKillSwitch_DeniesDisabledWithReason()
    {
        McpGuardOptions options = TestCalls.Options();
        GuardKillSwitch killSwitch = KillSwitch(options);
        killSwitch.DisableServer(TestCalls.ServerName, "incident 42");

        GuardDecision d = Evaluate(options, killSwitch);

        Assert.Equal("server.disabled", d.RuleId);
        Assert.Contains("incident 42", d.Reason);
    }

    [Fact]
    public void EvaluateCallAsync_ToolDisabledByKillSwitch_DeniesToolDisabled()
    {
        McpGuardOptions options = TestCalls.Options();
        GuardKillSwitch killSwitch = KillSwitch(options);
        killSwitch.DisableTool(TestCalls.ServerName, "tool", "leaks data");

        Assert.Equal("tool.disabled", Evaluate(options, killSwitch).RuleId);
    }

    [Fact]
    public void EvaluateCallAsync_OtherToolDisabled_Allows()
    {
        McpGuardOptions options = TestCalls.Options();
        GuardKillSwitch killSwitch = KillSwitch(options);
        killSwitch.DisableTool(TestCalls.ServerName, "other", "leaks data");

        Assert.Same(GuardDecision.Allow, Evaluate(options, killSwitch));
    }

    [Fact]
    public void EvaluateCallAsync_AgentOnServerAllowlist_Allows()
    {
        McpGuardOptions options = TestCalls.Options(s => s.AllowedAgents.Add("file-agent"));

        Assert.Same(GuardDecision.Allow, Evaluate(options, KillSwitch(options), principal: new GuardPrincipal("file-agent", null)));
    }

    [Fact]
    public void EvaluateCallAsync_AgentNotOnServerAllowlist_DeniesAgentNotAllowed()
    {
        McpGuardOptions options = TestCalls.Options(s => s.AllowedAgents.Add("file-agent"));

        Assert.Equal("server.agent-not-allowed", Evaluate(options, KillSwitch(options), principal: new GuardPrincipal("other", null)).RuleId);
    }

    [Fact]
    public void EvaluateCallAsync_AnonymousWithServerAllowlist_DeniesAgentNotAllowed()
    {
        McpGuardOptions options = TestCalls.Options(s => s.AllowedAgents.Add("file-agent"));

        Assert.Equal("server.agent-not-allowed", Evaluate(options, KillSwitch(options)).RuleId);
    }
}
