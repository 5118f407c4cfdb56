using McpGuard.Tests.Infrastructure;

namespace McpGuard.Tests.Policies;

public sealed class GuardKillSwitchTests
{
    private readonly List<(string Server, string? Tool, bool Enabled, string? Reason)> _changes = [];

    private GuardKillSwitch Create(Action<GuardServerOptions>? configure = null) =>
        new(TestCalls.Options(configure).Servers, (server, tool, enabled, reason) => _changes.Add((server, tool, enabled, reason)));

    [Fact]
    public void IsServerDisabled_EnabledRegistration_False()
    {
        Assert.False(Create().IsServerDisabled(TestCalls.ServerName));
    }

    [Fact]
    public void IsServerDisabled_DisabledInConfiguration_True()
    {
        Assert.True(Create(s => s.Enabled = false).IsServerDisabled(TestCalls.ServerName));
    }

    [Fact]
    public void DisableServer_TakesEffectAtOnceAndReportsChange()
    {
        GuardKillSwitch killSwitch = Create();

        killSwitch.DisableServer(TestCalls.ServerName, "incident");

        Assert.True(killSwitch.IsServerDisabled(TestCalls.ServerName));
        Assert.Equal([(TestCalls.ServerName, null, false, "incident")], _changes);
    }

    [Fact]
    public void DisableServer_AlsoDisablesEveryTool()
    {
        GuardKillSwitch killSwitch = Create();

        killSwitch.DisableServer(TestCalls.ServerName, "incident");

        Assert.True(killSwitch.IsToolDisabled(TestCalls.ServerName, "any-tool"));
    }

    [Fact]
    public void EnableServer_AfterDisable_ReEnablesAndReportsChange()
    {
        GuardKillSwitch killSwitch = Create();
        killSwitch.DisableServer(TestCalls.ServerName, "incident");

        killSwitch.EnableServer(TestCalls.ServerName);

        Assert.False(killSwitch.IsServerDisabled(TestCalls.ServerName));
        Assert.Equal((TestCalls.ServerName, (string?)null, true, (string?)null), _changes[^1]);
    }

    [Fact]
    public void EnableServer_DisabledInConfiguration_ReEnables()
    {
        GuardKillSwitch killSwitch = Create(s => s.Enabled = false);

        killSwitch.EnableServer(TestCalls.ServerName);

        Assert.False(killSwitch.IsServerDisabled(TestCalls.ServerName));
    }

    [Fact]
    public void EnableServer_NotDisabled_ReportsNoChange()
    {
        GuardKillSwitch killSwitch = Create();

        killSwitch.EnableServer(TestCalls.ServerName);

        Assert.Empty(_changes);
    }

    [Fact]
    public void DisableTool_DisablesOnlyThatToolOfThatServer()
    {
        GuardKillSwitch killSwitch = Create();

        killSwitch.DisableTool(TestCalls.ServerName, "write", "bug");

        Assert.True(killSwitch.IsToolDisabled(TestCalls.ServerName, "write"));
        Assert.False(killSwitch.IsToolDisabled(TestCalls.ServerName, "read"));
        Assert.False(killSwitch.IsToolDisabled("other-server", "write"));
        Assert.False(killSwitch.IsServerDisabled(TestCalls.ServerName));
    }

    [Fact]
    public void EnableTool_AfterDisable_ReEnablesAndReportsChange()
    {
        GuardKillSwitch killSwitch = Create();
        killSwitch.DisableTool(TestCalls.ServerName, "write", "bug");

        killSwitch.EnableTool(TestCalls.ServerName, "write");

        Assert.False(killSwitch.IsToolDisabled(TestCalls.ServerName, "write"));
        Assert.Equal([(TestCalls.ServerName, "write", false, "bug"), (TestCalls.ServerName, "write", true, null)], _changes);
    }

    [Fact]
    public void EnableServer_DoesNotReEnableIndividuallyDisabledTool()
    {
        GuardKillSwitch killSwitch = Create();
        killSwitch.DisableTool(TestCalls.ServerName, "write", "bug");
        killSwitch.DisableServer(TestCalls.ServerName, "incident");

        killSwitch.EnableServer(TestCalls.ServerName);

        Assert.True(killSwitch.IsToolDisabled(TestCalls.ServerName, "write"));
    }

    [Theory]
    [InlineData("", "reason")]
    [InlineData("srv", "")]
    public void DisableServer_EmptyArgument_Throws(string server, string reason)
    {
        Assert.Throws<ArgumentException>(() => Create().DisableServer(server, reason));
    }

    [Fact]
    public void DisableTool_EmptyToolName_Throws()
    {
        Assert.Throws<ArgumentException>(() => Create().DisableTool(TestCalls.ServerName, "", "reason"));
    }

    [Fact]
    public void DisableServer_UnregisteredName_IsStillRemembered()
    {
        GuardKillSwitch killSwitch = Create();

        killSwitch.DisableServer("registered-later", "pre-emptive");

        Assert.True(killSwitch.IsServerDisabled("registered-later"));
    }

    [Fact]
    public async Task EngineKillSwitch_DisableTool_WritesKillSwitchEvidence()
    {
        var evidence = new EvidenceCollector();
        await using McpGuardEngine engine = new McpGuardEngineBuilder(TestCalls.Options()).AddEvidenceSink(evidence).Build();

        engine.KillSwitch.DisableTool(TestCalls.ServerName, "write", "bug");

        GuardEvidence e = await evidence.WaitForAsync(x => x.Kind == GuardEvidenceKind.KillSwitchChanged);
        Assert.Equal((TestCalls.ServerName, "write", GuardDecisionKind.Deny, "tool.disabled", "bug"), (e.ServerName, e.ToolName, e.Decision, e.RuleId, e.Reason));
    }
}
